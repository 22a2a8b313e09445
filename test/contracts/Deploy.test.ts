// deployOzk (runtime/deploy.ts): the one deploy library of the CLI, demo and tests; its output passes the sdk's schema.
import { expect } from "chai";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { custom, type Address } from "viem";
import { connectDeployer, defaultWindows, deployOzk, registerModelSpec, saveDeployment, type Deployer } from "../../runtime/deploy.ts";
import { tinyFixtureModel } from "../../scripts/fixtures/tiny-model.ts";
import { parseDeployment } from "../../sdk/deployments.ts";
import { ethers } from "./helpers.ts";

/** The deploy library sending as one of the Hardhat network's unlocked accounts. */
const as = (signer: { address: string }): Promise<Deployer> =>
  connectDeployer(custom({ request: ({ method, params }) => ethers.provider.send(method, params ?? []) }), signer.address as Address);

describe("deployOzk", () => {
  it("deploys token, registry, claims and the fixture model; the JSON parses with sdk/deployments", async () => {
    const [deployer, treasury, user] = await ethers.getSigners();
    const d = await deployOzk(await as(deployer!), {
      network: "test",
      treasury: treasury!.address as Address,
      protocolFeeBps: 250,
      slashRewardBps: 4000,
      models: [tinyFixtureModel()],
      mint: [{ to: user!.address as Address, amount: 123n }],
    });
    const manager = await ethers.getContractAt("ClaimManager", d.addresses.claims);
    expect(await manager.registry()).to.equal(d.addresses.registry);
    expect(await manager.token()).to.equal(d.addresses.token);
    expect(await manager.treasury()).to.equal(treasury!.address);
    expect(await manager.protocolFeeBps()).to.equal(250n);
    expect(await manager.slashRewardBps()).to.equal(4000n);
    // The ClaimManager fulfils requests from this deployment's batches.
    expect(await manager.batchManager()).to.equal(d.addresses.batchManager);
    const batches = await ethers.getContractAt("BatchManager", d.addresses.batchManager!);
    expect([await batches.registry(), await batches.token(), await batches.treasury()]).to.deep.equal([d.addresses.registry, d.addresses.token, treasury!.address]);
    expect([await batches.protocolFeeBps(), await batches.slashRewardBps()]).to.deep.equal([250n, 4000n]);
    expect([await batches.defaultAuditRateBps(), await batches.defaultAuditFee()]).to.deep.equal([100n, 0n]);
    const token = await ethers.getContractAt("MockERC20", d.addresses.token);
    expect(await token.balanceOf(user!.address)).to.equal(123n);
    const registry = await ethers.getContractAt("ModelRegistry", d.addresses.registry);
    const model = await registry.getModel(d.models["tiny-fixture"]!);
    expect(model.verifier).to.equal(d.addresses["verifier:tiny-fixture"]);
    expect(model.owner).to.equal(deployer!.address);
    // Registration proved the entry's shape with the fixture's proof and pinned the verifier's code hash.
    expect(model.verifierCodeHash).to.equal(ethers.keccak256(await ethers.provider.getCode(d.addresses["verifier:tiny-fixture"]!)));
    expect(model.setupKind).to.equal(0n);
    // Short windows on the local chain only.
    expect([model.challengeWindow, model.proofWindow]).to.deep.equal([3600n, 7200n]);
    expect(d.deployBlock).to.be.greaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), "ozk-deploy-"));
    const path = saveDeployment({ ...d, network: "testnet" }, join(dir, "testnet.json"));
    const parsed = parseDeployment(JSON.parse(readFileSync(path, "utf8")));
    expect(parsed.addresses.claims).to.equal(d.addresses.claims);
    expect(parsed.addresses.batchManager).to.equal(d.addresses.batchManager);
    expect(parsed.models["tiny-fixture"]).to.equal(d.models["tiny-fixture"]);
    expect(parsed.chainId).to.equal(31337);
  });

  it("refuses a slash reward above 50% and a model whose example proof the verifier rejects", async () => {
    const [deployer] = await ethers.getSigners();
    const failsWith = (p: Promise<unknown>, error: RegExp) =>
      p.then(() => expect.fail("expected a revert"), (e: Error) => expect(e.message).to.match(error));
    await failsWith(deployOzk(await as(deployer!), { network: "test", slashRewardBps: 5001 }), /InvalidProtocolConfig/);
    const spec = tinyFixtureModel();
    const tampered = { ...spec, example: { ...spec.example, outputs: spec.example.outputs.map((v, i) => (i === 0 ? v + 1n : v)) } };
    await failsWith(deployOzk(await as(deployer!), { network: "test", models: [tampered] }), /InvalidExampleProof/);
  });

  it("registering a package twice from one account is refused by name before a second verifier is deployed", async () => {
    const [deployer] = await ethers.getSigners();
    const d = await deployOzk(await as(deployer!), { network: "test", models: [tinyFixtureModel()] });
    const nonce = await deployer!.getNonce();
    const again = await registerModelSpec(await as(deployer!), d.addresses.registry, tinyFixtureModel()).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(again?.message).to.match(/tiny-fixture is already registered by 0x[0-9a-fA-F]{40} as model 0x[0-9a-f]{64}/);
    expect(await deployer!.getNonce()).to.equal(nonce); // nothing sent: no orphan verifier
  });

  it("a registry revert is named: a wrong example proof reads InvalidExampleProof, not raw revert data", async () => {
    const [, other] = await ethers.getSigners();
    const d = await deployOzk(await as(other!), { network: "test" });
    const spec = tinyFixtureModel();
    const tampered = { ...spec, example: { ...spec.example, outputs: spec.example.outputs.map((v, i) => (i === 0 ? v + 1n : v)) } };
    const err = await registerModelSpec(await as(other!), d.addresses.registry, tampered).then(() => undefined, (e: Error) => e);
    expect(err?.message).to.match(/the registry reverted with InvalidExampleProof\(0x[0-9a-fA-F]{40}\)/);
  });

  it("default windows: 7 days to challenge and 1 day to prove on public networks, 1 h / 2 h on a local chain", () => {
    expect(defaultWindows(1n)).to.deep.equal({ challengeWindow: 7 * 86_400, proofWindow: 86_400 });
    expect(defaultWindows(11_155_111n)).to.deep.equal({ challengeWindow: 7 * 86_400, proofWindow: 86_400 });
    expect(defaultWindows(31_337n)).to.deep.equal({ challengeWindow: 3600, proofWindow: 7200 });
    // Never under UMA's 2-hour minimum liveness on a public network.
    expect(defaultWindows(10n).challengeWindow).to.be.greaterThanOrEqual(2 * 3600);
  });

  it("uses an existing token and registers no model when asked", async () => {
    const [deployer] = await ethers.getSigners();
    const existing = await ethers.deployContract("MockERC20");
    const d = await deployOzk(await as(deployer!), { network: "test", token: (await existing.getAddress()) as Address });
    expect(d.addresses.token).to.equal(await existing.getAddress());
    expect(d.models).to.deep.equal({});
    const manager = await ethers.getContractAt("ClaimManager", d.addresses.claims);
    expect(await manager.treasury()).to.equal(deployer!.address);
  });
});

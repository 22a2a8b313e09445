// The commit-reveal hashes the SDK computes locally (hashAnswer, hashCounterProof) against the contract's own
// pure functions, setup kind names, and the check of a registry entry against a model package (the verifier code
// hash the package implies is the code hash of the deployed verifier).
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, createWalletClient, custom, zeroAddress, keccak256, toHex, type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient } from "viem";
import { hardhat } from "viem/chains";
import { claimManagerAbi } from "../../sdk/abi.ts";
import { outputHash } from "../../sdk/signals.ts";
import {
  SETUP_KIND_NAMES,
  SetupKind,
  hashAnswer,
  hashCounterProof,
  randomSalt,
  setupKindName,
  setupKindOf,
  type SolidityProof,
} from "../../sdk/protocol.ts";
import { entryMismatches, expectedEntry, type ExpectedEntry } from "../../runtime/models.ts";
import { loadPackage } from "../../circuits/compiler/package.ts";
import { loadArtifact } from "../../runtime/artifacts.ts";

describe("sdk: commitments, setup kinds, registry entry check", function () {
  this.timeout(120_000);
  let publicClient: PublicClient<Transport, Chain | undefined>;
  let walletClient: WalletClient<Transport, Chain | undefined, Account>;
  let claims: Address;

  const deploy = async (name: string, args: unknown[] = []): Promise<Address> => {
    const { abi, bytecode } = loadArtifact(name) as { abi: readonly unknown[]; bytecode: Hex };
    const hash = await walletClient.deployContract({ abi: abi as never, bytecode, args: args as never, chain: null });
    return (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
  };

  before(async () => {
    const conn = await network.create();
    const provider = conn.provider as { request(a: { method: string }): Promise<unknown> };
    const account = ((await provider.request({ method: "eth_accounts" })) as Address[])[0]!;
    publicClient = createPublicClient({ chain: hardhat, transport: custom(conn.provider) });
    walletClient = createWalletClient({ chain: hardhat, account, transport: custom(conn.provider) });
    const token = await deploy("MockERC20");
    const registry = await deploy("ModelRegistry");
    claims = await deploy("ClaimManager", [token, registry, account, 500, 5000, zeroAddress]);
  });

  it("hashAnswer is the contract's hashAnswer", async () => {
    for (const [requestId, outputs, bond] of [
      [1n, [7n, -3n, 0n], 100n * 10n ** 18n],
      [2n ** 200n, [-(2n ** 100n)], 0n],
      [42n, [], 1n],
    ] as const) {
      const salt = randomSalt();
      const oh = outputHash(outputs);
      const onChain = await publicClient.readContract({ address: claims, abi: claimManagerAbi, functionName: "hashAnswer", args: [requestId, oh, bond, salt] });
      expect(hashAnswer(requestId, oh, bond, salt)).to.equal(onChain);
    }
  });

  it("hashCounterProof is the contract's hashCounterProof", async () => {
    const claimId = keccak256(toHex("a claim"));
    const proof = Array.from({ length: 8 }, (_, i) => BigInt(keccak256(toHex(i))) % 2n ** 254n) as unknown as SolidityProof;
    for (const outputs of [[1n, 2n, 3n], [-(2n ** 23n), 2n ** 23n - 1n], []]) {
      const onChain = await publicClient.readContract({ address: claims, abi: claimManagerAbi, functionName: "hashCounterProof", args: [claimId, outputs, proof] });
      expect(hashCounterProof(claimId, outputs, proof)).to.equal(onChain);
    }
  });

  it("salts are 32 random bytes; a malformed salt is refused by name", () => {
    const a = randomSalt();
    expect(a).to.match(/^0x[0-9a-f]{64}$/);
    expect(randomSalt()).to.not.equal(a);
    expect(() => hashAnswer(1n, outputHash([1n]), 1n, "0x1234")).to.throw(/salt must be 32 bytes/);
  });

  it("setup kinds: enum values and manifest names map both ways; unknown ones are named", () => {
    expect(SETUP_KIND_NAMES.map(setupKindOf)).to.deep.equal([SetupKind.UnsafeDev, SetupKind.SingleContributor, SetupKind.Ceremony]);
    expect([0, 1, 2].map(setupKindName)).to.deep.equal(["unsafe-dev", "single-contributor", "ceremony"]);
    expect(() => setupKindOf("trusted")).to.throw(/unknown setup kind "trusted"/);
    expect(() => setupKindName(3)).to.throw(/unknown setup kind 3/);
  });

  it("a package's expected verifier code hash is the code hash of its deployed verifier", async () => {
    const pkg = loadPackage("models/mnist-mlp");
    const expected = expectedEntry(pkg);
    const verifier = await deploy(pkg.manifest.verifierContract!);
    const code = await publicClient.getCode({ address: verifier });
    expect(expected.verifierCodeHash).to.equal(keccak256(code!));
    expect(expected.weightsCommitment).to.equal(BigInt(pkg.manifest.weightsCommitment));
    const setup = (pkg.manifest as unknown as { setup?: { kind?: string } }).setup;
    expect(expected.setupKind).to.equal(setup?.kind ?? "unsafe-dev");
  });

  it("entryMismatches names each field that differs, with both values", () => {
    const expected: ExpectedEntry = { artifactHash: keccak256(toHex("manifest")), verifierCodeHash: keccak256(toHex("verifier")), weightsCommitment: 5n, outputLength: 10, outputBits: 24, setupKind: "ceremony" };
    const entry = { artifactHash: expected.artifactHash, verifierCodeHash: expected.verifierCodeHash, weightsCommitment: 5n, outputLength: 10, outputBits: 24, setupKind: SetupKind.Ceremony };
    expect(entryMismatches(expected, entry)).to.deep.equal([]);
    const other = keccak256(toHex("proxy"));
    expect(entryMismatches(expected, { ...entry, verifierCodeHash: other, outputBits: 16, setupKind: SetupKind.UnsafeDev })).to.deep.equal([
      { field: "verifierCodeHash", expected: expected.verifierCodeHash, onChain: other },
      { field: "outputBits", expected: "24", onChain: "16" },
      { field: "setupKind", expected: "ceremony", onChain: "unsafe-dev" },
    ]);
  });
});

// ModelRegistry: registration, immutability, deprecation, and every rejected parameter.
import { expect } from "chai";
import { keccak256, AbiCoder } from "ethers";
import { FIELD_P } from "../../sdk/hash.ts";
import {
  deployFixture, ethers, mockExample, modelParams, MIN_CHALLENGER_BOND, PROOF_WINDOW, ZERO_PROOF, loadFixture,
} from "./helpers.ts";

const load = () => loadFixture(deployFixture);

describe("ModelRegistry", () => {
  it("modelId is keccak256(abi.encode(owner, artifactHash)); the entry reads back whole", async () => {
    const f = await load();
    const artifactHash = keccak256("0x02");
    const expected = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [f.other.address, artifactHash]));
    const params = modelParams(await f.verifier.getAddress(), { artifactHash, metadataURI: "ipfs://m2", setupKind: 1 });
    const codeHash = keccak256(await ethers.provider.getCode(params.verifier));
    await expect(f.registry.connect(f.other).registerModel(params, mockExample()))
      .to.emit(f.registry, "ModelRegistered")
      .withArgs(expected, f.other.address, params.verifier, codeHash, [
        params.verifier, params.weightsCommitment, artifactHash, params.inputLength, params.outputLength, params.outputBits,
        params.challengeWindow, params.proofWindow, params.minProviderBond, params.minChallengerBond, 1, "ipfs://m2",
      ]);
    expect(await f.registry.computeModelId(f.other.address, artifactHash)).to.equal(expected);
    const m = await f.registry.getModel(expected);
    expect(m.owner).to.equal(f.other.address);
    expect(m.verifier).to.equal(params.verifier);
    expect(m.weightsCommitment).to.equal(params.weightsCommitment);
    expect(m.outputBits).to.equal(params.outputBits);
    expect(m.deprecated).to.equal(false);
    expect(m.metadataURI).to.equal("ipfs://m2");
    expect(m.verifierCodeHash).to.equal(codeHash);
    expect(m.setupKind).to.equal(1n);
    expect(await f.registry.proofParams(expected)).to.deep.equal([params.verifier, codeHash, 10n, 24n, params.weightsCommitment]);
    expect(await f.registry.exists(expected)).to.equal(true);
    expect(await f.registry.exists(keccak256("0x03"))).to.equal(false);
    expect(await f.registry.disputeParams(expected)).to.deep.equal([PROOF_WINDOW, MIN_CHALLENGER_BOND]);
  });

  it("the same owner cannot register an artifact twice; another owner can", async () => {
    const f = await load();
    const params = modelParams(await f.verifier.getAddress());
    await expect(f.registry.connect(f.modelOwner).registerModel(params, mockExample()))
      .to.be.revertedWithCustomError(f.registry, "ModelAlreadyRegistered").withArgs(f.modelId);
    await expect(f.registry.connect(f.other).registerModel(params, mockExample())).to.emit(f.registry, "ModelRegistered");
  });

  it("only the owner deprecates, once", async () => {
    const f = await load();
    await expect(f.registry.connect(f.other).deprecateModel(f.modelId))
      .to.be.revertedWithCustomError(f.registry, "NotModelOwner").withArgs(f.modelId, f.other.address);
    await expect(f.registry.connect(f.modelOwner).deprecateModel(f.modelId)).to.emit(f.registry, "ModelDeprecated").withArgs(f.modelId);
    expect((await f.registry.getModel(f.modelId)).deprecated).to.equal(true);
    await expect(f.registry.connect(f.modelOwner).deprecateModel(f.modelId))
      .to.be.revertedWithCustomError(f.registry, "ModelAlreadyDeprecated").withArgs(f.modelId);
  });

  it("claims made before deprecation still settle", async () => {
    const f = await load();
    const { submit, ZERO_PROOF } = await import("./helpers.ts");
    const s = await submit(f);
    await f.registry.connect(f.modelOwner).deprecateModel(f.modelId);
    await f.manager.connect(f.challenger).challenge(s.claim);
    await expect(f.manager.prove(s.claim, s.outputs, ZERO_PROOF)).to.emit(f.manager, "ClaimProven");
  });

  it("unknown ids revert with UnknownModel in every view", async () => {
    const f = await load();
    const id = keccak256("0x1234");
    for (const call of [f.registry.getModel, f.registry.claimParams, f.registry.disputeParams, f.registry.proofParams]) {
      await expect(call(id)).to.be.revertedWithCustomError(f.registry, "UnknownModel").withArgs(id);
    }
    await expect(f.registry.deprecateModel(id)).to.be.revertedWithCustomError(f.registry, "UnknownModel").withArgs(id);
  });

  it("rejects each bad parameter with its error", async () => {
    const f = await load();
    const v = await f.verifier.getAddress();
    const r = f.registry.connect(f.other);
    const cases: [Record<string, unknown>, string, unknown[]][] = [
      [{ verifier: f.other.address }, "VerifierHasNoCode", [f.other.address]],
      [{ inputLength: 0 }, "InvalidLength", [0, 10]],
      [{ outputLength: 0 }, "InvalidLength", [4, 0]],
      [{ inputLength: (1 << 24) + 1 }, "InvalidLength", [(1 << 24) + 1, 10]],
      [{ outputLength: 1025 }, "InvalidLength", [4, 1025]],
      [{ outputBits: 0 }, "InvalidOutputBits", [0]],
      [{ outputBits: 249 }, "InvalidOutputBits", [249]],
      [{ challengeWindow: 0 }, "InvalidWindow", [0, 7200]],
      [{ proofWindow: 0 }, "InvalidWindow", [3600, 0]],
      [{ challengeWindow: 365 * 86400 + 1 }, "InvalidWindow", [365 * 86400 + 1, 7200]],
      [{ proofWindow: 365 * 86400 + 1 }, "InvalidWindow", [3600, 365 * 86400 + 1]],
      [{ minProviderBond: 0 }, "InvalidBond", [0, 10n ** 19n]],
      [{ minChallengerBond: 0 }, "InvalidBond", [10n ** 20n, 0]],
      [{ weightsCommitment: FIELD_P }, "NotAFieldElement", [FIELD_P]],
      [{ artifactHash: ethers.ZeroHash }, "EmptyArtifactHash", []],
    ];
    for (const [override, error, args] of cases) {
      const params = modelParams(v, { artifactHash: keccak256("0x77"), ...override });
      await expect(r.registerModel(params, mockExample(Number(params.outputLength))))
        .to.be.revertedWithCustomError(f.registry, error).withArgs(...args);
    }
    // Boundaries that are fine: 1 and 248 output bits, maximal windows and lengths.
    expect(await f.registry.MAX_OUTPUT_LENGTH()).to.equal(1024n);
    await expect(r.registerModel(modelParams(v, { artifactHash: keccak256("0x78"), outputBits: 1, outputLength: 1024, inputLength: 1 << 24 }), mockExample(1024))).to.emit(f.registry, "ModelRegistered");
    await expect(r.registerModel(modelParams(v, { artifactHash: keccak256("0x79"), outputBits: 248, challengeWindow: 365 * 86400, proofWindow: 365 * 86400, weightsCommitment: FIELD_P - 1n }), mockExample())).to.emit(f.registry, "ModelRegistered");
  });

  it("refuses an example the verifier rejects, of the wrong length, out of range or with an input outside the field", async () => {
    const f = await load();
    const v = await f.verifier.getAddress();
    const r = f.registry.connect(f.other);
    const params = modelParams(v, { artifactHash: keccak256("0x80") });
    await r.registerModel.staticCall(params, mockExample()); // the baseline is accepted
    await expect(r.registerModel(params, mockExample(9))).to.be.revertedWithCustomError(f.registry, "InvalidExampleProof").withArgs(v);
    await expect(r.registerModel(params, mockExample(11))).to.be.revertedWithCustomError(f.registry, "InvalidExampleProof").withArgs(v);
    await expect(r.registerModel(params, { ...mockExample(), inputHash: FIELD_P })).to.be.revertedWithCustomError(f.registry, "InvalidExampleProof").withArgs(v);
    const outOfRange = mockExample();
    outOfRange.outputs[3] = 1n << 23n; // outputBits 24: [-2^23, 2^23)
    await expect(r.registerModel(params, outOfRange)).to.be.revertedWithCustomError(f.registry, "OutputOutOfRange").withArgs(3n, 1n << 23n, 24);
    await f.verifier.setAnswer(false);
    await expect(r.registerModel(params, mockExample())).to.be.revertedWithCustomError(f.registry, "InvalidExampleProof").withArgs(v);
    // The verifier is asked about exactly the claim layout [packed outputs, example inputHash, weightsCommitment].
    await f.verifier.setAnswer(true);
    const { publicSignals } = await import("../../sdk/signals.ts");
    await f.verifier.expectSignals(publicSignals(mockExample().outputs, 24, 5n, params.weightsCommitment));
    await expect(r.registerModel(params, mockExample())).to.be.revertedWithCustomError(f.registry, "InvalidExampleProof");
    await expect(r.registerModel(params, { ...mockExample(), inputHash: 5n, proof: ZERO_PROOF })).to.emit(f.registry, "ModelRegistered");
  });
});

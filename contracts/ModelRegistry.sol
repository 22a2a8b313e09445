// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {Groth16Verification} from "./libraries/Groth16Verification.sol";
import {OutputPacking} from "./libraries/OutputPacking.sol";
import {ExampleProof, Model, ModelParams} from "./types/Model.sol";

/// @title ModelRegistry
/// @notice Immutable model entries: verifier, weights commitment, artifact hash, shapes, windows and bonds.
contract ModelRegistry is IModelRegistry {
    /// @notice Longest challenge or proof window accepted (a year): keeps deadlines far from overflow.
    uint48 public constant MAX_WINDOW = 365 days;
    /// @notice Largest input length accepted (informational only: the input reaches proofs as one hash).
    uint32 public constant MAX_LENGTH = 1 << 24;
    /// @notice Largest output length accepted, chosen so that verifying any proof of the model fits in a block.
    /// @dev A snarkjs Groth16 verifier spends one ecMul (6,000 gas) and one ecAdd (150 gas) per public signal, on
    /// top of a fixed ~200k for the pairing check. In the worst case (outputBits above 124) every output takes a
    /// signal of its own, so 1024 outputs cost 1026 * 6,150 = ~6.3M gas of curve arithmetic, plus calldata
    /// (32 bytes per output, twice: the outputs and the signals) and memory: about 7M gas in all, well inside a
    /// 30M-gas block, so a challenged claim can always be proven and a false one counter-proven. Models with more
    /// outputs must commit to them (for example hash them inside the circuit) and claim the commitment.
    uint32 public constant MAX_OUTPUT_LENGTH = 1024;

    mapping(bytes32 modelId => Model) private _models;

    /// @inheritdoc IModelRegistry
    function registerModel(ModelParams calldata p, ExampleProof calldata example)
        external
        returns (bytes32 modelId)
    {
        if (p.verifier.code.length == 0) revert VerifierHasNoCode(p.verifier);
        if (
            p.inputLength == 0 || p.outputLength == 0 || p.inputLength > MAX_LENGTH
                || p.outputLength > MAX_OUTPUT_LENGTH
        ) {
            revert InvalidLength(p.inputLength, p.outputLength);
        }
        if (p.outputBits == 0 || p.outputBits > OutputPacking.LIMB_BITS) revert InvalidOutputBits(p.outputBits);
        if (
            p.challengeWindow == 0 || p.proofWindow == 0 || p.challengeWindow > MAX_WINDOW
                || p.proofWindow > MAX_WINDOW
        ) revert InvalidWindow(p.challengeWindow, p.proofWindow);
        if (p.minProviderBond == 0 || p.minChallengerBond == 0) {
            revert InvalidBond(p.minProviderBond, p.minChallengerBond);
        }
        if (p.weightsCommitment >= OutputPacking.FIELD_P) revert NotAFieldElement(p.weightsCommitment);
        if (p.artifactHash == bytes32(0)) revert EmptyArtifactHash();
        _checkExample(p, example);

        modelId = computeModelId(msg.sender, p.artifactHash);
        Model storage m = _models[modelId];
        if (m.verifier != address(0)) revert ModelAlreadyRegistered(modelId);

        m.verifier = p.verifier;
        m.outputLength = p.outputLength;
        m.outputBits = p.outputBits;
        m.challengeWindow = p.challengeWindow;
        m.owner = msg.sender;
        m.proofWindow = p.proofWindow;
        m.inputLength = p.inputLength;
        m.setupKind = p.setupKind;
        m.minProviderBond = p.minProviderBond;
        m.minChallengerBond = p.minChallengerBond;
        m.weightsCommitment = p.weightsCommitment;
        // INVARIANT: pinned here, compared by every proof: the code that accepted the example is the code that judges.
        m.verifierCodeHash = p.verifier.codehash;
        m.artifactHash = p.artifactHash;
        m.metadataURI = p.metadataURI;

        emit ModelRegistered(modelId, msg.sender, p.verifier, p.verifier.codehash, p);
    }

    /// @inheritdoc IModelRegistry
    function deprecateModel(bytes32 modelId) external {
        Model storage m = _existing(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
        if (m.deprecated) revert ModelAlreadyDeprecated(modelId);
        m.deprecated = true;
        emit ModelDeprecated(modelId);
    }

    /// @inheritdoc IModelRegistry
    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    /// @inheritdoc IModelRegistry
    function exists(bytes32 modelId) external view returns (bool) {
        return _models[modelId].verifier != address(0);
    }

    /// @inheritdoc IModelRegistry
    function computeModelId(address owner, bytes32 artifactHash) public pure returns (bytes32) {
        return keccak256(abi.encode(owner, artifactHash));
    }

    /// @inheritdoc IModelRegistry
    function claimParams(bytes32 modelId)
        external
        view
        returns (
            uint32 outputLength,
            uint8 outputBits,
            bool deprecated,
            uint48 challengeWindow,
            uint128 minProviderBond
        )
    {
        Model storage m = _existing(modelId);
        return (m.outputLength, m.outputBits, m.deprecated, m.challengeWindow, m.minProviderBond);
    }

    /// @inheritdoc IModelRegistry
    function disputeParams(bytes32 modelId) external view returns (uint48 proofWindow, uint128 minChallengerBond) {
        Model storage m = _existing(modelId);
        return (m.proofWindow, m.minChallengerBond);
    }

    /// @inheritdoc IModelRegistry
    function proofParams(bytes32 modelId)
        external
        view
        returns (
            address verifier,
            bytes32 verifierCodeHash,
            uint32 outputLength,
            uint8 outputBits,
            uint256 weightsCommitment
        )
    {
        Model storage m = _existing(modelId);
        return (m.verifier, m.verifierCodeHash, m.outputLength, m.outputBits, m.weightsCommitment);
    }

    /// @dev The verifier must accept `example` under the entry's shape, with public signals built exactly as
    /// ClaimManager builds them for a claim: so outputLength, outputBits and weightsCommitment agree with the circuit.
    function _checkExample(ModelParams calldata p, ExampleProof calldata example) private view {
        if (example.outputs.length != p.outputLength) revert InvalidExampleProof(p.verifier);
        if (example.inputHash >= OutputPacking.FIELD_P) revert InvalidExampleProof(p.verifier);
        // Reverts with OutputOutOfRange if an output does not fit outputBits.
        uint256[] memory signals =
            OutputPacking.publicSignals(example.outputs, p.outputBits, example.inputHash, p.weightsCommitment);
        if (!Groth16Verification.verify(p.verifier, example.proof, signals)) revert InvalidExampleProof(p.verifier);
    }

    function _existing(bytes32 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        // INVARIANT: every registered entry has a verifier with code, so a zero verifier means "never registered".
        if (m.verifier == address(0)) revert UnknownModel(modelId);
    }
}

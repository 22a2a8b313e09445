// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {OutputPacking} from "./libraries/OutputPacking.sol";
import {Model, ModelParams} from "./types/Model.sol";

/// @title ModelRegistry
/// @notice Immutable model entries: verifier, weights commitment, artifact hash, shapes, windows and bonds.
contract ModelRegistry is IModelRegistry {
    /// @notice Longest challenge or proof window accepted (a year): keeps deadlines far from overflow.
    uint48 public constant MAX_WINDOW = 365 days;
    /// @notice Largest input or output length accepted.
    uint32 public constant MAX_LENGTH = 1 << 24;

    mapping(bytes32 modelId => Model) private _models;

    /// @inheritdoc IModelRegistry
    function registerModel(ModelParams calldata p) external returns (bytes32 modelId) {
        if (p.verifier.code.length == 0) revert VerifierHasNoCode(p.verifier);
        if (p.inputLength == 0 || p.outputLength == 0 || p.inputLength > MAX_LENGTH || p.outputLength > MAX_LENGTH) {
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
        m.minProviderBond = p.minProviderBond;
        m.minChallengerBond = p.minChallengerBond;
        m.weightsCommitment = p.weightsCommitment;
        m.artifactHash = p.artifactHash;
        m.metadataURI = p.metadataURI;

        emit ModelRegistered(
            modelId,
            msg.sender,
            p.verifier,
            p.weightsCommitment,
            p.artifactHash,
            p.inputLength,
            p.outputLength,
            p.outputBits,
            p.challengeWindow,
            p.proofWindow,
            p.minProviderBond,
            p.minChallengerBond,
            p.metadataURI
        );
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
        returns (address verifier, uint32 outputLength, uint8 outputBits, uint256 weightsCommitment)
    {
        Model storage m = _existing(modelId);
        return (m.verifier, m.outputLength, m.outputBits, m.weightsCommitment);
    }

    function _existing(bytes32 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        // INVARIANT: every registered entry has a verifier with code, so a zero verifier means "never registered".
        if (m.verifier == address(0)) revert UnknownModel(modelId);
    }
}

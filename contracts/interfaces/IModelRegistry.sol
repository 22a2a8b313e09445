// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ExampleProof, Model, ModelParams} from "../types/Model.sol";

/// @title IModelRegistry
/// @notice Registry of provable models. Anyone may register; entries are immutable and their owner can only
/// deprecate them (no new claims; claims already made settle normally).
/// @dev modelId = keccak256(abi.encode(owner, artifactHash)): one entry per owner and model package.
/// Trust: the registry cannot tell a good circuit from a bad one; whoever relies on a model (provider, challenger,
/// consumer) checks the entry against a package they trust: verifierCodeHash, weightsCommitment, shapes and setup
/// kind. What the registry guarantees is that the entry never changes after that check: the verifier's code hash is
/// pinned (proofs revert if the code at the address changed) and registration itself proved that the verifier
/// accepts a proof built with the entry's shape.
interface IModelRegistry {
    /// @notice Emitted once per model with every field an indexer needs to rebuild the entry: the registered
    /// `params` (verifier, weights commitment, artifact hash, shapes, windows, bonds, setup kind, metadata URI) and the
    /// verifier code hash pinned at registration.
    /// @dev The fields travel as one `ModelParams` tuple: fifteen separate event arguments do not fit the EVM stack.
    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed owner,
        address indexed verifier,
        bytes32 verifierCodeHash,
        ModelParams params
    );

    /// @notice Emitted when the owner deprecates a model.
    event ModelDeprecated(bytes32 indexed modelId);

    /// @notice The same owner already registered this artifact hash.
    error ModelAlreadyRegistered(bytes32 modelId);
    /// @notice No model with this id.
    error UnknownModel(bytes32 modelId);
    /// @notice Only the model's owner may do this.
    error NotModelOwner(bytes32 modelId, address caller);
    /// @notice The model is already deprecated.
    error ModelAlreadyDeprecated(bytes32 modelId);
    /// @notice The verifier address holds no code.
    error VerifierHasNoCode(address verifier);
    /// @notice A length is zero or above the supported maximum (outputLength is bounded so that verifying a proof,
    /// one elliptic-curve multiplication per public signal, always fits well inside a block).
    error InvalidLength(uint32 inputLength, uint32 outputLength);
    /// @notice outputBits must lie in [1, 248].
    error InvalidOutputBits(uint8 outputBits);
    /// @notice A window is zero or above MAX_WINDOW.
    error InvalidWindow(uint48 challengeWindow, uint48 proofWindow);
    /// @notice Both minimum bonds must be non-zero.
    error InvalidBond(uint128 minProviderBond, uint128 minChallengerBond);
    /// @notice weightsCommitment is not a BN254 field element, so no proof could ever carry it.
    error NotAFieldElement(uint256 value);
    /// @notice artifactHash must be non-zero.
    error EmptyArtifactHash();
    /// @notice The verifier rejected the registration's example proof under the entry's shape: the entry's
    /// outputLength, outputBits or weightsCommitment disagree with the verifier (or the proof is wrong).
    error InvalidExampleProof(address verifier);

    /// @notice Registers a model owned by the caller. `example` must be a proof the verifier accepts for public
    /// signals built from the entry exactly as claims are proven; the verifier's code hash is pinned.
    /// @return modelId keccak256(abi.encode(msg.sender, params.artifactHash))
    function registerModel(ModelParams calldata params, ExampleProof calldata example)
        external
        returns (bytes32 modelId);

    /// @notice Stops new claims on `modelId`. Only the model's owner.
    function deprecateModel(bytes32 modelId) external;

    /// @notice The full entry. Reverts with UnknownModel for an unknown id.
    function getModel(bytes32 modelId) external view returns (Model memory);

    /// @notice Whether `modelId` is registered.
    function exists(bytes32 modelId) external view returns (bool);

    /// @notice The id `owner` gets for `artifactHash`.
    function computeModelId(address owner, bytes32 artifactHash) external pure returns (bytes32);

    /// @notice What a claim needs at submission, read in two storage slots.
    /// Reverts with UnknownModel for an unknown id.
    function claimParams(bytes32 modelId)
        external
        view
        returns (
            uint32 outputLength,
            uint8 outputBits,
            bool deprecated,
            uint48 challengeWindow,
            uint128 minProviderBond
        );

    /// @notice What a challenge or a slash needs. Reverts with UnknownModel for an unknown id.
    function disputeParams(bytes32 modelId) external view returns (uint48 proofWindow, uint128 minChallengerBond);

    /// @notice What a proof needs. Reverts with UnknownModel for an unknown id.
    function proofParams(bytes32 modelId)
        external
        view
        returns (
            address verifier,
            bytes32 verifierCodeHash,
            uint32 outputLength,
            uint8 outputBits,
            uint256 weightsCommitment
        );
}

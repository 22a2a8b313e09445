// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What a model owner registers. Entries are immutable once registered; only `deprecated` can change.
/// @dev Field order packs storage into slots read together: `claimParams` reads slots 0 and 2, proofs read 0, 1, 2, 3.
struct Model {
    // slot 0: everything submitClaim checks
    address verifier; // snarkjs-exported Groth16 verifier with verifyProof(uint[2],uint[2][2],uint[2],uint[N])
    uint32 outputLength; // number of int256 outputs in a claim
    uint8 outputBits; // signed width of each output; outputs are packed floor(248/outputBits) per public signal
    bool deprecated; // no new claims once set
    uint48 challengeWindow; // seconds a claim can be challenged after submission
    // slot 1
    address owner; // may deprecate the entry
    uint48 proofWindow; // seconds to prove once challenged
    uint32 inputLength; // number of quantized input values (informational: the input is committed by inputHash)
    // slot 2
    uint128 minProviderBond; // least bond a claim must lock
    uint128 minChallengerBond; // bond a challenger locks (exactly this amount)
    // slots 3..
    uint256 weightsCommitment; // last public signal of every proof (a BN254 field element)
    bytes32 artifactHash; // sha256 of the model package manifest
    string metadataURI;
}

/// @notice Arguments of `IModelRegistry.registerModel`.
struct ModelParams {
    address verifier;
    uint256 weightsCommitment;
    bytes32 artifactHash;
    uint32 inputLength;
    uint32 outputLength;
    uint8 outputBits;
    uint48 challengeWindow;
    uint48 proofWindow;
    uint128 minProviderBond;
    uint128 minChallengerBond;
    string metadataURI;
}

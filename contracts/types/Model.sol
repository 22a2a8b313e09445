// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice How the model's Groth16 key was made, as its registrant declares it (the registry cannot check it; a
/// daemon checks it against the package it runs). The least trusted kind is zero.
/// UnsafeDev: a development powers of tau or the native dev setup, whose toxic waste is known: proofs can be forged.
/// SingleContributor: a real powers of tau and one secret phase-2 contribution (sound if that contributor was honest).
/// Ceremony: a real powers of tau and a multi-party phase 2 (sound if any one contributor was honest).
enum SetupKind {
    UnsafeDev,
    SingleContributor,
    Ceremony
}

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
    SetupKind setupKind; // declared by the registrant (informational on chain; daemons compare it with their package)
    // slot 2
    uint128 minProviderBond; // least bond a claim must lock
    uint128 minChallengerBond; // bond a challenger locks (exactly this amount)
    // slots 3..
    uint256 weightsCommitment; // last public signal of every proof (a BN254 field element)
    bytes32 verifierCodeHash; // verifier.codehash at registration; proofs revert if the code at `verifier` changed
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
    SetupKind setupKind;
    string metadataURI;
}

/// @notice One valid proof the registrant gives with `registerModel`: the registry builds its public signals exactly
/// as `IClaimManager.prove` does and requires the verifier to accept them, so an entry whose shape (outputLength,
/// outputBits, weightsCommitment) disagrees with its verifier cannot be registered.
struct ExampleProof {
    uint256 inputHash; // Poseidon commitment of some quantized input (a BN254 field element)
    int256[] outputs; // the model's outputs on that input (outputLength values, each fitting outputBits)
    uint256[8] proof; // as snarkjs `exportSolidityCallData` prints it
}

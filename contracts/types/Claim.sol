// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Life of a claim. `None` means the id was never submitted.
/// Submitted -> Finalized | Challenged | Proven | Slashed; Challenged -> Proven | Slashed.
enum ClaimStatus {
    None,
    Submitted,
    Challenged,
    Proven,
    Finalized,
    Slashed
}

/// @notice The fields a claim commits to. Only `keccak256(abi.encode(claim))` (the claim id) and a packed
/// `ClaimState` are stored; the fields travel in the `ClaimSubmitted` event and are passed back as calldata.
struct Claim {
    bytes32 modelId;
    address provider;
    uint256 inputHash; // Poseidon commitment to the quantized input (BN254 field element)
    bytes32 outputHash; // keccak256(abi.encode(int256[] outputs))
    uint256 bond; // provider bond locked by this claim
    uint256 requestId; // the inference request it answers, 0 for none
}

/// @notice Life of an inference request. Open -> Claimed -> Fulfilled; Claimed -> Open (claim slashed);
/// Open -> Refunded (after expiry).
enum RequestStatus {
    None,
    Open,
    Claimed,
    Fulfilled,
    Refunded
}

/// @notice A consumer's paid request for one inference.
struct Request {
    // slot 0
    address consumer; // paid the fee; gets the refund and, if callbackGasLimit > 0, the callback
    uint64 expiry; // claims must be submitted before this time; an Open request refunds from then on
    RequestStatus status;
    uint24 callbackGasLimit; // gas forwarded to IOzkConsumer.onInferenceSettled, 0 for no callback
    // slot 1
    bytes32 modelId;
    // slot 2
    uint256 inputHash;
    // slot 3
    uint256 fee; // escrowed until the request is fulfilled (to the provider) or refunded (to the consumer)
    // slot 4
    bytes32 claimId; // the live or settling claim answering it
    // slot 5 (zero, and never written, for a request open to every provider with the model's minimum bond)
    // the only provider allowed to answer (by a claim, or from its finalized batches), or zero for anyone (by a claim)
    address provider;
    uint96 minBond; // least bond an answering claim must lock (on top of the model's minimum)
}

/// @notice What a consumer asks for in `IClaimManager.requestInference`.
struct RequestParams {
    bytes32 modelId;
    uint256 inputHash; // Poseidon commitment to the quantized input
    uint256 fee; // escrowed from the consumer, paid to the provider whose answer settles
    uint64 expiry; // answers must be submitted before this time; refundable from then on
    uint24 callbackGasLimit; // gas for IOzkConsumer.onInferenceSettled, 0 for no callback
    // the only provider allowed to answer (by a claim, or from its finalized batches), or zero for anyone (by a claim)
    address provider;
    uint96 minBond; // least bond an answering claim must lock, or zero for the model's minimum
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IOzkConsumer
/// @notice Implemented by contracts that request inferences and want to act on the answer when it settles.
/// @dev Called by the ClaimManager with the request's callbackGasLimit inside a call whose failure is ignored and
/// whose return data is never copied; settlement never depends on it. A consumer must check that msg.sender is the
/// ClaimManager it made the request on. Everything needed to act in one transaction is passed: the settled outputs
/// (already checked against the claim's outputHash), who answered and how much bond backed the answer.
interface IOzkConsumer {
    /// @param requestId the request being answered
    /// @param claimId the claim that settled it (Finalized or Proven), or the batchId of the Finalized batch whose
    /// leaf fulfilled it (ClaimManager.fulfillFromBatch)
    /// @param outputs the settled outputs (keccak256(abi.encode(outputs)) is the claim's or the leaf's outputHash)
    /// @param provider the provider whose claim (or batch) answered
    /// @param bond the provider bond that backed the answer (a batch's whole bond)
    function onInferenceSettled(
        uint256 requestId,
        bytes32 claimId,
        int256[] calldata outputs,
        address provider,
        uint256 bond
    ) external;
}

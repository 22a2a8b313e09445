// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IOzkConsumer
/// @notice Implemented by contracts that request inferences and want to hear when one settles.
/// @dev Called with the request's callbackGasLimit inside a call whose failure is ignored, and whose return data
/// is never copied. Settlement never depends on it. The outputs themselves are in the `ClaimSubmitted` event;
/// a consumer that needs them on chain stores `outputHash` and later accepts any `int256[]` whose
/// keccak256(abi.encode(outputs)) equals it.
interface IOzkConsumer {
    /// @param requestId the request being answered
    /// @param claimId the claim that settled it (Finalized or Proven)
    /// @param outputHash keccak256(abi.encode(int256[] outputs)) of the settled answer
    function onInferenceSettled(uint256 requestId, bytes32 claimId, bytes32 outputHash) external;
}

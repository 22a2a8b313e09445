// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClaimStatus} from "./Claim.sol";

/// @notice The one storage word of a claim: status (8 bits) | deadline (64 bits) | challenger (160 bits).
/// The deadline is the end of the challenge window while Submitted and the proof deadline while Challenged.
type ClaimState is uint256;

using ClaimStateLibrary for ClaimState global;

/// @notice Packing and unpacking of `ClaimState`.
library ClaimStateLibrary {
    uint256 private constant _DEADLINE_SHIFT = 8;
    uint256 private constant _CHALLENGER_SHIFT = 72;

    function pack(ClaimStatus status_, uint64 deadline_, address challenger_) internal pure returns (ClaimState) {
        return ClaimState.wrap(
            uint256(status_) | (uint256(deadline_) << _DEADLINE_SHIFT)
                | (uint256(uint160(challenger_)) << _CHALLENGER_SHIFT)
        );
    }

    function status(ClaimState self) internal pure returns (ClaimStatus) {
        return ClaimStatus(uint8(ClaimState.unwrap(self)));
    }

    function deadline(ClaimState self) internal pure returns (uint64) {
        return uint64(ClaimState.unwrap(self) >> _DEADLINE_SHIFT);
    }

    function challenger(ClaimState self) internal pure returns (address) {
        return address(uint160(ClaimState.unwrap(self) >> _CHALLENGER_SHIFT));
    }

    /// @dev Same deadline and challenger, new status.
    function withStatus(ClaimState self, ClaimStatus status_) internal pure returns (ClaimState) {
        return ClaimState.wrap((ClaimState.unwrap(self) & ~uint256(0xff)) | uint256(status_));
    }
}

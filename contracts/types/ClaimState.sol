// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ClaimStatus} from "./Claim.sol";

/// @notice The one storage word of a claim: status (8 bits) | deadline (40 bits) | challenger (160 bits) |
/// challengedBlock (48 bits). The deadline is the end of the challenge window while Submitted and the proof deadline
/// while Challenged: a timestamp plus at most a window (below 2^40 until the year 36812). challengedBlock is the block
/// of the challenge (zero if none): it tells a challenge older than a counter-proof's reveal from one in the reveal's
/// own block, which a timestamp cannot on chains with several blocks per second.
type ClaimState is uint256;

using ClaimStateLibrary for ClaimState global;

/// @notice Packing and unpacking of `ClaimState`.
library ClaimStateLibrary {
    uint256 private constant _DEADLINE_SHIFT = 8;
    uint256 private constant _CHALLENGER_SHIFT = 48;
    uint256 private constant _BLOCK_SHIFT = 208;

    function pack(ClaimStatus status_, uint64 deadline_, address challenger_, uint48 challengedBlock_)
        internal
        pure
        returns (ClaimState)
    {
        return ClaimState.wrap(
            uint256(status_) | (uint256(uint40(deadline_)) << _DEADLINE_SHIFT)
                | (uint256(uint160(challenger_)) << _CHALLENGER_SHIFT) | (uint256(challengedBlock_) << _BLOCK_SHIFT)
        );
    }

    function status(ClaimState self) internal pure returns (ClaimStatus) {
        return ClaimStatus(uint8(ClaimState.unwrap(self)));
    }

    function deadline(ClaimState self) internal pure returns (uint64) {
        return uint40(ClaimState.unwrap(self) >> _DEADLINE_SHIFT);
    }

    function challenger(ClaimState self) internal pure returns (address) {
        return address(uint160(ClaimState.unwrap(self) >> _CHALLENGER_SHIFT));
    }

    function challengedBlock(ClaimState self) internal pure returns (uint48) {
        return uint48(ClaimState.unwrap(self) >> _BLOCK_SHIFT);
    }

    /// @dev Same deadline, challenger and challenge block, new status.
    function withStatus(ClaimState self, ClaimStatus status_) internal pure returns (ClaimState) {
        return ClaimState.wrap((ClaimState.unwrap(self) & ~uint256(0xff)) | uint256(status_));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AuditStatus} from "./Batch.sol";

/// @notice The random forced audit of one claim, in one storage word beside its `ClaimState`: audit status (8 bits)
/// | submittedBlock (48) | rateBps (16) | fee (128) | deadline (40). The claim's audit policy is snapshotted at
/// submission (as a batch's is, in its struct), with the block whose successor's hash seeds the draw and the audit
/// deadline (end of the challenge window + the model's proof window: a challenge overwrites the claim state's
/// deadline, not this one). A claim submitted under a zero audit rate has no audit: nothing is written and the zero
/// word reads as Clear, so claims of unaudited models pay no extra storage.
type ClaimAudit is uint256;

using ClaimAuditLibrary for ClaimAudit global;

/// @notice Packing and unpacking of `ClaimAudit`.
library ClaimAuditLibrary {
    uint256 private constant _BLOCK_SHIFT = 8;
    uint256 private constant _RATE_SHIFT = 56;
    uint256 private constant _FEE_SHIFT = 72;
    uint256 private constant _DEADLINE_SHIFT = 200;

    function pack(AuditStatus status_, uint48 submittedBlock_, uint16 rateBps_, uint128 fee_, uint64 deadline_)
        internal
        pure
        returns (ClaimAudit)
    {
        return ClaimAudit.wrap(
            uint256(status_) | (uint256(submittedBlock_) << _BLOCK_SHIFT) | (uint256(rateBps_) << _RATE_SHIFT)
                | (uint256(fee_) << _FEE_SHIFT) | (uint256(uint40(deadline_)) << _DEADLINE_SHIFT)
        );
    }

    /// @dev Clear for the zero word (a claim without an audit).
    function status(ClaimAudit self) internal pure returns (AuditStatus) {
        uint256 word = ClaimAudit.unwrap(self);
        return word == 0 ? AuditStatus.Clear : AuditStatus(uint8(word));
    }

    function submittedBlock(ClaimAudit self) internal pure returns (uint48) {
        return uint48(ClaimAudit.unwrap(self) >> _BLOCK_SHIFT);
    }

    function rateBps(ClaimAudit self) internal pure returns (uint16) {
        return uint16(ClaimAudit.unwrap(self) >> _RATE_SHIFT);
    }

    function fee(ClaimAudit self) internal pure returns (uint128) {
        return uint128(ClaimAudit.unwrap(self) >> _FEE_SHIFT);
    }

    /// @dev The audit deadline: a selected claim must be proven before it.
    function deadline(ClaimAudit self) internal pure returns (uint64) {
        return uint40(ClaimAudit.unwrap(self) >> _DEADLINE_SHIFT);
    }

    /// @dev Same fields, new status.
    function withStatus(ClaimAudit self, AuditStatus status_) internal pure returns (ClaimAudit) {
        return ClaimAudit.wrap((ClaimAudit.unwrap(self) & ~uint256(0xff)) | uint256(status_));
    }
}

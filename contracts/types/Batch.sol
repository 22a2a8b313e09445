// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Life of a batch. `None` means the id was never submitted.
/// Submitted -> Finalized | Slashed.
enum BatchStatus {
    None,
    Submitted,
    Finalized,
    Slashed
}

/// @notice The random forced audit of a batch.
/// Undrawn -> Clear (not selected) | Selected (a position must be proven) -> Answered.
/// A batch whose audit rate is zero starts Clear: nothing can be selected, so nothing needs drawing.
enum AuditStatus {
    Undrawn,
    Clear,
    Selected,
    Answered
}

/// @notice Dispute state of one position of a batch.
/// None -> Challenged -> Proven | Released; None -> Proven (answered an audit).
/// Released: the challenger's bond went back (the batch was slashed, by this position or another).
enum LeafStatus {
    None,
    Challenged,
    Proven,
    Released
}

/// @notice Why a batch was slashed (in `IBatchManager.BatchSlashed`).
/// Unproven: a challenged position was not proven before its proof deadline.
/// CounterProven: a valid proof of other outputs for the leaf at a position.
/// AuditUnanswered: the audit selected a position that was not proven before the audit deadline.
/// AuditMissed: nobody drew the audit while its seed (the hash of the block after submission) was readable.
enum SlashReason {
    Unproven,
    CounterProven,
    AuditUnanswered,
    AuditMissed
}

/// @notice The fields a batch commits to. Only `keccak256(abi.encode(batch))` (the batch id) and a packed
/// `BatchState` are stored; the fields travel in the `BatchSubmitted` event and are passed back as calldata.
/// Leaf i = keccak256(bytes.concat(keccak256(abi.encode(modelId, inputHash, outputHash, uint256(i))))), under a
/// position-bound Merkle tree (see `IBatchManager`).
struct Batch {
    bytes32 modelId;
    address provider;
    bytes32 root; // Merkle root over `size` leaves, padded with bytes32(0) to 2^depth
    uint32 size; // number of claims, 1 ..= MAX_BATCH_SIZE
    uint256 bond; // one bond for the whole batch, at least the model's minProviderBond
    uint16 auditRateBps; // the model's audit rate when the batch was submitted (filled by the contract)
    uint128 auditFee; // the model's audit fee when the batch was submitted, paid from the audit pool
}

/// @notice The one storage word of a batch: status (8 bits) | challengeDeadline (64) | submittedBlock (64)
/// | openChallenges (32) | audit (8) | auditIndex (32).
type BatchState is uint256;

using BatchStateLibrary for BatchState global;

/// @notice Packing and unpacking of `BatchState`.
library BatchStateLibrary {
    uint256 private constant _DEADLINE_SHIFT = 8;
    uint256 private constant _BLOCK_SHIFT = 72;
    uint256 private constant _OPEN_SHIFT = 136;
    uint256 private constant _AUDIT_SHIFT = 168;
    uint256 private constant _INDEX_SHIFT = 176;

    function pack(
        BatchStatus status_,
        uint64 challengeDeadline_,
        uint64 submittedBlock_,
        uint32 openChallenges_,
        AuditStatus audit_,
        uint32 auditIndex_
    ) internal pure returns (BatchState) {
        return BatchState.wrap(
            uint256(status_) | (uint256(challengeDeadline_) << _DEADLINE_SHIFT)
                | (uint256(submittedBlock_) << _BLOCK_SHIFT) | (uint256(openChallenges_) << _OPEN_SHIFT)
                | (uint256(audit_) << _AUDIT_SHIFT) | (uint256(auditIndex_) << _INDEX_SHIFT)
        );
    }

    function status(BatchState self) internal pure returns (BatchStatus) {
        return BatchStatus(uint8(BatchState.unwrap(self)));
    }

    function challengeDeadline(BatchState self) internal pure returns (uint64) {
        return uint64(BatchState.unwrap(self) >> _DEADLINE_SHIFT);
    }

    function submittedBlock(BatchState self) internal pure returns (uint64) {
        return uint64(BatchState.unwrap(self) >> _BLOCK_SHIFT);
    }

    function openChallenges(BatchState self) internal pure returns (uint32) {
        return uint32(BatchState.unwrap(self) >> _OPEN_SHIFT);
    }

    function audit(BatchState self) internal pure returns (AuditStatus) {
        return AuditStatus(uint8(BatchState.unwrap(self) >> _AUDIT_SHIFT));
    }

    function auditIndex(BatchState self) internal pure returns (uint32) {
        return uint32(BatchState.unwrap(self) >> _INDEX_SHIFT);
    }

    /// @dev Same fields, new status.
    function withStatus(BatchState self, BatchStatus status_) internal pure returns (BatchState) {
        return BatchState.wrap((BatchState.unwrap(self) & ~uint256(0xff)) | uint256(status_));
    }

    /// @dev Same fields, new open-challenge count.
    function withOpenChallenges(BatchState self, uint32 open) internal pure returns (BatchState) {
        return BatchState.wrap(
            (BatchState.unwrap(self) & ~(uint256(type(uint32).max) << _OPEN_SHIFT)) | (uint256(open) << _OPEN_SHIFT)
        );
    }

    /// @dev Same fields, new audit status and index.
    function withAudit(BatchState self, AuditStatus audit_, uint32 index) internal pure returns (BatchState) {
        uint256 mask = (uint256(0xff) << _AUDIT_SHIFT) | (uint256(type(uint32).max) << _INDEX_SHIFT);
        return BatchState.wrap(
            (BatchState.unwrap(self) & ~mask) | (uint256(audit_) << _AUDIT_SHIFT) | (uint256(index) << _INDEX_SHIFT)
        );
    }
}

/// @notice The storage word of one challenged or proven position: status (8 bits) | proofDeadline (40)
/// | challenger (160) | challengedBlock (48). A proof deadline is a timestamp plus at most 365 days (below 2^40 until
/// the year 36812); the block of the challenge tells a challenge older than a counter-proof's reveal from one in the
/// reveal's own block, which a timestamp cannot on chains with several blocks per second.
type LeafState is uint256;

using LeafStateLibrary for LeafState global;

/// @notice Packing and unpacking of `LeafState`.
library LeafStateLibrary {
    uint256 private constant _DEADLINE_SHIFT = 8;
    uint256 private constant _CHALLENGER_SHIFT = 48;
    uint256 private constant _BLOCK_SHIFT = 208;

    function pack(LeafStatus status_, uint64 proofDeadline_, address challenger_, uint48 challengedBlock_)
        internal
        pure
        returns (LeafState)
    {
        return LeafState.wrap(
            uint256(status_) | (uint256(uint40(proofDeadline_)) << _DEADLINE_SHIFT)
                | (uint256(uint160(challenger_)) << _CHALLENGER_SHIFT) | (uint256(challengedBlock_) << _BLOCK_SHIFT)
        );
    }

    function status(LeafState self) internal pure returns (LeafStatus) {
        return LeafStatus(uint8(LeafState.unwrap(self)));
    }

    function proofDeadline(LeafState self) internal pure returns (uint64) {
        return uint40(LeafState.unwrap(self) >> _DEADLINE_SHIFT);
    }

    function challenger(LeafState self) internal pure returns (address) {
        return address(uint160(LeafState.unwrap(self) >> _CHALLENGER_SHIFT));
    }

    function challengedBlock(LeafState self) internal pure returns (uint48) {
        return uint48(LeafState.unwrap(self) >> _BLOCK_SHIFT);
    }

    /// @dev Same deadline, challenger and block, new status.
    function withStatus(LeafState self, LeafStatus status_) internal pure returns (LeafState) {
        return LeafState.wrap((LeafState.unwrap(self) & ~uint256(0xff)) | uint256(status_));
    }
}

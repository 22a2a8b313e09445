// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AuditStatus, Batch, BatchStatus, LeafStatus, SlashReason} from "../types/Batch.sol";
import {IModelRegistry} from "./IModelRegistry.sol";

/// @title IBatchManager
/// @notice Merkle-batched claims with random forced audits: a provider posts many claims of one model in one
/// transaction under one bond; anyone may challenge any position; and a random position of a random share of batches
/// must be proven even when nobody watches.
/// @dev Money rules as `IClaimManager`, with separate books in the same bond token. Tokens enter only through
/// `stake` and `fundAuditPool` and leave only through `unstake` and `withdraw`. Bonds stay bonds (a bond unlocked or
/// won goes to the winner's free stake); fees become credits (protocol fees, audit fees, audit slashes).
/// INVARIANT: token.balanceOf(this) == sum(freeStake) + bonds of Submitted batches + bonds of Challenged positions
///            + sum(credits) + auditPool.
///
/// Tree rule (position-bound). Leaf i = keccak256(bytes.concat(keccak256(abi.encode(modelId, inputHash,
/// outputHash, uint256(i))))) (OpenZeppelin's StandardMerkleTree leaf hashing: a leaf can never be an inner node).
/// depth = ceil(log2(size)) (size 1: root = the leaf); the leaves are padded with bytes32(0) to 2^depth; a node is
/// keccak256(left || right) in that order, never sorted; a path is the `depth` siblings from the leaf up, and bit k
/// of the index says whether the node at level k is a right child. Paths must have exactly `depth` siblings and the
/// index must be below `size`. With sorted pairs one tree can hold two leaves for one index; a cheater would answer
/// an audit or a challenge of position i with the honest leaf and hand a consumer the lie at the same index.
/// Position binding makes "the claim at position i" unique, which challenges and audits by position rely on.
///
/// Data availability. The leaves are not in calldata: they are published at the batch's dataURI and checked by
/// whoever reads them against the root. A challenge names a position, not a leaf, so it needs no data: a withheld
/// batch can still be challenged at every position, and only the provider's own leaf at that position, proven with
/// a Groth16 proof, answers it. Audits pick a random position with no watcher at all.
///
/// Audit randomness. seed = blockhash(submittedBlock + 1), fixed once that block exists (nobody chooses when it is
/// read); r = keccak256(abi.encode(seed, batchId)); selected iff r % 10000 < auditRateBps; index = (r >> 128) % size.
/// The seed is readable for 256 blocks; an audit not drawn by then counts as missed and the batch is slashed (a draw
/// from a later block would be a second chance for a cheater). The builder of block submittedBlock + 1 can choose
/// among hashes (docs/contracts.md says why that does not pay and what it costs).
interface IBatchManager {
    // ---------------------------------------------------------------- events

    event Staked(address indexed account, uint256 amount);
    event Unstaked(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `account` committed to a counter-proof it will reveal in a later block.
    event Committed(address indexed account, bytes32 indexed commitment);

    /// @notice A batch was made. `batch` is what later calls pass back (with the audit policy filled in); the leaves
    /// are published at `dataURI`.
    event BatchSubmitted(
        bytes32 indexed batchId,
        bytes32 indexed modelId,
        address indexed provider,
        Batch batch,
        uint64 challengeDeadline,
        string dataURI
    );
    /// @notice `challenger` locked `bond` on position `index`; the provider must prove the leaf there before
    /// `proofDeadline`.
    event LeafChallenged(
        bytes32 indexed batchId, uint256 indexed index, address indexed challenger, uint256 bond, uint64 proofDeadline
    );
    /// @notice The leaf at `index` was proven. `challengerBondWon` went to the provider's free stake and
    /// `protocolFee` to the treasury (both 0 if the proof answered only an audit).
    event LeafProven(
        bytes32 indexed batchId,
        uint256 indexed index,
        address indexed prover,
        uint256 challengerBondWon,
        uint256 protocolFee
    );
    /// @notice The audit's position was proven; `fee` (the batch's auditFee, capped by the pool) went to the
    /// provider's credits.
    event AuditAnswered(bytes32 indexed batchId, uint256 indexed index, uint256 fee);
    /// @notice The audit was drawn. If `selected`, the provider must prove position `index` before `deadline`.
    event AuditDrawn(bytes32 indexed batchId, bool selected, uint256 index, uint64 deadline);
    /// @notice The challenge window passed with no open challenge and a clear or answered audit; the bond is free.
    event BatchFinalized(bytes32 indexed batchId);
    /// @notice The whole batch bond was taken: `reward` (with its challenger bond back, if it had one) to
    /// `beneficiary`'s free stake, `toTreasury` to the treasury's credits. `index` is the position that did it
    /// (the audit's position for AuditUnanswered, 0 for AuditMissed).
    event BatchSlashed(
        bytes32 indexed batchId,
        address indexed beneficiary,
        uint256 reward,
        uint256 toTreasury,
        SlashReason reason,
        uint256 index
    );
    /// @notice The batch was slashed through another position: this position's challenger got its bond back.
    event ChallengerBondReclaimed(
        bytes32 indexed batchId, uint256 indexed index, address indexed challenger, uint256 bond
    );
    event AuditPoolFunded(address indexed funder, uint256 amount);
    event AuditPolicySet(bytes32 indexed modelId, uint16 rateBps, uint128 fee);

    // ---------------------------------------------------------------- errors

    error ZeroAmount();
    /// @notice The token moved a different amount than asked (fee-on-transfer or rebasing tokens are not supported).
    error TransferAmountMismatch(uint256 expected, uint256 received);
    error InsufficientStake(address account, uint256 available, uint256 required);
    error InsufficientCredit(address account, uint256 available, uint256 requested);
    error InvalidProtocolConfig();
    /// @notice Only the treasury may set audit policies.
    error NotTreasury(address caller);
    /// @notice An audit rate is above 10000 basis points.
    error InvalidAuditRate(uint16 rateBps);

    error ModelIsDeprecated(bytes32 modelId);
    error BondBelowMinimum(uint256 bond, uint256 minimum);
    /// @notice size must lie in [1, maximum].
    error InvalidBatchSize(uint32 size, uint32 maximum);
    /// @notice The root is zero (no tree of real leaves has it).
    error EmptyRoot();
    error BatchAlreadyExists(bytes32 batchId);
    /// @notice No batch with these fields (the Batch passed back does not hash to a submitted batch).
    error UnknownBatch(bytes32 batchId);
    /// @notice The action is not allowed in the batch's current status.
    error InvalidBatchStatus(bytes32 batchId, BatchStatus status);
    error ChallengeWindowClosed(bytes32 batchId, uint64 deadline);
    error ChallengeWindowOpen(bytes32 batchId, uint64 deadline);
    /// @notice index must be below the batch size (positions past it are padding, not claims).
    error IndexOutOfRange(uint256 index, uint32 size);
    /// @notice The action is not allowed in the position's current status.
    error InvalidLeafStatus(bytes32 batchId, uint256 index, LeafStatus status);
    error ProofWindowClosed(bytes32 batchId, uint256 index, uint64 deadline);
    error ProofWindowOpen(bytes32 batchId, uint256 index, uint64 deadline);
    /// @notice A Merkle path must have exactly ceil(log2(size)) siblings.
    error WrongPathLength(uint256 expected, uint256 actual);
    /// @notice The leaf and path do not lead to the batch root at this index.
    error InvalidMerklePath(bytes32 batchId, uint256 index);
    /// @notice proveLeaf: the position has no open challenge and is not the selected audit position (or both of
    /// their deadlines passed).
    error NothingToAnswer(bytes32 batchId, uint256 index);
    /// @notice finalizeBatch: positions are still challenged.
    error ChallengesOpen(bytes32 batchId, uint32 open);
    /// @notice The audit seed (hash of block `seedBlock`) does not exist yet: draw from block seedBlock + 1 on.
    error AuditNotDrawable(bytes32 batchId, uint256 seedBlock);
    /// @notice The audit was already drawn.
    error AuditAlreadyDrawn(bytes32 batchId, AuditStatus audit);
    /// @notice The audit seed is older than 256 blocks: the audit is missed (see `slashMissedAudit`).
    error AuditSeedGone(bytes32 batchId, uint256 seedBlock);
    /// @notice finalizeBatch: the audit selected position `index`, not proven yet (due before `deadline`).
    error AuditPending(bytes32 batchId, uint256 index, uint64 deadline);
    /// @notice slashMissedAudit: the audit is not missed (answered, clear, still answerable, or still drawable).
    error AuditNotMissed(bytes32 batchId, AuditStatus audit);
    error WrongOutputLength(uint256 expected, uint256 actual);
    // OutputOutOfRange(uint256 index, int256 value, uint8 bits) comes from libraries/OutputPacking.sol.
    /// @notice counterProveLeaf: the outputs are the leaf's.
    error SameOutputs(bytes32 batchId, uint256 index);
    error InvalidProof(bytes32 batchId, uint256 index);
    /// @notice The code at the model's verifier address is not the code registered (its code hash changed).
    error VerifierCodeChanged(bytes32 modelId, address verifier);
    /// @notice `account` never committed to `commitment` (or already revealed it).
    error CommitmentNotFound(address account, bytes32 commitment);
    /// @notice A commitment is revealed only in a block after the one that recorded it.
    error CommitmentTooRecent(bytes32 commitment, uint256 committedAt);

    // ---------------------------------------------------------------- wiring (immutables)

    function token() external view returns (IERC20);
    function registry() external view returns (IModelRegistry);
    /// @notice Receives protocol fees and slashed bonds as credits; the only account that may set audit policies.
    function treasury() external view returns (address);
    /// @notice Share, in basis points, of a lost challenger bond paid to the treasury.
    function protocolFeeBps() external view returns (uint16);
    /// @notice Share, in basis points, of a batch bond slashed by a challenge or counter-proof paid to the
    /// challenger (or counter-prover); the rest goes to the treasury. At most 5000, as in `IClaimManager`.
    function slashRewardBps() external view returns (uint16);
    /// @notice Audit rate of a model without its own policy.
    function defaultAuditRateBps() external view returns (uint16);
    /// @notice Audit fee of a model without its own policy.
    function defaultAuditFee() external view returns (uint128);
    /// @notice Largest number of claims in one batch (2^20: paths of at most 20 siblings).
    function MAX_BATCH_SIZE() external view returns (uint32);

    // ---------------------------------------------------------------- stake, credits, audit pool

    /// @notice Pulls `amount` tokens from the caller into their free stake.
    function stake(uint256 amount) external;
    /// @notice Sends `amount` of the caller's free stake back to them.
    function unstake(uint256 amount) external;
    /// @notice Sends `amount` of the caller's credits to them.
    function withdraw(uint256 amount) external;
    function freeStake(address account) external view returns (uint256);
    function credits(address account) external view returns (uint256);

    /// @notice Pulls `amount` tokens from the caller into the audit pool, which pays audit fees. Anyone may fund it;
    /// nobody can take tokens out of it except through answered audits.
    function fundAuditPool(uint256 amount) external;
    function auditPool() external view returns (uint256);

    /// @notice Sets a model's audit rate (basis points of batches audited, at most 10000) and the fee an answered
    /// audit earns. Only the treasury. Batches already submitted keep the policy they were submitted under.
    function setAuditPolicy(bytes32 modelId, uint16 rateBps, uint128 fee) external;
    /// @notice The audit policy new batches of `modelId` get: its own, else the defaults.
    function auditPolicy(bytes32 modelId) external view returns (uint16 rateBps, uint128 fee);

    // ---------------------------------------------------------------- commitments

    /// @notice Records that the caller committed to `commitment` in this block (see `hashCounterProof`).
    function commit(bytes32 commitment) external;
    /// @notice Block in which `account` committed to `commitment`, zero if never (or already revealed).
    function commitments(address account, bytes32 commitment) external view returns (uint256 blockNumber);
    /// @notice What a counter-prover commits to: keccak256(abi.encode(batchId, index, inputHash, outputs, proof)).
    function hashCounterProof(
        bytes32 batchId,
        uint256 index,
        uint256 inputHash,
        int256[] calldata outputs,
        uint256[8] calldata proof
    ) external pure returns (bytes32);

    // ---------------------------------------------------------------- batches

    /// @notice Claims `size` inferences of `modelId` at once, committed by `root` (tree rule above), locking `bond`
    /// of the caller's free stake for the whole batch. The model's audit policy is snapshotted into the batch (rate
    /// zero: the audit starts Clear). The leaves are published at `dataURI`.
    /// @return batchId keccak256(abi.encode(Batch(modelId, msg.sender, root, size, bond, auditRateBps, auditFee)))
    function submitBatch(bytes32 modelId, bytes32 root, uint32 size, uint256 bond, string calldata dataURI)
        external
        returns (bytes32 batchId);

    /// @notice Disputes position `index` of a Submitted batch inside its challenge window, locking the model's
    /// challenger bond from the caller's free stake. The provider must prove the leaf at that position before
    /// now + proofWindow, or the whole batch is slashed. Each position can be challenged once. An undrawn audit
    /// whose seed is readable is drawn here (AuditDrawn), so a provider skipping its draw cannot void the reward.
    function challengeLeaf(Batch calldata batch, uint256 index) external;

    /// @notice Proves the leaf at `index` (inputHash, outputs) with its Merkle `path` and a Groth16 proof whose
    /// public signals are built here as in `IClaimManager.prove`. It answers an open challenge of that position
    /// before its proof deadline (the challenger's bond, less the protocol fee, to the provider's free stake) and/or
    /// the audit if it selected that position, before the audit deadline (the audit fee, capped by the pool, to the
    /// provider's credits). Reverts with NothingToAnswer if it answers neither. Anyone may send it.
    function proveLeaf(
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        int256[] calldata outputs,
        bytes32[] calldata path,
        uint256[8] calldata proof
    ) external;

    /// @notice Slashes the whole batch at once with a valid proof that the leaf at `index` (inputHash,
    /// claimedOutputHash, shown by `path`) is false: other `outputs` for the same model and input. Reveals
    /// hashCounterProof(batchId, index, inputHash, outputs, proof), committed in an earlier block. Allowed while the
    /// batch is Submitted, inside its challenge window or once `index` is challenged. The slash reward goes to the
    /// challenger of `index` if it challenged in an earlier block, else to the caller.
    function counterProveLeaf(
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        bytes32 claimedOutputHash,
        bytes32[] calldata path,
        int256[] calldata outputs,
        uint256[8] calldata proof
    ) external;

    /// @notice Slashes the whole batch when position `index` is Challenged and its proof deadline has passed:
    /// slashRewardBps of the bond plus its challenger bond to that challenger, the rest to the treasury.
    function slashBatch(Batch calldata batch, uint256 index) external;

    /// @notice Draws the batch's audit (anyone; once block submittedBlock + 1 exists and for 256 blocks after).
    function drawAudit(Batch calldata batch) external;

    /// @notice Slashes the whole batch, its bond to the treasury's credits, when its audit selected a position not
    /// proven by the audit deadline (challengeDeadline + proofWindow), or was never drawn and its seed is gone.
    function slashMissedAudit(Batch calldata batch) external;

    /// @notice Settles a Submitted batch once its challenge window has passed, no position is still challenged and
    /// its audit is clear or answered (an undrawn audit is drawn here): the bond goes back to the provider's free
    /// stake.
    function finalizeBatch(Batch calldata batch) external;

    /// @notice After the batch was slashed through another position, gives a still-Challenged position's
    /// challenger its bond back (to its free stake). Anyone may send it.
    function reclaimChallengerBond(Batch calldata batch, uint256 index) external;

    /// @notice True iff the batch is Finalized, (inputHash, outputs) is its leaf at `index` under `path`, and
    /// inputHash is a field element (a leaf outside the field has no proof, so no watcher could counter-prove it).
    /// A consumer (or another contract) reads this to rely on one claim of a batch.
    function isSettledLeaf(
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        int256[] calldata outputs,
        bytes32[] calldata path
    ) external view returns (bool);

    /// @notice Status, challenge deadline, block of submission, open challenges, audit status and audit index.
    function batchState(bytes32 batchId)
        external
        view
        returns (
            BatchStatus status,
            uint64 challengeDeadline,
            uint64 submittedBlock,
            uint32 openChallenges,
            AuditStatus audit,
            uint32 auditIndex
        );

    /// @notice Status, proof deadline and challenger of position `index` of a batch.
    function leafChallenge(bytes32 batchId, uint256 index)
        external
        view
        returns (LeafStatus status, uint64 proofDeadline, address challenger);

    /// @notice batchId of `batch`.
    function hashBatch(Batch calldata batch) external pure returns (bytes32);

    /// @notice The leaf of claim `index`: keccak256(bytes.concat(keccak256(abi.encode(modelId, inputHash,
    /// outputHash, index)))).
    function hashLeaf(bytes32 modelId, uint256 inputHash, bytes32 outputHash, uint256 index)
        external
        pure
        returns (bytes32);
}

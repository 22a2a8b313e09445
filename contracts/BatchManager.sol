// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IBatchManager} from "./interfaces/IBatchManager.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {Groth16Verification} from "./libraries/Groth16Verification.sol";
import {OutputPacking} from "./libraries/OutputPacking.sol";
import {
    AuditStatus,
    Batch,
    BatchState,
    BatchStateLibrary,
    BatchStatus,
    LeafState,
    LeafStateLibrary,
    LeafStatus,
    SlashReason
} from "./types/Batch.sol";

/// @title BatchManager
/// @notice Merkle-batched claims of ozk with challenges by position and random forced audits, with its own stakes,
/// credits and audit pool in the same ERC20 bond token as the ClaimManager, reading the same ModelRegistry.
contract BatchManager is IBatchManager, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint16 private constant _BPS = 10_000;
    /// @notice Largest slashRewardBps accepted: a cheater who challenges (or counter-proves) its own false batch
    /// from a second address gets back at most half of its bond, so being caught always costs at least half.
    uint16 public constant MAX_SLASH_REWARD_BPS = 5000;
    /// @inheritdoc IBatchManager
    uint32 public constant MAX_BATCH_SIZE = 1 << 20;

    /// @inheritdoc IBatchManager
    IERC20 public immutable token;
    /// @inheritdoc IBatchManager
    IModelRegistry public immutable registry;
    /// @inheritdoc IBatchManager
    address public immutable treasury;
    /// @inheritdoc IBatchManager
    uint16 public immutable protocolFeeBps;
    /// @inheritdoc IBatchManager
    uint16 public immutable slashRewardBps;
    /// @inheritdoc IBatchManager
    uint16 public immutable defaultAuditRateBps;
    /// @inheritdoc IBatchManager
    uint128 public immutable defaultAuditFee;

    /// @inheritdoc IBatchManager
    mapping(address account => uint256) public freeStake;
    /// @inheritdoc IBatchManager
    mapping(address account => uint256) public credits;
    /// @inheritdoc IBatchManager
    uint256 public auditPool;
    /// @dev keccak256(modelId, inputHash) of every input whose audit fee was paid: a proof names no batch or position,
    /// so one proof would otherwise answer the audits of any number of batches holding the same input.
    mapping(bytes32 inference => bool) private _auditFeePaid;
    /// @inheritdoc IBatchManager
    mapping(address account => mapping(bytes32 commitment => uint256 blockNumber)) public commitments;

    /// @dev A model's own audit policy; `set` distinguishes "rate 0, fee 0" from "no policy: the defaults".
    struct AuditPolicy {
        bool set;
        uint16 rateBps;
        uint128 fee;
    }

    mapping(bytes32 batchId => BatchState) private _batches;
    mapping(bytes32 batchId => mapping(uint256 index => LeafState)) private _leaves;
    mapping(bytes32 modelId => AuditPolicy) private _policies;

    constructor(
        IERC20 token_,
        IModelRegistry registry_,
        address treasury_,
        uint16 protocolFeeBps_,
        uint16 slashRewardBps_,
        uint16 defaultAuditRateBps_,
        uint128 defaultAuditFee_
    ) {
        if (
            address(token_) == address(0) || address(registry_) == address(0) || treasury_ == address(0)
                || treasury_ == address(this) || protocolFeeBps_ > _BPS || slashRewardBps_ > MAX_SLASH_REWARD_BPS
                || defaultAuditRateBps_ > _BPS
        ) revert InvalidProtocolConfig();
        token = token_;
        registry = registry_;
        treasury = treasury_;
        protocolFeeBps = protocolFeeBps_;
        slashRewardBps = slashRewardBps_;
        defaultAuditRateBps = defaultAuditRateBps_;
        defaultAuditFee = defaultAuditFee_;
    }

    // ------------------------------------------------------------ stake, credits, audit pool

    /// @inheritdoc IBatchManager
    function stake(uint256 amount) external nonReentrant {
        _pull(amount);
        freeStake[msg.sender] += amount;
        emit Staked(msg.sender, amount);
    }

    /// @inheritdoc IBatchManager
    function unstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = freeStake[msg.sender];
        if (available < amount) revert InsufficientStake(msg.sender, available, amount);
        freeStake[msg.sender] = available - amount;
        emit Unstaked(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IBatchManager
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = credits[msg.sender];
        if (available < amount) revert InsufficientCredit(msg.sender, available, amount);
        credits[msg.sender] = available - amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IBatchManager
    function fundAuditPool(uint256 amount) external nonReentrant {
        _pull(amount);
        auditPool += amount;
        emit AuditPoolFunded(msg.sender, amount);
    }

    /// @inheritdoc IBatchManager
    function setAuditPolicy(bytes32 modelId, uint16 rateBps, uint128 fee) external nonReentrant {
        if (msg.sender != treasury) revert NotTreasury(msg.sender);
        if (rateBps > _BPS) revert InvalidAuditRate(rateBps);
        _policies[modelId] = AuditPolicy(true, rateBps, fee);
        emit AuditPolicySet(modelId, rateBps, fee);
    }

    /// @inheritdoc IBatchManager
    function auditPolicy(bytes32 modelId) public view returns (uint16 rateBps, uint128 fee) {
        AuditPolicy memory p = _policies[modelId];
        return p.set ? (p.rateBps, p.fee) : (defaultAuditRateBps, defaultAuditFee);
    }

    // ------------------------------------------------------------ commitments

    /// @inheritdoc IBatchManager
    function commit(bytes32 commitment) external nonReentrant {
        commitments[msg.sender][commitment] = block.number;
        emit Committed(msg.sender, commitment);
    }

    /// @inheritdoc IBatchManager
    function hashCounterProof(
        bytes32 batchId,
        uint256 index,
        uint256 inputHash,
        int256[] calldata outputs,
        uint256[8] calldata proof
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(batchId, index, inputHash, outputs, proof));
    }

    // ------------------------------------------------------------ batches

    /// @inheritdoc IBatchManager
    function submitBatch(bytes32 modelId, bytes32 root, uint32 size, uint256 bond, string calldata dataURI)
        external
        nonReentrant
        returns (bytes32 batchId)
    {
        (Batch memory batch, uint64 deadline) = _newBatch(modelId, root, size, bond);
        batchId = keccak256(abi.encode(batch));
        if (BatchState.unwrap(_batches[batchId]) != 0) revert BatchAlreadyExists(batchId);
        uint256 available = freeStake[msg.sender];
        if (available < bond) revert InsufficientStake(msg.sender, available, bond);
        freeStake[msg.sender] = available - bond;
        // A zero audit rate can select nothing: the audit starts Clear and never needs its seed.
        AuditStatus audit = batch.auditRateBps == 0 ? AuditStatus.Clear : AuditStatus.Undrawn;
        _batches[batchId] =
            BatchStateLibrary.pack(BatchStatus.Submitted, deadline, uint64(block.number), 0, audit, 0);
        emit BatchSubmitted(batchId, modelId, msg.sender, batch, deadline, dataURI);
    }

    /// @inheritdoc IBatchManager
    function challengeLeaf(Batch calldata batch, uint256 index) external nonReentrant {
        (bytes32 batchId, BatchState state) = _loadSubmitted(batch);
        // INVARIANT: only a Submitted batch inside its window can be challenged, each position once.
        if (block.timestamp >= state.challengeDeadline()) {
            revert ChallengeWindowClosed(batchId, state.challengeDeadline());
        }
        if (index >= batch.size) revert IndexOutOfRange(index, batch.size);
        LeafState leaf = _leaves[batchId][index];
        if (leaf.status() != LeafStatus.None) revert InvalidLeafStatus(batchId, index, leaf.status());

        (uint48 proofWindow, uint128 challengerBond) = registry.disputeParams(batch.modelId);
        uint256 available = freeStake[msg.sender];
        if (available < challengerBond) revert InsufficientStake(msg.sender, available, challengerBond);
        freeStake[msg.sender] = available - challengerBond;

        // INVARIANT: a challenge made while the audit's seed is readable fixes the draw (a pure function of the seed
        // and the batch, so drawing now changes no outcome). Else a cheater would skip its own draw until the seed is
        // gone and make the watcher's slash pay no reward (an undrawn audit past its seed counts as pending).
        if (state.audit() == AuditStatus.Undrawn) {
            uint256 seedBlock = uint256(state.submittedBlock()) + 1;
            if (block.number > seedBlock && blockhash(seedBlock) != 0) state = _draw(batchId, batch, state);
        }
        uint64 proofDeadline = uint64(block.timestamp) + proofWindow;
        _leaves[batchId][index] =
            LeafStateLibrary.pack(LeafStatus.Challenged, proofDeadline, msg.sender, uint48(block.number));
        // size <= MAX_BATCH_SIZE < 2^32 and each position is challenged at most once: no overflow.
        _batches[batchId] = state.withOpenChallenges(state.openChallenges() + 1);
        emit LeafChallenged(batchId, index, msg.sender, challengerBond, proofDeadline);
    }

    /// @inheritdoc IBatchManager
    function proveLeaf(
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        int256[] calldata outputs,
        bytes32[] calldata path,
        uint256[8] calldata proof
    ) external nonReentrant {
        (bytes32 batchId, BatchState state) = _loadSubmitted(batch);
        // INVARIANT: the proven leaf is the unique leaf at `index` under the batch root, and the public signals are
        // derived from it.
        _checkLeaf(batchId, batch, index, inputHash, OutputPacking.hash(outputs), path);
        _verify(batchId, index, batch.modelId, inputHash, outputs, proof);
        _answer(batchId, batch, index, inputHash, state);
    }

    /// @inheritdoc IBatchManager
    function counterProveLeaf(
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        bytes32 claimedOutputHash,
        bytes32[] calldata path,
        int256[] calldata outputs,
        uint256[8] calldata proof
    ) external nonReentrant {
        bytes32 batchId = _checkCounterProvable(batch, index);
        // INVARIANT: only who committed to this exact counter-proof in an earlier block can reveal it, so copying a
        // pending counter-proof from the mempool is useless.
        _reveal(hashCounterProof(batchId, index, inputHash, outputs, proof));
        _checkLeaf(batchId, batch, index, inputHash, claimedOutputHash, path);
        if (OutputPacking.hash(outputs) == claimedOutputHash) revert SameOutputs(batchId, index);
        // INVARIANT: the circuit is a function, so a valid proof of other outputs for the leaf's input shows the
        // leaf false (_verify also checks the output count).
        _verify(batchId, index, batch.modelId, inputHash, outputs, proof);
        _slashCounterProven(batchId, batch, index);
    }

    /// @inheritdoc IBatchManager
    function slashBatch(Batch calldata batch, uint256 index) external nonReentrant {
        (bytes32 batchId, BatchState state) = _loadSubmitted(batch);
        LeafState leaf = _leaves[batchId][index];
        if (leaf.status() != LeafStatus.Challenged) revert InvalidLeafStatus(batchId, index, leaf.status());
        if (block.timestamp < leaf.proofDeadline()) revert ProofWindowOpen(batchId, index, leaf.proofDeadline());
        _slash(batchId, batch, state, index, leaf, leaf.challenger(), false);
    }

    /// @inheritdoc IBatchManager
    function drawAudit(Batch calldata batch) external nonReentrant {
        (bytes32 batchId, BatchState state) = _loadSubmitted(batch);
        if (state.audit() != AuditStatus.Undrawn) revert AuditAlreadyDrawn(batchId, state.audit());
        _batches[batchId] = _draw(batchId, batch, state);
    }

    /// @inheritdoc IBatchManager
    function slashMissedAudit(Batch calldata batch) external nonReentrant {
        (bytes32 batchId, BatchState state) = _loadSubmitted(batch);
        AuditStatus audit = state.audit();
        SlashReason reason;
        if (audit == AuditStatus.Selected) {
            if (block.timestamp < _auditDeadline(batch.modelId, state)) revert AuditNotMissed(batchId, audit);
            reason = SlashReason.AuditUnanswered;
        } else if (audit == AuditStatus.Undrawn) {
            // INVARIANT: an audit nobody drew while its seed was readable is missed. Drawing later from another
            // block would hand a cheater a second, grindable chance.
            uint256 seedBlock = uint256(state.submittedBlock()) + 1;
            if (block.number <= seedBlock || blockhash(seedBlock) != 0) revert AuditNotMissed(batchId, audit);
            reason = SlashReason.AuditMissed;
        } else {
            revert AuditNotMissed(batchId, audit);
        }
        _batches[batchId] = state.withStatus(BatchStatus.Slashed);
        credits[treasury] += batch.bond;
        emit BatchSlashed(batchId, treasury, 0, batch.bond, reason, state.auditIndex());
    }

    /// @inheritdoc IBatchManager
    function finalizeBatch(Batch calldata batch) external nonReentrant {
        (bytes32 batchId, BatchState state) = _loadSubmitted(batch);
        if (block.timestamp < state.challengeDeadline()) {
            revert ChallengeWindowOpen(batchId, state.challengeDeadline());
        }
        if (state.openChallenges() != 0) revert ChallengesOpen(batchId, state.openChallenges());
        // The draw is a pure function of the seed and the batch: drawing here (and reverting if selected) gives
        // nobody a choice of outcome.
        if (state.audit() == AuditStatus.Undrawn) state = _draw(batchId, batch, state);
        if (state.audit() == AuditStatus.Selected) {
            revert AuditPending(batchId, state.auditIndex(), _auditDeadline(batch.modelId, state));
        }
        _batches[batchId] = state.withStatus(BatchStatus.Finalized);
        freeStake[batch.provider] += batch.bond;
        emit BatchFinalized(batchId);
    }

    /// @inheritdoc IBatchManager
    function reclaimChallengerBond(Batch calldata batch, uint256 index) external nonReentrant {
        bytes32 batchId = keccak256(abi.encode(batch));
        BatchStatus status = _batches[batchId].status();
        if (status != BatchStatus.Slashed) revert InvalidBatchStatus(batchId, status);
        LeafState leaf = _leaves[batchId][index];
        if (leaf.status() != LeafStatus.Challenged) revert InvalidLeafStatus(batchId, index, leaf.status());
        _leaves[batchId][index] = leaf.withStatus(LeafStatus.Released);
        (, uint128 bond) = registry.disputeParams(batch.modelId);
        address challenger = leaf.challenger();
        freeStake[challenger] += bond;
        emit ChallengerBondReclaimed(batchId, index, challenger, bond);
    }

    // ------------------------------------------------------------ views

    /// @inheritdoc IBatchManager
    function isSettledLeaf(
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        int256[] calldata outputs,
        bytes32[] calldata path
    ) external view returns (bool) {
        if (_batches[keccak256(abi.encode(batch))].status() != BatchStatus.Finalized) return false;
        if (index >= batch.size || path.length != _depth(batch.size)) return false;
        // INVARIANT: a settled leaf is one a proof could have answered: ClaimManager refuses such an input hash at
        // submission, a batch cannot see its leaves, and the verifier refuses a public signal outside the field.
        if (inputHash >= OutputPacking.FIELD_P) return false;
        return _root(_leaf(batch.modelId, inputHash, OutputPacking.hash(outputs), index), index, path) == batch.root;
    }

    /// @inheritdoc IBatchManager
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
        )
    {
        BatchState s = _batches[batchId];
        return (s.status(), s.challengeDeadline(), s.submittedBlock(), s.openChallenges(), s.audit(), s.auditIndex());
    }

    /// @inheritdoc IBatchManager
    function leafChallenge(bytes32 batchId, uint256 index)
        external
        view
        returns (LeafStatus status, uint64 proofDeadline, address challenger)
    {
        LeafState s = _leaves[batchId][index];
        return (s.status(), s.proofDeadline(), s.challenger());
    }

    /// @inheritdoc IBatchManager
    function hashBatch(Batch calldata batch) external pure returns (bytes32) {
        return keccak256(abi.encode(batch));
    }

    /// @inheritdoc IBatchManager
    function hashLeaf(bytes32 modelId, uint256 inputHash, bytes32 outputHash, uint256 index)
        external
        pure
        returns (bytes32)
    {
        return _leaf(modelId, inputHash, outputHash, index);
    }

    // ------------------------------------------------------------ internals

    /// @dev Pulls exactly `amount` tokens from the caller; rejects tokens that deliver less (fee on transfer).
    function _pull(uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }

    /// @dev Consumes the caller's commitment to `commitment`, which must date from an earlier block.
    function _reveal(bytes32 commitment) private {
        uint256 committedAt = commitments[msg.sender][commitment];
        if (committedAt == 0) revert CommitmentNotFound(msg.sender, commitment);
        if (committedAt >= block.number) revert CommitmentTooRecent(commitment, committedAt);
        delete commitments[msg.sender][commitment];
    }

    /// @dev Validates a new batch against its model; returns it (provider: the caller, audit policy snapshotted)
    /// and the end of its challenge window.
    function _newBatch(bytes32 modelId, bytes32 root, uint32 size, uint256 bond)
        private
        view
        returns (Batch memory batch, uint64 deadline)
    {
        (,, bool deprecated, uint48 challengeWindow, uint128 minBond) = registry.claimParams(modelId);
        if (deprecated) revert ModelIsDeprecated(modelId);
        if (size == 0 || size > MAX_BATCH_SIZE) revert InvalidBatchSize(size, MAX_BATCH_SIZE);
        if (root == bytes32(0)) revert EmptyRoot();
        if (bond < minBond) revert BondBelowMinimum(bond, minBond);
        (uint16 rateBps, uint128 fee) = auditPolicy(modelId);
        batch = Batch(modelId, msg.sender, root, size, bond, rateBps, fee);
        deadline = uint64(block.timestamp) + challengeWindow;
    }

    /// @dev batchId and stored state of `batch`; reverts unless it was submitted and is still Submitted.
    function _loadSubmitted(Batch calldata batch) private view returns (bytes32 batchId, BatchState state) {
        batchId = keccak256(abi.encode(batch));
        state = _batches[batchId];
        BatchStatus status = state.status();
        if (status == BatchStatus.None) revert UnknownBatch(batchId);
        if (status != BatchStatus.Submitted) revert InvalidBatchStatus(batchId, status);
    }

    /// @dev OpenZeppelin StandardMerkleTree leaf: the double hash keeps a leaf (64-byte-free preimage) from ever
    /// being taken for an inner node.
    function _leaf(bytes32 modelId, uint256 inputHash, bytes32 outputHash, uint256 index)
        private
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(modelId, inputHash, outputHash, index))));
    }

    /// @dev Siblings a path of a batch of `size` leaves has: ceil(log2(size)).
    function _depth(uint32 size) private pure returns (uint256) {
        return Math.log2(size, Math.Rounding.Ceil);
    }

    /// @dev Root from `leaf` at `index` and its siblings, in the order bit k of `index` fixes (position-bound:
    /// never sorted, so one index has one leaf).
    function _root(bytes32 leaf, uint256 index, bytes32[] calldata path) private pure returns (bytes32 node) {
        node = leaf;
        for (uint256 k; k < path.length; ++k) {
            node = (index >> k) & 1 == 1
                ? Hashes.efficientKeccak256(path[k], node)
                : Hashes.efficientKeccak256(node, path[k]);
        }
    }

    /// @dev Reverts unless (inputHash, outputHash) is the leaf at `index` (below the batch size) under the batch root.
    function _checkLeaf(
        bytes32 batchId,
        Batch calldata batch,
        uint256 index,
        uint256 inputHash,
        bytes32 outputHash,
        bytes32[] calldata path
    ) private pure {
        if (index >= batch.size) revert IndexOutOfRange(index, batch.size);
        uint256 depth = _depth(batch.size);
        // INVARIANT: exactly `depth` siblings: with fewer, an inner node would stand in for a leaf.
        if (path.length != depth) revert WrongPathLength(depth, path.length);
        bytes32 root = _root(_leaf(batch.modelId, inputHash, outputHash, index), index, path);
        if (root != batch.root) revert InvalidMerklePath(batchId, index);
    }

    /// @dev Verifies `proof` for the model, input and `outputs`, with the code registered for the model.
    function _verify(
        bytes32 batchId,
        uint256 index,
        bytes32 modelId,
        uint256 inputHash,
        int256[] calldata outputs,
        uint256[8] calldata proof
    ) private view {
        (address verifier, bytes32 codeHash, uint32 outputLength, uint8 outputBits, uint256 weightsCommitment) =
            registry.proofParams(modelId);
        if (outputs.length != outputLength) revert WrongOutputLength(outputLength, outputs.length);
        // INVARIANT: the code that judges is the code that accepted the registration's example proof.
        if (verifier.codehash != codeHash) revert VerifierCodeChanged(modelId, verifier);
        uint256[] memory signals = OutputPacking.publicSignals(outputs, outputBits, inputHash, weightsCommitment);
        if (!Groth16Verification.verify(verifier, proof, signals)) revert InvalidProof(batchId, index);
    }

    /// @dev Settles what a valid proof of the leaf at `index` answers: an open challenge of that position before its
    /// proof deadline, and the audit if it selected that position, before the audit deadline. Reverts if neither.
    function _answer(bytes32 batchId, Batch calldata batch, uint256 index, uint256 inputHash, BatchState state)
        private
    {
        (uint48 proofWindow, uint128 challengerBond) = registry.disputeParams(batch.modelId);
        LeafState leaf = _leaves[batchId][index];
        LeafStatus leafStatus = leaf.status();
        bool answered;
        if (leafStatus == LeafStatus.Challenged && block.timestamp < leaf.proofDeadline()) {
            _leaves[batchId][index] = leaf.withStatus(LeafStatus.Proven);
            state = state.withOpenChallenges(state.openChallenges() - 1);
            uint256 fee = _bps(challengerBond, protocolFeeBps);
            uint256 won = challengerBond - fee;
            freeStake[batch.provider] += won;
            if (fee != 0) credits[treasury] += fee;
            emit LeafProven(batchId, index, msg.sender, won, fee);
            answered = true;
        }
        if (
            state.audit() == AuditStatus.Selected && state.auditIndex() == index
                && block.timestamp < uint256(state.challengeDeadline()) + proofWindow
        ) {
            state = state.withAudit(AuditStatus.Answered, uint32(index));
            // Paid once per model and input: a replayed proof made nothing new.
            bytes32 inference = keccak256(abi.encode(batch.modelId, inputHash));
            uint256 paid;
            if (!_auditFeePaid[inference]) {
                _auditFeePaid[inference] = true;
                paid = Math.min(batch.auditFee, auditPool);
            }
            auditPool -= paid;
            credits[batch.provider] += paid;
            if (leafStatus == LeafStatus.None) {
                // A proven position cannot be challenged any more.
                _leaves[batchId][index] = LeafStateLibrary.pack(LeafStatus.Proven, 0, address(0), 0);
                emit LeafProven(batchId, index, msg.sender, 0, 0);
            }
            emit AuditAnswered(batchId, index, paid);
            answered = true;
        }
        if (!answered) revert NothingToAnswer(batchId, index);
        _batches[batchId] = state;
    }

    /// @dev batchId of a Submitted batch whose position `index` may be counter-proven: unchallenged inside the
    /// challenge window, or challenged (as ClaimManager.counterProve).
    function _checkCounterProvable(Batch calldata batch, uint256 index) private view returns (bytes32 batchId) {
        BatchState state;
        (batchId, state) = _loadSubmitted(batch);
        LeafStatus leafStatus = _leaves[batchId][index].status();
        if (leafStatus == LeafStatus.None) {
            if (block.timestamp >= state.challengeDeadline()) {
                revert ChallengeWindowClosed(batchId, state.challengeDeadline());
            }
        } else if (leafStatus != LeafStatus.Challenged) {
            revert InvalidLeafStatus(batchId, index, leafStatus);
        }
    }

    /// @dev Draws the audit from the hash of the block after submission; emits AuditDrawn. Reverts if that block is
    /// not there yet or its hash is gone (more than 256 blocks ago).
    function _draw(bytes32 batchId, Batch calldata batch, BatchState state) private returns (BatchState) {
        uint256 seedBlock = uint256(state.submittedBlock()) + 1;
        if (block.number <= seedBlock) revert AuditNotDrawable(batchId, seedBlock);
        bytes32 seed = blockhash(seedBlock);
        if (seed == bytes32(0)) revert AuditSeedGone(batchId, seedBlock);
        uint256 r = uint256(keccak256(abi.encode(seed, batchId)));
        if (r % _BPS >= batch.auditRateBps) {
            emit AuditDrawn(batchId, false, 0, 0);
            return state.withAudit(AuditStatus.Clear, 0);
        }
        uint32 index = uint32((r >> 128) % batch.size);
        state = state.withAudit(AuditStatus.Selected, index);
        emit AuditDrawn(batchId, true, index, _auditDeadline(batch.modelId, state));
        return state;
    }

    /// @dev A selected audit must be proven before challengeDeadline + proofWindow.
    function _auditDeadline(bytes32 modelId, BatchState state) private view returns (uint64) {
        (uint48 proofWindow,) = registry.disputeParams(modelId);
        return state.challengeDeadline() + proofWindow;
    }

    /// @dev Who earns the slash reward of a counter-proof: the position's challenger if it challenged in an earlier
    /// block (it found the lie first; else a cheater could counter-prove its own batch from a second address and take
    /// the reward back), otherwise the revealer (a challenge in this very block is a front-run of the reveal and only
    /// gets its bond back). Blocks, not timestamps: on chains with several blocks per second a cheater would reveal a
    /// pre-committed counter-proof in the next block of the challenge's second and take the challenger's reward.
    function _counterProofBeneficiary(LeafState leaf) private view returns (address) {
        if (leaf.status() != LeafStatus.Challenged) return msg.sender;
        return leaf.challengedBlock() < block.number ? leaf.challenger() : msg.sender;
    }

    /// @dev Slashes for a counter-proof of the leaf at `index`.
    function _slashCounterProven(bytes32 batchId, Batch calldata batch, uint256 index) private {
        LeafState leaf = _leaves[batchId][index];
        _slash(batchId, batch, _batches[batchId], index, leaf, _counterProofBeneficiary(leaf), true);
    }

    /// @dev Takes the whole batch bond: `reward` to the beneficiary's free stake, the rest to the treasury. The
    /// challenger of position `index`, if any, gets its challenger bond back at once; other challenged positions
    /// reclaim theirs with reclaimChallengerBond.
    function _slash(
        bytes32 batchId,
        Batch calldata batch,
        BatchState state,
        uint256 index,
        LeafState leaf,
        address beneficiary,
        bool counterProven
    ) private {
        bool auditPending;
        (state, auditPending) = _auditPending(batchId, batch, state);
        _batches[batchId] = state.withStatus(BatchStatus.Slashed);
        // The block of the action that earns the reward: the challenge, or else this counter-proof.
        bool byChallenger = leaf.status() == LeafStatus.Challenged && leaf.challenger() == beneficiary;
        uint256 earnedAt = byChallenger ? leaf.challengedBlock() : block.number;
        // INVARIANT: while the audit has picked a position and waits for its proof (or was never drawn and no longer
        // can be), the bond is already lost to the treasury. A slash earned after the draw became readable then pays
        // no reward: else a cheater who reads that the audit picked a lie would slash its own batch from a second
        // address and take slashRewardBps back. An earlier challenge could not know the draw and keeps its reward.
        uint256 reward =
            auditPending && earnedAt > uint256(state.submittedBlock()) + 1 ? 0 : _bps(batch.bond, slashRewardBps);
        uint256 toTreasury = batch.bond - reward;
        if (leaf.status() == LeafStatus.Challenged) {
            // INVARIANT: Released before paying, so this challenger bond can never be reclaimed a second time.
            _leaves[batchId][index] = leaf.withStatus(LeafStatus.Released);
            (, uint128 returned) = registry.disputeParams(batch.modelId);
            address challenger = leaf.challenger();
            if (challenger == beneficiary) {
                freeStake[challenger] += reward + returned;
            } else {
                freeStake[challenger] += returned;
                freeStake[beneficiary] += reward;
            }
        } else {
            freeStake[beneficiary] += reward;
        }
        if (toTreasury != 0) credits[treasury] += toTreasury;
        emit BatchSlashed(
            batchId,
            beneficiary,
            reward,
            toTreasury,
            counterProven ? SlashReason.CounterProven : SlashReason.Unproven,
            index
        );
    }

    /// @dev Whether the batch's audit selected a position not yet proven, or was never drawn and no longer can be
    /// (missed). An undrawn audit whose seed is readable is drawn here (the draw is a pure function of the seed and
    /// the batch, so drawing now changes no outcome); returns the state with the draw.
    function _auditPending(bytes32 batchId, Batch calldata batch, BatchState state)
        private
        returns (BatchState, bool)
    {
        AuditStatus audit = state.audit();
        if (audit == AuditStatus.Undrawn) {
            uint256 seedBlock = uint256(state.submittedBlock()) + 1;
            if (block.number <= seedBlock) return (state, false);
            if (blockhash(seedBlock) == bytes32(0)) return (state, true);
            state = _draw(batchId, batch, state);
            audit = state.audit();
        }
        return (state, audit == AuditStatus.Selected);
    }

    function _bps(uint256 amount, uint16 bps) private pure returns (uint256) {
        // Full-precision product: no overflow for any bond or fee the token can hold.
        return Math.mulDiv(amount, bps, _BPS);
    }
}

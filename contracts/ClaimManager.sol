// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IBatchManager} from "./interfaces/IBatchManager.sol";
import {IClaimManager} from "./interfaces/IClaimManager.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IOzkConsumer} from "./interfaces/IOzkConsumer.sol";
import {Groth16Verification} from "./libraries/Groth16Verification.sol";
import {OutputPacking} from "./libraries/OutputPacking.sol";
import {AuditStatus, Batch, SlashReason} from "./types/Batch.sol";
import {Claim, ClaimStatus, Request, RequestParams, RequestStatus} from "./types/Claim.sol";
import {ClaimAudit, ClaimAuditLibrary} from "./types/ClaimAudit.sol";
import {ClaimState, ClaimStateLibrary} from "./types/ClaimState.sol";

/// @title ClaimManager
/// @notice Stakes, claims, disputes, random forced audits, proofs and paid inference requests of ozk, in one ERC20
/// bond token.
/// @dev The audit policy is the BatchManager's: a model has one audit rate whichever way its provider submits, so a
/// cheater cannot escape audits by choosing single claims over batches, and the treasury sets it once. The audit
/// pool is this contract's own: audit fees are paid from the tokens held here.
contract ClaimManager is IClaimManager, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint16 private constant _BPS = 10_000;
    /// @notice Largest slashRewardBps accepted: a cheater who challenges (or counter-proves) its own false claim
    /// from a second address gets back at most half of its bond, so being caught always costs at least half.
    uint16 public constant MAX_SLASH_REWARD_BPS = 5000;
    /// @notice Largest callback gas a request may ask for.
    uint24 public constant MAX_CALLBACK_GAS = 1_000_000;
    /// @notice Gas kept back for the work after the callback (its event), on top of the 1/64 the EVM retains.
    uint256 public constant CALLBACK_GAS_RESERVE = 10_000;
    /// @notice Longest time a request may stay open.
    uint64 public constant MAX_REQUEST_TTL = 30 days;

    /// @inheritdoc IClaimManager
    IERC20 public immutable token;
    /// @inheritdoc IClaimManager
    IModelRegistry public immutable registry;
    /// @inheritdoc IClaimManager
    address public immutable treasury;
    /// @inheritdoc IClaimManager
    uint16 public immutable protocolFeeBps;
    /// @inheritdoc IClaimManager
    uint16 public immutable slashRewardBps;
    /// @inheritdoc IClaimManager
    IBatchManager public immutable batchManager;

    /// @inheritdoc IClaimManager
    mapping(address account => uint256) public freeStake;
    /// @inheritdoc IClaimManager
    mapping(address account => uint256) public credits;
    mapping(bytes32 claimId => ClaimState) private _claims;
    /// @dev Written only for a claim submitted under a non-zero audit rate.
    mapping(bytes32 claimId => ClaimAudit) private _audits;
    /// @inheritdoc IClaimManager
    uint256 public auditPool;
    /// @dev keccak256(modelId, inputHash) of every input whose audit fee was paid: a proof names no claim, so one
    /// proof would otherwise answer the audits of any number of claims of the same input, each paid from the pool.
    mapping(bytes32 inference => bool) private _auditFeePaid;
    mapping(uint256 requestId => Request) private _requests;
    /// @inheritdoc IClaimManager
    uint256 public requestCount;
    /// @inheritdoc IClaimManager
    mapping(address account => mapping(bytes32 commitment => uint256 blockNumber)) public commitments;

    constructor(
        IERC20 token_,
        IModelRegistry registry_,
        address treasury_,
        uint16 protocolFeeBps_,
        uint16 slashRewardBps_,
        IBatchManager batchManager_
    ) {
        if (
            address(token_) == address(0) || address(registry_) == address(0) || treasury_ == address(0)
                || treasury_ == address(this) || protocolFeeBps_ > _BPS || slashRewardBps_ > MAX_SLASH_REWARD_BPS
        ) revert InvalidProtocolConfig();
        // A batch's modelId means a model of this registry only if the BatchManager reads the same registry.
        if (address(batchManager_) != address(0) && batchManager_.registry() != registry_) {
            revert InvalidProtocolConfig();
        }
        token = token_;
        registry = registry_;
        treasury = treasury_;
        protocolFeeBps = protocolFeeBps_;
        slashRewardBps = slashRewardBps_;
        batchManager = batchManager_;
    }

    // ------------------------------------------------------------ stake and credits

    /// @inheritdoc IClaimManager
    function stake(uint256 amount) external nonReentrant {
        _pull(amount);
        freeStake[msg.sender] += amount;
        emit Staked(msg.sender, amount);
    }

    /// @inheritdoc IClaimManager
    function unstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = freeStake[msg.sender];
        if (available < amount) revert InsufficientStake(msg.sender, available, amount);
        freeStake[msg.sender] = available - amount;
        emit Unstaked(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IClaimManager
    function withdraw(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = credits[msg.sender];
        if (available < amount) revert InsufficientCredit(msg.sender, available, amount);
        credits[msg.sender] = available - amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------ audits

    /// @inheritdoc IClaimManager
    function fundAuditPool(uint256 amount) external nonReentrant {
        _pull(amount);
        auditPool += amount;
        emit AuditPoolFunded(msg.sender, amount);
    }

    /// @inheritdoc IClaimManager
    function auditPolicy(bytes32 modelId) public view returns (uint16 rateBps, uint128 fee) {
        if (address(batchManager) == address(0)) return (0, 0);
        return batchManager.auditPolicy(modelId);
    }

    /// @inheritdoc IClaimManager
    function drawAudit(Claim calldata claim) external nonReentrant {
        (bytes32 claimId, ClaimState state) = _load(claim);
        ClaimStatus status = state.status();
        if (status != ClaimStatus.Submitted && status != ClaimStatus.Challenged) {
            revert InvalidClaimStatus(claimId, status);
        }
        ClaimAudit audit = _audits[claimId];
        if (audit.status() != AuditStatus.Undrawn) revert AuditAlreadyDrawn(claimId, audit.status());
        _audits[claimId] = _draw(claimId, audit);
    }

    /// @inheritdoc IClaimManager
    function slashMissedAudit(Claim calldata claim) external nonReentrant {
        (bytes32 claimId, ClaimState state) = _load(claim);
        // A Challenged claim settles by its challenge: its proof deadline comes no later than the audit deadline.
        if (state.status() != ClaimStatus.Submitted) revert InvalidClaimStatus(claimId, state.status());
        ClaimAudit audit = _audits[claimId];
        AuditStatus status = audit.status();
        SlashReason reason;
        if (status == AuditStatus.Selected) {
            if (block.timestamp < audit.deadline()) revert AuditNotMissed(claimId, status);
            reason = SlashReason.AuditUnanswered;
        } else if (status == AuditStatus.Undrawn) {
            // INVARIANT: an audit nobody drew while its seed was readable is missed. Drawing later from another block
            // would hand a cheater a second, grindable chance.
            uint256 seedBlock = uint256(audit.submittedBlock()) + 1;
            if (block.number <= seedBlock || blockhash(seedBlock) != 0) revert AuditNotMissed(claimId, status);
            reason = SlashReason.AuditMissed;
        } else {
            revert AuditNotMissed(claimId, status);
        }
        _claims[claimId] = state.withStatus(ClaimStatus.Slashed);
        credits[treasury] += claim.bond;
        emit ClaimSlashed(claimId, treasury, 0, claim.bond, false);
        emit ClaimAuditSlashed(claimId, reason);
        _reopen(claimId, claim.requestId);
    }

    /// @inheritdoc IClaimManager
    function auditOf(bytes32 claimId)
        external
        view
        returns (AuditStatus audit, uint64 submittedBlock, uint16 rateBps, uint128 fee, uint64 deadline)
    {
        ClaimAudit a = _audits[claimId];
        return (a.status(), a.submittedBlock(), a.rateBps(), a.fee(), a.deadline());
    }

    // ------------------------------------------------------------ commitments

    /// @inheritdoc IClaimManager
    function commit(bytes32 commitment) external nonReentrant {
        commitments[msg.sender][commitment] = block.number;
        emit Committed(msg.sender, commitment);
    }

    /// @inheritdoc IClaimManager
    function hashCounterProof(bytes32 claimId, int256[] calldata outputs, uint256[8] calldata proof)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(claimId, outputs, proof));
    }

    /// @inheritdoc IClaimManager
    function hashAnswer(uint256 requestId, bytes32 outputHash, uint256 bond, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(requestId, outputHash, bond, salt));
    }

    // ------------------------------------------------------------ claims

    /// @inheritdoc IClaimManager
    function submitClaim(
        bytes32 modelId,
        uint256 inputHash,
        int256[] calldata outputs,
        uint256 bond,
        bytes calldata inputData,
        string calldata inputURI
    ) external nonReentrant returns (bytes32 claimId) {
        claimId = _submit(Claim(modelId, msg.sender, inputHash, OutputPacking.hash(outputs), bond, 0), outputs, 0);
        if (inputData.length != 0 || bytes(inputURI).length != 0) emit ClaimInput(claimId, inputData, inputURI);
    }

    /// @inheritdoc IClaimManager
    function answerRequest(uint256 requestId, int256[] calldata outputs, uint256 bond, bytes32 salt)
        external
        nonReentrant
        returns (bytes32 claimId)
    {
        Request storage r = _requests[requestId];
        RequestStatus status = r.status;
        if (status == RequestStatus.None) revert UnknownRequest(requestId);
        if (status != RequestStatus.Open) revert RequestNotOpen(requestId, status);
        if (block.timestamp >= r.expiry) revert RequestExpired(requestId, r.expiry);
        address allowed = r.provider;
        if (allowed != address(0) && allowed != msg.sender) revert ProviderNotAllowed(requestId, msg.sender);
        Claim memory claim = Claim(r.modelId, msg.sender, r.inputHash, OutputPacking.hash(outputs), bond, requestId);
        // INVARIANT: only who committed to this exact answer in an earlier block can reveal it, so copying a pending
        // answer from the mempool is useless.
        _reveal(hashAnswer(requestId, claim.outputHash, bond, salt));
        // INVARIANT: the claim is on the request's model and input (read above from the request, not from the caller).
        claimId = _submit(claim, outputs, r.minBond);
        r.status = RequestStatus.Claimed;
        r.claimId = claimId;
        emit RequestClaimed(requestId, claimId);
    }

    /// @inheritdoc IClaimManager
    function challenge(Claim calldata claim) external nonReentrant {
        (bytes32 claimId, ClaimState state) = _load(claim);
        // INVARIANT: only a Submitted claim inside its window can be challenged, and only once.
        if (state.status() != ClaimStatus.Submitted) revert InvalidClaimStatus(claimId, state.status());
        if (block.timestamp >= state.deadline()) revert ChallengeWindowClosed(claimId, state.deadline());

        (uint48 proofWindow, uint128 challengerBond) = registry.disputeParams(claim.modelId);
        uint256 available = freeStake[msg.sender];
        if (available < challengerBond) revert InsufficientStake(msg.sender, available, challengerBond);
        freeStake[msg.sender] = available - challengerBond;

        // INVARIANT: a challenge made while the audit's seed is readable fixes the draw (a pure function of the seed
        // and the claim, so drawing now changes no outcome). Else a cheater would skip its own draw until the seed is
        // gone and make the watcher's slash pay no reward (an undrawn audit past its seed counts as pending).
        _auditPending(claimId);
        uint64 proofDeadline = uint64(block.timestamp) + proofWindow;
        _claims[claimId] =
            ClaimStateLibrary.pack(ClaimStatus.Challenged, proofDeadline, msg.sender, uint48(block.number));
        emit ClaimChallenged(claimId, msg.sender, challengerBond, proofDeadline);
    }

    /// @inheritdoc IClaimManager
    function prove(Claim calldata claim, int256[] calldata outputs, uint256[8] calldata proof) external nonReentrant {
        (bytes32 claimId, ClaimState state) = _load(claim);
        ClaimStatus status = state.status();
        ClaimAudit audit = _auditOf(claimId);
        bool audited = audit.status() == AuditStatus.Selected;
        if (status == ClaimStatus.Challenged) {
            if (block.timestamp >= state.deadline()) revert ProofWindowClosed(claimId, state.deadline());
        } else if (status != ClaimStatus.Submitted) {
            revert InvalidClaimStatus(claimId, status);
        } else if (audited && block.timestamp >= audit.deadline()) {
            // INVARIANT: a selected audit is a challenge with the audit deadline as its proof deadline; after it the
            // bond belongs to the treasury (slashMissedAudit), and a late proof cannot race that slash.
            revert ProofWindowClosed(claimId, audit.deadline());
        }
        // INVARIANT: the public signals are derived from the stored claim and outputs that hash to its outputHash.
        if (OutputPacking.hash(outputs) != claim.outputHash) revert OutputsMismatch(claimId, claim.outputHash);
        _verify(claimId, claim, outputs, proof);

        _claims[claimId] = state.withStatus(ClaimStatus.Proven);
        uint256 providerGets = claim.bond;
        uint256 won;
        uint256 fee;
        if (status == ClaimStatus.Challenged) {
            (, uint128 challengerBond) = registry.disputeParams(claim.modelId);
            fee = _bps(challengerBond, protocolFeeBps);
            won = challengerBond - fee;
            providerGets += won;
            if (fee != 0) credits[treasury] += fee;
        }
        freeStake[claim.provider] += providerGets;
        emit ClaimProven(claimId, msg.sender, won, fee);
        if (audited) _answerAudit(claimId, audit, claim);
        if (claim.requestId != 0) _fulfillClaim(claimId, claim, outputs);
    }

    /// @inheritdoc IClaimManager
    function counterProve(Claim calldata claim, int256[] calldata outputs, uint256[8] calldata proof)
        external
        nonReentrant
    {
        (bytes32 claimId, ClaimState state) = _load(claim);
        ClaimStatus status = state.status();
        if (status == ClaimStatus.Submitted) {
            if (block.timestamp >= state.deadline()) revert ChallengeWindowClosed(claimId, state.deadline());
        } else if (status != ClaimStatus.Challenged) {
            revert InvalidClaimStatus(claimId, status);
        }
        // INVARIANT: only who committed to this exact counter-proof in an earlier block can reveal it, so copying a
        // pending counter-proof from the mempool is useless.
        _reveal(hashCounterProof(claimId, outputs, proof));
        if (OutputPacking.hash(outputs) == claim.outputHash) revert SameOutputs(claimId);
        // INVARIANT: the circuit is a function, so a valid proof of other outputs for this input shows the claim false.
        // (_verify also checks the output count: other outputs were never checked against the model at submission.)
        _verify(claimId, claim, outputs, proof);
        _slash(claimId, claim, state, _counterProofBeneficiary(state, status), true);
    }

    /// @inheritdoc IClaimManager
    function finalize(Claim calldata claim, int256[] calldata outputs) external nonReentrant {
        (bytes32 claimId, ClaimState state) = _load(claim);
        if (state.status() != ClaimStatus.Submitted) revert InvalidClaimStatus(claimId, state.status());
        if (block.timestamp < state.deadline()) revert ChallengeWindowOpen(claimId, state.deadline());
        if (OutputPacking.hash(outputs) != claim.outputHash) revert OutputsMismatch(claimId, claim.outputHash);
        ClaimAudit audit = _auditOf(claimId);
        // The draw is a pure function of the seed and the claim: drawing here (and reverting if selected) gives
        // nobody a choice of outcome.
        if (audit.status() == AuditStatus.Undrawn) _audits[claimId] = audit = _draw(claimId, audit);
        if (audit.status() == AuditStatus.Selected) revert AuditPending(claimId, audit.deadline());
        _claims[claimId] = state.withStatus(ClaimStatus.Finalized);
        freeStake[claim.provider] += claim.bond;
        emit ClaimFinalized(claimId);
        if (claim.requestId != 0) _fulfillClaim(claimId, claim, outputs);
    }

    /// @inheritdoc IClaimManager
    function slash(Claim calldata claim) external nonReentrant {
        (bytes32 claimId, ClaimState state) = _load(claim);
        if (state.status() != ClaimStatus.Challenged) revert InvalidClaimStatus(claimId, state.status());
        if (block.timestamp < state.deadline()) revert ProofWindowOpen(claimId, state.deadline());
        _slash(claimId, claim, state, state.challenger(), false);
    }

    /// @inheritdoc IClaimManager
    function hashClaim(Claim calldata claim) external pure returns (bytes32) {
        return keccak256(abi.encode(claim));
    }

    /// @inheritdoc IClaimManager
    function claimState(bytes32 claimId)
        external
        view
        returns (ClaimStatus status, uint64 deadline, address challenger)
    {
        ClaimState state = _claims[claimId];
        return (state.status(), state.deadline(), state.challenger());
    }

    /// @inheritdoc IClaimManager
    function isSettledOutput(Claim calldata claim, int256[] calldata outputs) external view returns (bool) {
        ClaimStatus status = _claims[keccak256(abi.encode(claim))].status();
        return (status == ClaimStatus.Finalized || status == ClaimStatus.Proven)
            && OutputPacking.hash(outputs) == claim.outputHash;
    }

    // ------------------------------------------------------------ requests

    /// @inheritdoc IClaimManager
    function requestInference(RequestParams calldata p, bytes calldata inputData, string calldata inputURI)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        (,, bool deprecated,,) = registry.claimParams(p.modelId);
        if (deprecated) revert ModelIsDeprecated(p.modelId);
        if (p.inputHash >= OutputPacking.FIELD_P) revert InputHashNotInField(p.inputHash);
        uint64 expiry = p.expiry;
        if (expiry <= block.timestamp || expiry > block.timestamp + MAX_REQUEST_TTL) revert InvalidExpiry(expiry);
        if (p.callbackGasLimit > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(p.callbackGasLimit, MAX_CALLBACK_GAS);
        _pull(p.fee);

        requestId = ++requestCount;
        Request storage r = _requests[requestId];
        r.consumer = msg.sender;
        r.expiry = expiry;
        r.status = RequestStatus.Open;
        r.callbackGasLimit = p.callbackGasLimit;
        r.modelId = p.modelId;
        r.inputHash = p.inputHash;
        r.fee = p.fee;
        // Slot 5 is written only for a restricted request: an open one costs no extra storage write.
        if (p.provider != address(0) || p.minBond != 0) {
            r.provider = p.provider;
            r.minBond = p.minBond;
        }
        _emitRequested(requestId, p, inputData, inputURI);
    }

    /// @inheritdoc IClaimManager
    function refundRequest(uint256 requestId) external nonReentrant {
        Request storage r = _requests[requestId];
        RequestStatus status = r.status;
        if (status == RequestStatus.None) revert UnknownRequest(requestId);
        if (status != RequestStatus.Open) revert RequestNotOpen(requestId, status);
        if (block.timestamp < r.expiry) revert RequestNotExpired(requestId, r.expiry);
        r.status = RequestStatus.Refunded;
        uint256 fee = r.fee;
        credits[r.consumer] += fee;
        emit RequestRefunded(requestId, r.consumer, fee);
    }

    /// @inheritdoc IClaimManager
    /// @dev Anyone may send it and it pays nobody but the batch's provider, so a copy of a pending call taken from the
    /// mempool gains the copier nothing: unlike answerRequest, no commit-reveal is needed.
    function fulfillFromBatch(
        uint256 requestId,
        Batch calldata batch,
        uint256 index,
        int256[] calldata outputs,
        bytes32[] calldata path
    ) external nonReentrant {
        if (address(batchManager) == address(0)) revert BatchFulfilmentDisabled();
        Request storage r = _requests[requestId];
        _checkBatchAnswer(r, requestId, batch, outputs);
        bytes32 batchId = keccak256(abi.encode(batch));
        // INVARIANT: the leaf is checked with the request's input hash (read from the request, not from the caller),
        // on a Finalized batch: its challenge window passed and its audit was cleared or answered.
        if (!batchManager.isSettledLeaf(batch, index, r.inputHash, outputs, path)) {
            revert BatchLeafNotSettled(batchId, index);
        }
        {
            (uint256 providerFee, uint256 protocolFee) = _pay(r, batch.provider);
            emit RequestFulfilledFromBatch(requestId, batchId, index, outputs, providerFee, protocolFee);
        }
        _callback(r, requestId, batchId, outputs, batch.provider, batch.bond);
    }

    /// @inheritdoc IClaimManager
    function getRequest(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IClaimManager
    function claimOfRequest(uint256 requestId) external view returns (bytes32) {
        return _requests[requestId].claimId;
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

    function _emitRequested(
        uint256 requestId,
        RequestParams calldata p,
        bytes calldata inputData,
        string calldata inputURI
    ) private {
        emit InferenceRequested(
            requestId,
            p.modelId,
            msg.sender,
            p.inputHash,
            p.fee,
            p.expiry,
            p.callbackGasLimit,
            p.provider,
            p.minBond,
            inputData,
            inputURI
        );
    }

    /// @dev Consumes the caller's commitment to `commitment`, which must date from an earlier block.
    function _reveal(bytes32 commitment) private {
        uint256 committedAt = commitments[msg.sender][commitment];
        if (committedAt == 0) revert CommitmentNotFound(msg.sender, commitment);
        if (committedAt >= block.number) revert CommitmentTooRecent(commitment, committedAt);
        delete commitments[msg.sender][commitment];
    }

    /// @dev Locks the bond and stores a new claim (its provider is the caller); emits ClaimSubmitted.
    /// `extraMinBond` is a request's minimum bond, zero for none.
    function _submit(Claim memory claim, int256[] calldata outputs, uint256 extraMinBond)
        private
        returns (bytes32 claimId)
    {
        uint64 deadline = _checkClaim(claim, outputs, extraMinBond);
        claimId = keccak256(abi.encode(claim));
        if (ClaimState.unwrap(_claims[claimId]) != 0) revert ClaimAlreadyExists(claimId);
        {
            uint256 bond = claim.bond;
            uint256 available = freeStake[msg.sender];
            if (available < bond) revert InsufficientStake(msg.sender, available, bond);
            freeStake[msg.sender] = available - bond;
        }
        _claims[claimId] = ClaimStateLibrary.pack(ClaimStatus.Submitted, deadline, address(0), 0);
        _scheduleAudit(claimId, claim.modelId, deadline);
        emit ClaimSubmitted(claimId, claim.modelId, msg.sender, claim, deadline, outputs);
    }

    /// @dev Snapshots the model's audit policy for a new claim; under a zero rate nothing is written (no audit).
    function _scheduleAudit(bytes32 claimId, bytes32 modelId, uint64 challengeDeadline) private {
        (uint16 rateBps, uint128 fee) = auditPolicy(modelId);
        if (rateBps == 0) return;
        (uint48 proofWindow,) = registry.disputeParams(modelId);
        _audits[claimId] = ClaimAuditLibrary.pack(
            AuditStatus.Undrawn, uint48(block.number), rateBps, fee, challengeDeadline + proofWindow
        );
    }

    /// @dev Validates a new claim against its model; returns the end of its challenge window.
    function _checkClaim(Claim memory claim, int256[] calldata outputs, uint256 extraMinBond)
        private
        view
        returns (uint64)
    {
        (uint32 outputLength, uint8 outputBits, bool deprecated, uint48 challengeWindow, uint128 modelMinBond) =
            registry.claimParams(claim.modelId);
        if (deprecated) revert ModelIsDeprecated(claim.modelId);
        if (outputs.length != outputLength) revert WrongOutputLength(outputLength, outputs.length);
        uint256 minBond = Math.max(modelMinBond, extraMinBond);
        if (claim.bond < minBond) revert BondBelowMinimum(claim.bond, minBond);
        if (claim.inputHash >= OutputPacking.FIELD_P) revert InputHashNotInField(claim.inputHash);
        // A claim whose outputs cannot be public signals could never be proven: refuse it up front.
        OutputPacking.checkRange(outputs, outputBits);
        return uint64(block.timestamp) + challengeWindow;
    }

    /// @dev claimId and stored state of `claim`; reverts with UnknownClaim if it was never submitted.
    function _load(Claim calldata claim) private view returns (bytes32 claimId, ClaimState state) {
        claimId = keccak256(abi.encode(claim));
        state = _claims[claimId];
        if (state.status() == ClaimStatus.None) revert UnknownClaim(claimId);
    }

    /// @dev Verifies `proof` for the claim's model and input and `outputs`, with the code registered for the model.
    function _verify(bytes32 claimId, Claim calldata claim, int256[] calldata outputs, uint256[8] calldata proof)
        private
        view
    {
        (address verifier, bytes32 codeHash, uint32 outputLength, uint8 outputBits, uint256 weightsCommitment) =
            registry.proofParams(claim.modelId);
        if (outputs.length != outputLength) revert WrongOutputLength(outputLength, outputs.length);
        // INVARIANT: the code that judges is the code that accepted the registration's example proof. Without this
        // a verifier whose code can change (a metamorphic contract) could be made to accept anything later.
        if (verifier.codehash != codeHash) revert VerifierCodeChanged(claim.modelId, verifier);
        uint256[] memory signals = OutputPacking.publicSignals(outputs, outputBits, claim.inputHash, weightsCommitment);
        if (!Groth16Verification.verify(verifier, proof, signals)) revert InvalidProof(claimId);
    }

    /// @dev Who earns the slash reward of a counter-proof. A challenger whose challenge is older than this block
    /// found the lie first and keeps the reward (else a cheater could have a second address counter-prove its own
    /// claim and take the honest challenger's reward back). Otherwise the revealer earns it: on an unchallenged
    /// claim, and over a challenge made in this very block (a front-run of the reveal seen in the mempool), which
    /// only gets its bond back.
    /// Compared by block number: on chains with several blocks per second, a challenge and a reveal in the next
    /// block can share a timestamp.
    function _counterProofBeneficiary(ClaimState state, ClaimStatus status) private view returns (address) {
        if (status != ClaimStatus.Challenged) return msg.sender;
        return state.challengedBlock() < block.number ? state.challenger() : msg.sender;
    }

    /// @dev Takes the provider bond: `reward` to the beneficiary's free stake, the rest to the treasury; a
    /// challenger gets its challenger bond back (to free stake); an answered request opens again.
    function _slash(bytes32 claimId, Claim calldata claim, ClaimState state, address beneficiary, bool counterProven)
        private
    {
        _claims[claimId] = state.withStatus(ClaimStatus.Slashed);
        uint256 reward = _bps(claim.bond, slashRewardBps);
        {
            // The block of the action that earns the reward: an earlier challenge by the beneficiary, else this call.
            bool byChallenger = state.status() == ClaimStatus.Challenged && state.challenger() == beneficiary;
            uint256 earnedAt = byChallenger ? state.challengedBlock() : block.number;
            // INVARIANT: while the audit has selected the claim and waits for its proof (or was never drawn and no
            // longer can be), the bond is already lost to the treasury. A slash earned after the draw became readable
            // then pays no reward: else a cheater who reads that the audit picked its lie would slash its own claim
            // from a second address and take slashRewardBps back. An earlier challenge could not know the draw and
            // keeps its reward.
            (bool pending, uint256 seedBlock) = _auditPending(claimId);
            if (pending && earnedAt > seedBlock) reward = 0;
        }
        uint256 toTreasury = claim.bond - reward;
        if (state.status() == ClaimStatus.Challenged) {
            (, uint128 returned) = registry.disputeParams(claim.modelId);
            address challenger = state.challenger();
            if (challenger == beneficiary) {
                reward += returned;
            } else {
                freeStake[challenger] += returned;
            }
        }
        freeStake[beneficiary] += reward;
        if (toTreasury != 0) credits[treasury] += toTreasury;
        emit ClaimSlashed(claimId, beneficiary, claim.bond - toTreasury, toTreasury, counterProven);
        _reopen(claimId, claim.requestId);
    }

    /// @dev A slashed claim's request (if it answered one) opens again.
    function _reopen(bytes32 claimId, uint256 requestId) private {
        if (requestId == 0) return;
        Request storage r = _requests[requestId];
        r.status = RequestStatus.Open;
        r.claimId = bytes32(0);
        emit RequestReopened(requestId, claimId);
    }

    /// @dev The stored audit of a claim; without a BatchManager no claim has one, and the storage read is skipped.
    function _auditOf(bytes32 claimId) private view returns (ClaimAudit) {
        return address(batchManager) == address(0) ? ClaimAudit.wrap(0) : _audits[claimId];
    }

    /// @dev Draws the audit from the hash of the block after submission; emits AuditDrawn and returns the drawn
    /// audit (the caller stores it). Reverts if that block is not there yet or its hash is gone (256 blocks ago).
    function _draw(bytes32 claimId, ClaimAudit audit) private returns (ClaimAudit) {
        uint256 seedBlock = uint256(audit.submittedBlock()) + 1;
        if (block.number <= seedBlock) revert AuditNotDrawable(claimId, seedBlock);
        bytes32 seed = blockhash(seedBlock);
        if (seed == bytes32(0)) revert AuditSeedGone(claimId, seedBlock);
        uint256 r = uint256(keccak256(abi.encode(seed, claimId)));
        if (r % _BPS >= audit.rateBps()) {
            emit AuditDrawn(claimId, false, 0, 0);
            return audit.withStatus(AuditStatus.Clear);
        }
        emit AuditDrawn(claimId, true, 0, audit.deadline());
        return audit.withStatus(AuditStatus.Selected);
    }

    /// @dev Whether the claim's audit selected it and waits for its proof, or was never drawn and no longer can be
    /// (missed), with its seed block. An undrawn audit whose seed is readable is drawn (and stored) here: the draw is
    /// a pure function of the seed and the claim, so drawing now changes no outcome.
    function _auditPending(bytes32 claimId) private returns (bool pending, uint256 seedBlock) {
        ClaimAudit audit = _auditOf(claimId);
        AuditStatus status = audit.status();
        seedBlock = uint256(audit.submittedBlock()) + 1;
        if (status == AuditStatus.Undrawn) {
            if (block.number <= seedBlock) return (false, seedBlock);
            if (blockhash(seedBlock) == bytes32(0)) return (true, seedBlock);
            audit = _draw(claimId, audit);
            _audits[claimId] = audit;
            status = audit.status();
        }
        return (status == AuditStatus.Selected, seedBlock);
    }

    /// @dev A proof answered the selected audit: the audit fee, capped by the pool, to the provider's credits, once
    /// per model and input (the fee pays for making a proof; replaying one proves nothing new and is paid nothing).
    function _answerAudit(bytes32 claimId, ClaimAudit audit, Claim calldata claim) private {
        _audits[claimId] = audit.withStatus(AuditStatus.Answered);
        bytes32 inference = keccak256(abi.encode(claim.modelId, claim.inputHash));
        uint256 paid;
        if (!_auditFeePaid[inference]) {
            _auditFeePaid[inference] = true;
            paid = Math.min(audit.fee(), auditPool);
        }
        auditPool -= paid;
        credits[claim.provider] += paid;
        emit AuditAnswered(claimId, 0, paid);
    }

    /// @dev fulfillFromBatch's rules that do not need the leaf: the request is Open and unexpired, and the batch could
    /// have answered it as a claim (its model, its provider if the request names one, its bond, the outputs' shape).
    function _checkBatchAnswer(Request storage r, uint256 requestId, Batch calldata batch, int256[] calldata outputs)
        private
        view
    {
        RequestStatus status = r.status;
        if (status == RequestStatus.None) revert UnknownRequest(requestId);
        if (status != RequestStatus.Open) revert RequestNotOpen(requestId, status);
        if (block.timestamp >= r.expiry) revert RequestExpired(requestId, r.expiry);
        bytes32 modelId = r.modelId;
        if (batch.modelId != modelId) revert BatchModelMismatch(requestId, batch.modelId);
        address allowed = r.provider;
        // A batch's leaves are published by its provider alone (at its dataURI): a provider that withholds them can
        // put a lie in a batch nobody could check, and it would finalize. So only a consumer that named the provider
        // (trusting it to publish) accepts answers from its batches; an open request is answered by a claim.
        if (allowed == address(0)) revert BatchAnswerNeedsNamedProvider(requestId);
        if (allowed != batch.provider) revert ProviderNotAllowed(requestId, batch.provider);
        (uint32 outputLength, uint8 outputBits,,, uint128 modelMinBond) = registry.claimParams(modelId);
        uint256 minBond = Math.max(modelMinBond, r.minBond);
        if (batch.bond < minBond) revert BondBelowMinimum(batch.bond, minBond);
        // The same shape rules as a claim answering the request: the consumer gets outputs a proof could have.
        if (outputs.length != outputLength) revert WrongOutputLength(outputLength, outputs.length);
        OutputPacking.checkRange(outputs, outputBits);
    }

    /// @dev Pays the request fee for a valid answering claim, then calls the consumer back. Runs last in a settlement.
    function _fulfillClaim(bytes32 claimId, Claim calldata claim, int256[] calldata outputs) private {
        uint256 requestId = claim.requestId;
        Request storage r = _requests[requestId];
        (uint256 providerFee, uint256 protocolFee) = _pay(r, claim.provider);
        emit RequestFulfilled(requestId, claimId, claim.outputHash, providerFee, protocolFee);
        _callback(r, requestId, claimId, outputs, claim.provider, claim.bond);
    }

    /// @dev Marks the request Fulfilled and credits its fee: the protocol fee to the treasury, the rest to `provider`.
    function _pay(Request storage r, address provider) private returns (uint256 providerFee, uint256 protocolFee) {
        r.status = RequestStatus.Fulfilled;
        uint256 fee = r.fee;
        protocolFee = _bps(fee, protocolFeeBps);
        providerFee = fee - protocolFee;
        credits[provider] += providerFee;
        if (protocolFee != 0) credits[treasury] += protocolFee;
    }

    /// @dev Calls the consumer back with the settled outputs, if the request asked for it (`id` is the claimId, or
    /// the batchId of a request fulfilled from a batch). Runs last.
    function _callback(
        Request storage r,
        uint256 requestId,
        bytes32 id,
        int256[] calldata outputs,
        address provider,
        uint256 bond
    ) private {
        uint256 gasLimit = r.callbackGasLimit;
        if (gasLimit == 0) return;
        address consumer = r.consumer;
        bytes memory data =
            abi.encodeCall(IOzkConsumer.onInferenceSettled, (requestId, id, outputs, provider, bond));
        // The EVM forwards at most 63/64 of what is left: make sure the consumer really gets gasLimit, so a sender
        // cannot make the callback fail by sending too little gas. Too little reverts the whole settlement instead.
        uint256 required = gasLimit + gasLimit / 63 + CALLBACK_GAS_RESERVE;
        if (gasleft() < required) revert InsufficientGasForCallback(gasleft(), required);
        bool success;
        assembly ("memory-safe") {
            // No return data is copied: a consumer cannot grief with a huge return or revert reason.
            success := call(gasLimit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit ConsumerCallback(requestId, consumer, success);
    }

    function _bps(uint256 amount, uint16 bps) private pure returns (uint256) {
        // Full-precision product: no overflow for any bond or fee the token can hold.
        return Math.mulDiv(amount, bps, _BPS);
    }
}

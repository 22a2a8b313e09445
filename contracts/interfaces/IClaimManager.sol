// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AuditStatus, Batch, SlashReason} from "../types/Batch.sol";
import {Claim, ClaimStatus, Request, RequestParams, RequestStatus} from "../types/Claim.sol";
import {IBatchManager} from "./IBatchManager.sol";
import {IModelRegistry} from "./IModelRegistry.sol";

/// @title IClaimManager
/// @notice Staked inference claims settled optimistically, disputed by Groth16 proofs, and paid inference requests.
/// @dev Money rules. Tokens enter only through `stake`, `requestInference` and `fundAuditPool` and leave only
/// through `unstake` and `withdraw`. Bonds stay bonds: a bond unlocked or won goes to the winner's free stake
/// (reusable at once, withdrawable with `unstake`). Fees become credits: request fees, protocol fees, audit fees,
/// missed-audit slashes and refunds are credited and pulled with `withdraw`.
/// INVARIANT: token.balanceOf(this) == sum(freeStake) + locked provider bonds + locked challenger bonds
///            + sum(credits) + escrowed request fees + auditPool.
/// A claim is identified by claimId = keccak256(abi.encode(Claim)); only its packed state is stored, its fields
/// are in `ClaimSubmitted` and every later call passes the Claim back.
/// Front-running. Two actions pay whoever sends them and would be worth copying from the mempool: a counter-proof
/// (the slash reward) and an answer to a request (the fee). Both are commit-reveal: the sender first `commit`s a
/// hash of what it will send (kept per sender, so a copied commitment is worthless), and the reveal is accepted only
/// in a later block. A copier who sees the reveal is always at least one block too late. `fulfillFromBatch` needs no
/// commitment: it pays the batch's provider whoever sends it, so a copy earns the copier nothing.
/// Random forced audits, with the semantics, names and event shapes of IBatchManager's batch audits. A claim of a
/// model whose audit rate is not zero (`auditPolicy`: the BatchManager's policy, one per model for claims and
/// batches) is submitted with an Undrawn audit, its rate and fee snapshotted. seed = blockhash(submittedBlock + 1);
/// r = uint256(keccak256(abi.encode(seed, claimId))); selected iff r % 10000 < rateBps (`drawAudit`, anyone, while
/// the seed is readable: 256 blocks). A selected claim must be proven (`prove`) before its audit deadline, the end
/// of its challenge window plus the model's proof window, as if challenged; that proof earns the audit fee (capped by
/// this contract's `auditPool`). An audit selected and unproven at its deadline, or never drawn while its seed was
/// readable, is missed: `slashMissedAudit` (anyone) sends the whole bond to the treasury. So a lie is caught with
/// probability at least the audit rate even when nobody watches. With the other disputes:
/// - one proof answers both a challenge and a selected audit (the proof deadline never comes after the audit's);
/// - `finalize` draws an undrawn audit itself and refuses while the audit has selected the claim;
/// - a slash (`slash`, `counterProve`) pays no reward while the audit is selected or missed if the action that
///   earned it (the challenge, else the counter-proof) came after the seed block: else a cheater who reads that the
///   audit picked its lie would slash itself from a second address and take slashRewardBps back. An earlier
///   challenge could not know the draw and keeps its reward;
/// - a Challenged claim settles by its challenge, never by `slashMissedAudit`.
interface IClaimManager {
    // ---------------------------------------------------------------- events

    event Staked(address indexed account, uint256 amount);
    event Unstaked(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `account` committed to a counter-proof or a request answer it will reveal in a later block.
    event Committed(address indexed account, bytes32 indexed commitment);

    /// @notice A claim was made. `claim` is what later calls pass back; `outputs` are the full answer.
    event ClaimSubmitted(
        bytes32 indexed claimId,
        bytes32 indexed modelId,
        address indexed provider,
        Claim claim,
        uint64 challengeDeadline,
        int256[] outputs
    );
    /// @notice The input of a claim, for challengers to re-execute: the data itself or a URI where it is kept.
    /// Emitted only when the provider passed either (a claim answering a request relies on the request's input).
    event ClaimInput(bytes32 indexed claimId, bytes inputData, string inputURI);
    /// @notice A challenger locked `bond`; the claim must be proven before `proofDeadline`.
    event ClaimChallenged(bytes32 indexed claimId, address indexed challenger, uint256 bond, uint64 proofDeadline);
    /// @notice A valid proof of the claimed outputs settled the claim. `challengerBondWon` is what the provider
    /// received from the challenger's bond (0 if unchallenged); `protocolFee` went to the treasury.
    event ClaimProven(bytes32 indexed claimId, address indexed prover, uint256 challengerBondWon, uint256 protocolFee);
    /// @notice The challenge window passed without a challenge.
    event ClaimFinalized(bytes32 indexed claimId);
    /// @notice The provider bond was taken: `reward` to `beneficiary`'s free stake, `toTreasury` to the treasury's
    /// credits; a challenger, if there was one, also got its challenger bond back. `beneficiary` is the challenger
    /// when the proof deadline passed (`counterProven` false); when a proof of different outputs did it
    /// (`counterProven` true) it is the challenger if the challenge came in an earlier block, else the counter-prover.
    event ClaimSlashed(
        bytes32 indexed claimId, address indexed beneficiary, uint256 reward, uint256 toTreasury, bool counterProven
    );
    /// @notice The claim's audit was drawn. If `selected`, the claim must be proven before `deadline`. `index` is
    /// always 0: the event has the shape of IBatchManager.AuditDrawn, so one decoder reads both.
    event AuditDrawn(bytes32 indexed claimId, bool selected, uint256 index, uint64 deadline);
    /// @notice The audited claim was proven; `fee` (its audit fee, capped by the pool) went to the provider's
    /// credits. `index` is always 0 (the shape of IBatchManager.AuditAnswered).
    event AuditAnswered(bytes32 indexed claimId, uint256 indexed index, uint256 fee);
    /// @notice `slashMissedAudit` took the whole bond (the ClaimSlashed beside it has the treasury as beneficiary and
    /// reward 0): `reason` is AuditUnanswered or AuditMissed.
    event ClaimAuditSlashed(bytes32 indexed claimId, SlashReason reason);
    event AuditPoolFunded(address indexed funder, uint256 amount);

    event InferenceRequested(
        uint256 indexed requestId,
        bytes32 indexed modelId,
        address indexed consumer,
        uint256 inputHash,
        uint256 fee,
        uint64 expiry,
        uint24 callbackGasLimit,
        address provider,
        uint96 minBond,
        bytes inputData,
        string inputURI
    );
    /// @notice `claimId` answers `requestId` (several over time if claims get slashed).
    event RequestClaimed(uint256 indexed requestId, bytes32 indexed claimId);
    /// @notice The answering claim settled valid: `providerFee` credited to the provider, `protocolFee` to the
    /// treasury.
    event RequestFulfilled(
        uint256 indexed requestId, bytes32 indexed claimId, bytes32 outputHash, uint256 providerFee, uint256 protocolFee
    );
    /// @notice The leaf at `index` of the Finalized batch `batchId` answered the request with `outputs` (the leaf's
    /// outputs, in full: a batch publishes only its root, so this event is where a consumer reads them):
    /// `providerFee` credited to the batch's provider, `protocolFee` to the treasury. RequestFulfilled is emitted only
    /// for an answering claim.
    event RequestFulfilledFromBatch(
        uint256 indexed requestId,
        bytes32 indexed batchId,
        uint256 index,
        int256[] outputs,
        uint256 providerFee,
        uint256 protocolFee
    );
    /// @notice The answering claim was slashed; the request is open again until it expires.
    event RequestReopened(uint256 indexed requestId, bytes32 indexed claimId);
    /// @notice An expired open request returned its fee to the consumer's credits.
    event RequestRefunded(uint256 indexed requestId, address indexed consumer, uint256 fee);
    /// @notice Result of the consumer callback; a failure never blocks settlement.
    event ConsumerCallback(uint256 indexed requestId, address indexed consumer, bool success);

    // ---------------------------------------------------------------- errors

    error ZeroAmount();
    /// @notice The token moved a different amount than asked (fee-on-transfer or rebasing tokens are not supported).
    error TransferAmountMismatch(uint256 expected, uint256 received);
    error InsufficientStake(address account, uint256 available, uint256 required);
    error InsufficientCredit(address account, uint256 available, uint256 requested);
    error InvalidProtocolConfig();

    error ModelIsDeprecated(bytes32 modelId);
    error WrongOutputLength(uint256 expected, uint256 actual);
    // OutputOutOfRange(uint256 index, int256 value, uint8 bits) comes from libraries/OutputPacking.sol: an output
    // that does not fit the model's outputBits cannot be a public signal.
    error InputHashNotInField(uint256 inputHash);
    error BondBelowMinimum(uint256 bond, uint256 minimum);
    error ClaimAlreadyExists(bytes32 claimId);
    /// @notice No claim with these fields (the Claim passed back does not hash to a submitted claim).
    error UnknownClaim(bytes32 claimId);
    /// @notice The action is not allowed in the claim's current status.
    error InvalidClaimStatus(bytes32 claimId, ClaimStatus status);
    error ChallengeWindowClosed(bytes32 claimId, uint64 deadline);
    error ChallengeWindowOpen(bytes32 claimId, uint64 deadline);
    error ProofWindowClosed(bytes32 claimId, uint64 deadline);
    error ProofWindowOpen(bytes32 claimId, uint64 deadline);
    /// @notice prove: the outputs do not hash to the claim's outputHash.
    error OutputsMismatch(bytes32 claimId, bytes32 outputHash);
    /// @notice counterProve: the outputs are the claimed ones.
    error SameOutputs(bytes32 claimId);
    error InvalidProof(bytes32 claimId);
    /// @notice The code at the model's verifier address is not the code registered (its code hash changed).
    error VerifierCodeChanged(bytes32 modelId, address verifier);
    /// @notice `account` never committed to `commitment` (or already revealed it).
    error CommitmentNotFound(address account, bytes32 commitment);
    /// @notice A commitment is revealed only in a block after the one that recorded it.
    error CommitmentTooRecent(bytes32 commitment, uint256 committedAt);

    error UnknownRequest(uint256 requestId);
    error RequestNotOpen(uint256 requestId, RequestStatus status);
    error RequestExpired(uint256 requestId, uint64 expiry);
    error RequestNotExpired(uint256 requestId, uint64 expiry);
    /// @notice The request names another provider than `provider`, the caller.
    error ProviderNotAllowed(uint256 requestId, address provider);
    error InvalidExpiry(uint64 expiry);
    error CallbackGasTooHigh(uint24 callbackGasLimit, uint24 maximum);
    /// @notice fulfillFromBatch: this ClaimManager was deployed without a BatchManager.
    error BatchFulfilmentDisabled();
    /// @notice fulfillFromBatch: the request names no provider. A batch's data is published by its provider alone, so
    /// only a consumer that named the provider accepts answers from its batches; other requests need a claim.
    error BatchAnswerNeedsNamedProvider(uint256 requestId);
    /// @notice fulfillFromBatch: the batch is of another model than the request.
    error BatchModelMismatch(uint256 requestId, bytes32 batchModelId);
    /// @notice fulfillFromBatch: BatchManager.isSettledLeaf is false for the request's input hash and these outputs
    /// at `index` (batch not Finalized, or the leaf, index or path do not match its root).
    error BatchLeafNotSettled(bytes32 batchId, uint256 index);
    /// @notice Too little gas left to give the consumer its full callback gas; retry with more gas.
    error InsufficientGasForCallback(uint256 available, uint256 required);
    /// @notice The audit's seed block (the block after submission) does not exist yet.
    error AuditNotDrawable(bytes32 claimId, uint256 seedBlock);
    /// @notice The audit was already drawn (or the claim has none: Clear).
    error AuditAlreadyDrawn(bytes32 claimId, AuditStatus audit);
    /// @notice The seed block's hash is gone (more than 256 blocks ago): the audit can no longer be drawn, only
    /// slashed as missed.
    error AuditSeedGone(bytes32 claimId, uint256 seedBlock);
    /// @notice The audit selected the claim: prove it before `deadline`; until then it cannot be finalized.
    error AuditPending(bytes32 claimId, uint64 deadline);
    /// @notice slashMissedAudit on a claim whose audit is clear, answered, still drawable or inside its deadline.
    error AuditNotMissed(bytes32 claimId, AuditStatus audit);

    // ---------------------------------------------------------------- wiring (immutables)

    function token() external view returns (IERC20);
    function registry() external view returns (IModelRegistry);
    function treasury() external view returns (address);
    /// @notice Share, in basis points, of request fees and of lost challenger bonds paid to the treasury.
    function protocolFeeBps() external view returns (uint16);
    /// @notice Share, in basis points, of a slashed provider bond paid to the challenger (or counter-prover);
    /// the rest goes to the treasury. At most 5000: a cheater who challenges its own claim from a second address
    /// still loses at least half its bond.
    function slashRewardBps() external view returns (uint16);
    /// @notice The BatchManager whose Finalized leaves can fulfil requests (`fulfillFromBatch`); zero for none. It
    /// reads the same registry.
    function batchManager() external view returns (IBatchManager);

    // ---------------------------------------------------------------- stake and credits

    /// @notice Pulls `amount` tokens from the caller into their free stake.
    function stake(uint256 amount) external;
    /// @notice Sends `amount` of the caller's free stake back to them.
    function unstake(uint256 amount) external;
    /// @notice Sends `amount` of the caller's credits to them.
    function withdraw(uint256 amount) external;

    function freeStake(address account) external view returns (uint256);
    function credits(address account) external view returns (uint256);

    // ---------------------------------------------------------------- audits

    /// @notice Pulls `amount` tokens from the caller into the audit pool, which pays the audit fees of single
    /// claims. Anyone may fund it; nobody can take tokens out of it except through answered audits.
    function fundAuditPool(uint256 amount) external;
    function auditPool() external view returns (uint256);

    /// @notice The audit policy new claims of `modelId` get: `batchManager.auditPolicy(modelId)`, set by the
    /// BatchManager's treasury for batches and claims alike (rate 0 and fee 0 without a BatchManager).
    function auditPolicy(bytes32 modelId) external view returns (uint16 rateBps, uint128 fee);

    /// @notice Draws the audit of a Submitted or Challenged claim (anyone; once block submittedBlock + 1 exists and
    /// for 256 blocks after).
    function drawAudit(Claim calldata claim) external;

    /// @notice Slashes a Submitted claim, its whole bond to the treasury's credits, when its audit selected it and it
    /// was not proven by the audit deadline, or its audit was never drawn and its seed is gone. Anyone may send it.
    /// An answered request opens again.
    function slashMissedAudit(Claim calldata claim) external;

    /// @notice The audit of a claim: status (Clear for a claim without one), block of submission, snapshotted rate
    /// and fee, and the audit deadline (end of the challenge window + proof window); zeros but Clear without one.
    function auditOf(bytes32 claimId)
        external
        view
        returns (AuditStatus audit, uint64 submittedBlock, uint16 rateBps, uint128 fee, uint64 deadline);

    // ---------------------------------------------------------------- commitments

    /// @notice Records that the caller committed to `commitment` in this block (see `hashCounterProof` and
    /// `hashAnswer`). Committing again to the same value moves it to the current block.
    function commit(bytes32 commitment) external;

    /// @notice Block in which `account` committed to `commitment`, zero if never (or already revealed).
    function commitments(address account, bytes32 commitment) external view returns (uint256 blockNumber);

    /// @notice What a counter-prover commits to: keccak256(abi.encode(claimId, outputs, proof)).
    function hashCounterProof(bytes32 claimId, int256[] calldata outputs, uint256[8] calldata proof)
        external
        pure
        returns (bytes32);

    /// @notice What a provider commits to before answering a request:
    /// keccak256(abi.encode(requestId, outputHash, bond, salt)), `salt` a secret random word (outputs such as a
    /// class index have so few values that without it the commitment could be guessed and raced).
    function hashAnswer(uint256 requestId, bytes32 outputHash, uint256 bond, bytes32 salt)
        external
        pure
        returns (bytes32);

    // ---------------------------------------------------------------- claims

    /// @notice Claims that `modelId` maps the input committed by `inputHash` to `outputs`, locking `bond` of the
    /// caller's free stake.
    /// @return claimId keccak256(abi.encode(Claim(modelId, msg.sender, inputHash, outputHash, bond, 0)))
    function submitClaim(
        bytes32 modelId,
        uint256 inputHash,
        int256[] calldata outputs,
        uint256 bond,
        bytes calldata inputData,
        string calldata inputURI
    ) external returns (bytes32 claimId);

    /// @notice Answers the open request `requestId` with a claim on its model and input, locking `bond` (at least
    /// the model's and the request's minimum). Reveals hashAnswer(requestId, keccak256(abi.encode(outputs)), bond,
    /// salt), which the caller must have committed to in an earlier block; the request may name its provider.
    /// @return claimId keccak256(abi.encode(Claim(modelId, msg.sender, inputHash, outputHash, bond, requestId)))
    function answerRequest(uint256 requestId, int256[] calldata outputs, uint256 bond, bytes32 salt)
        external
        returns (bytes32 claimId);

    /// @notice Disputes a Submitted claim inside its challenge window, locking the model's challenger bond from the
    /// caller's free stake. The deadline becomes now + proofWindow. An undrawn audit whose seed is readable is drawn
    /// here (AuditDrawn), so a provider skipping its draw cannot void the challenger's reward.
    function challenge(Claim calldata claim) external;

    /// @notice Settles a Submitted or Challenged claim as Proven with a Groth16 proof (anyone may send it).
    /// Public signals are built here from the claim and `outputs` (checked against outputHash):
    /// [packSigned(outputs, outputBits)..., inputHash, weightsCommitment].
    /// @param proof [a0, a1, b00, b01, b10, b11, c0, c1] exactly as snarkjs `exportSolidityCallData` prints them
    /// (b's coordinate pairs already swapped into the order the EVM pairing precompile expects).
    /// A Challenged claim must be proven before its proof deadline; a Submitted claim whose audit selected it, before
    /// its audit deadline (then AuditAnswered: the audit fee to the provider's credits; also when challenged). An
    /// undrawn audit is not drawn here: draw first to be paid. A claim whose audit was never drawn can still be proven
    /// while unslashed: a proof shows it true.
    function prove(Claim calldata claim, int256[] calldata outputs, uint256[8] calldata proof) external;

    /// @notice Slashes a live claim at once with a valid proof of different `outputs` for the same model and input.
    /// The slash reward goes to the challenger if the claim was challenged in an earlier block (it found the lie
    /// first), else to the caller (a challenge in this same block, a front-run of the reveal, only gets its bond
    /// back). Reveals
    /// hashCounterProof(claimId, outputs, proof), which the caller must have committed to in an earlier block.
    /// Allowed while Submitted inside its challenge window, or while Challenged.
    function counterProve(Claim calldata claim, int256[] calldata outputs, uint256[8] calldata proof) external;

    /// @notice Settles a Submitted claim whose challenge window has passed. `outputs` must be the claimed outputs
    /// (they hash to outputHash): an answered request's consumer receives them in its callback. An undrawn audit is
    /// drawn here (a pure function of its seed, so drawing here decides nothing); while the audit has selected the
    /// claim it reverts with AuditPending, and with AuditSeedGone once the seed is gone (see slashMissedAudit).
    function finalize(Claim calldata claim, int256[] calldata outputs) external;

    /// @notice Slashes a Challenged claim whose proof deadline has passed. No slash reward (all to the treasury, the
    /// challenger bond still back) if the claim's audit is pending (selected, or missed) and the challenge came after
    /// the audit's seed block; the same rule for counterProve, by the block of the reveal or of an earlier challenge.
    function slash(Claim calldata claim) external;

    /// @notice claimId of `claim`.
    function hashClaim(Claim calldata claim) external pure returns (bytes32);

    /// @notice Status, deadline (challenge window end while Submitted, proof deadline while Challenged) and
    /// challenger (zero unless challenged) of a claim.
    function claimState(bytes32 claimId)
        external
        view
        returns (ClaimStatus status, uint64 deadline, address challenger);

    /// @notice True iff `claim` settled valid (Finalized or Proven) and `outputs` are its outputs.
    function isSettledOutput(Claim calldata claim, int256[] calldata outputs) external view returns (bool);

    // ---------------------------------------------------------------- requests

    /// @notice Escrows `params.fee` from the caller and asks for an inference of `params.modelId` on the input
    /// `params.inputHash`, to be answered before `params.expiry`, optionally only by `params.provider` and with at
    /// least `params.minBond`. A non-zero `callbackGasLimit` makes the caller receive
    /// IOzkConsumer.onInferenceSettled (outputs, provider, bond) with that much gas when the answer settles.
    function requestInference(RequestParams calldata params, bytes calldata inputData, string calldata inputURI)
        external
        returns (uint256 requestId);

    /// @notice Credits the fee of an Open request back to its consumer once it has expired.
    function refundRequest(uint256 requestId) external;

    /// @notice Fulfils the Open, unexpired request `requestId` with the leaf at `index` of a Finalized batch of
    /// `batchManager`: the batch is of the request's model, its leaf holds the request's input hash and `outputs`
    /// (BatchManager.isSettledLeaf(batch, index, request.inputHash, outputs, path)), its provider is the provider the
    /// request names (a request naming none is refused: a batch's data is published by its provider alone, so a lie
    /// in a batch whose data was withheld could finalize unchecked; naming a provider is trusting it to publish), and
    /// its bond is at least the request's and the model's minimum bond; `outputs` have the model's length and range.
    /// Then as for an answering claim that settles: the fee less the protocol fee to the batch provider's credits
    /// (never to the caller), the protocol fee to the treasury, and the consumer callback
    /// with the same gas rules, given the batchId as `claimId` and the whole batch bond as `bond`. Anyone may send it;
    /// no commitment is needed since it pays the caller nothing. Emits RequestFulfilledFromBatch (with the outputs);
    /// claimOfRequest stays zero.
    function fulfillFromBatch(
        uint256 requestId,
        Batch calldata batch,
        uint256 index,
        int256[] calldata outputs,
        bytes32[] calldata path
    ) external;

    function getRequest(uint256 requestId) external view returns (Request memory);

    /// @notice The claim now answering `requestId` (the settled one once Fulfilled); zero if none, and for a request
    /// fulfilled from a batch (see RequestFulfilledFromBatch).
    function claimOfRequest(uint256 requestId) external view returns (bytes32);

    function requestCount() external view returns (uint256);
}

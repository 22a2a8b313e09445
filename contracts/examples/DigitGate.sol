// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IClaimManager} from "../interfaces/IClaimManager.sol";
import {IOzkConsumer} from "../interfaces/IOzkConsumer.sol";
import {Request, RequestParams, RequestStatus} from "../types/Claim.sol";

/// @title DigitGate
/// @notice Example ozk consumer: a gate that opens for whoever shows a handwritten `targetDigit` (7 by default).
/// The caller pays the request fee in the bond token; the gate asks a registered MNIST model for a classification
/// through the claim manager and acts on the settled answer in `onInferenceSettled`.
/// @dev The callback carries the settled logits (already checked by the manager against the claim's outputHash),
/// so the gate decides in the settling transaction: it opens for the requester iff their argmax is the target digit.
/// A slashed answer never reaches the gate: the manager reopens the request and only a settled answer calls back.
/// The manager guarantees the callback its full gas, so it fails only if this contract is wrong.
/// An unanswered request expires; `reclaim` refunds its fee to the requester.
contract DigitGate is IOzkConsumer {
    using SafeERC20 for IERC20;

    enum Phase {
        None,
        Pending, // requested, waiting for a settled answer
        Opened, // the answer was the target digit; the requester is in
        Rejected, // the answer was another digit
        Refunded // expired unanswered; the fee went back to the requester
    }

    struct Attempt {
        address requester;
        Phase phase;
        bytes32 outputHash;
    }

    /// @notice Gas the gate asks for its callback: an argmax over 10 logits, two storage writes (one new slot) and
    /// an event, with margin.
    uint24 public constant CALLBACK_GAS = 100_000;

    IClaimManager public immutable manager;
    IERC20 public immutable token;
    bytes32 public immutable modelId;
    uint256 public immutable targetDigit;

    mapping(uint256 requestId => Attempt) public attempts;
    /// @notice Accounts that showed the target digit.
    mapping(address account => bool) public isOpen;

    event AttemptRequested(uint256 indexed requestId, address indexed requester, uint256 inputHash, uint256 fee);
    event AttemptSettled(uint256 indexed requestId, bytes32 indexed claimId, bytes32 outputHash, uint256 digit);
    event GateOpened(uint256 indexed requestId, address indexed requester);
    event AttemptRejected(uint256 indexed requestId, address indexed requester, uint256 digit);
    event AttemptRefunded(uint256 indexed requestId, address indexed requester, uint256 fee);

    error NotManager(address caller);
    error UnknownAttempt(uint256 requestId);
    error WrongPhase(uint256 requestId, Phase phase);
    error NoOutputs();
    error NotRefundable(uint256 requestId, RequestStatus status);

    constructor(IClaimManager manager_, bytes32 modelId_, uint256 targetDigit_) {
        manager = manager_;
        token = manager_.token();
        modelId = modelId_;
        targetDigit = targetDigit_;
    }

    /// @notice Pulls `fee` from the caller and requests a classification of the quantized image committed by
    /// `inputHash` (published as `inputData` so providers and challengers can run it), answerable until `expiry`.
    function request(uint256 inputHash, bytes calldata inputData, uint256 fee, uint64 expiry)
        external
        returns (uint256 requestId)
    {
        token.safeTransferFrom(msg.sender, address(this), fee);
        token.forceApprove(address(manager), fee);
        requestId = manager.requestInference(
            RequestParams(modelId, inputHash, fee, expiry, CALLBACK_GAS, address(0), 0), inputData, ""
        );
        attempts[requestId] = Attempt({requester: msg.sender, phase: Phase.Pending, outputHash: bytes32(0)});
        emit AttemptRequested(requestId, msg.sender, inputHash, fee);
    }

    /// @inheritdoc IOzkConsumer
    /// @dev Opens the gate for the requester iff the settled argmax is `targetDigit`. Only the manager may call: it
    /// passes outputs that hash to the settled claim's outputHash.
    function onInferenceSettled(uint256 requestId, bytes32 claimId, int256[] calldata outputs, address, uint256)
        external
    {
        if (msg.sender != address(manager)) revert NotManager(msg.sender);
        Attempt storage a = attempts[requestId];
        // INVARIANT: the manager calls back once per request, and only for requests this gate made.
        if (a.phase != Phase.Pending) revert WrongPhase(requestId, a.phase);
        bytes32 outputHash = keccak256(abi.encode(outputs));
        a.outputHash = outputHash;
        uint256 digit = argmax(outputs);
        emit AttemptSettled(requestId, claimId, outputHash, digit);
        if (digit == targetDigit) {
            a.phase = Phase.Opened;
            isOpen[a.requester] = true;
            emit GateOpened(requestId, a.requester);
        } else {
            a.phase = Phase.Rejected;
            emit AttemptRejected(requestId, a.requester, digit);
        }
    }

    /// @notice Refunds the fee of an expired, unanswered request to its requester (asking the manager for the
    /// refund first if nobody has yet).
    function reclaim(uint256 requestId) external {
        Attempt storage a = attempts[requestId];
        if (a.phase == Phase.None) revert UnknownAttempt(requestId);
        if (a.phase != Phase.Pending) revert WrongPhase(requestId, a.phase);
        Request memory r = manager.getRequest(requestId);
        // refundRequest itself checks the request is Open and expired.
        if (r.status == RequestStatus.Open) manager.refundRequest(requestId);
        else if (r.status != RequestStatus.Refunded) revert NotRefundable(requestId, r.status);
        a.phase = Phase.Refunded;
        manager.withdraw(r.fee);
        token.safeTransfer(a.requester, r.fee);
        emit AttemptRefunded(requestId, a.requester, r.fee);
    }

    /// @notice Index of the largest value; the first one on ties (as the reference engine's argmax).
    function argmax(int256[] calldata xs) public pure returns (uint256 best) {
        if (xs.length == 0) revert NoOutputs();
        for (uint256 i = 1; i < xs.length; i++) {
            if (xs[i] > xs[best]) best = i;
        }
    }
}

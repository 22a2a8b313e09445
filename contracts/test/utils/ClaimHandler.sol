// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable const-name-snakecase, avoid-low-level-calls, max-line-length

import {Vm} from "./Vm.sol";
import {ClaimManager} from "../../ClaimManager.sol";
import {ModelRegistry} from "../../ModelRegistry.sol";
import {MockERC20} from "../../mocks/MockERC20.sol";
import {MockVerifier} from "../../mocks/MockVerifier.sol";
import {ConsumerBase, GasBurningConsumer, ReentrantConsumer} from "../../mocks/Consumers.sol";
import {Claim, ClaimStatus} from "../../types/Claim.sol";

/// @notice Drives ClaimManager with random actions by several actors for the invariant tests. Every action bounds
/// its inputs and swallows reverts, so the handler itself never reverts; ghost variables record what it did.
contract ClaimHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    ClaimManager public immutable manager;
    ModelRegistry public immutable registry;
    MockERC20 public immutable token;
    MockVerifier public immutable verifier;
    bytes32 public immutable modelId;
    address public immutable treasury;

    /// @dev EOAs that stake, claim, challenge, prove and request; then consumer contracts with callbacks.
    address[] public actors;
    ConsumerBase[] internal _consumers;
    Claim[] internal _claims;
    mapping(uint256 index => int256[]) internal _outputs;
    /// @dev Status a claim had when it settled; settled claims must never change again.
    mapping(bytes32 claimId => ClaimStatus) public settledAs;
    uint256 public minted;
    uint256 public time;
    mapping(bytes4 action => uint256) public calls;
    mapping(bytes4 action => uint256) public successes;

    uint256 internal constant OUTPUTS = 3;
    uint8 internal constant BITS = 16;

    constructor(ClaimManager manager_, ModelRegistry registry_, MockERC20 token_, MockVerifier verifier_, bytes32 modelId_) {
        manager = manager_;
        registry = registry_;
        token = token_;
        verifier = verifier_;
        modelId = modelId_;
        treasury = manager_.treasury();
        for (uint160 i = 1; i <= 4; ++i) actors.push(address(0xA000 + i));
        ReentrantConsumer reentrant = new ReentrantConsumer(manager_);
        reentrant.setPayload(abi.encodeCall(manager_.withdraw, (1)));
        _consumers.push(reentrant);
        _consumers.push(new GasBurningConsumer(manager_));
        time = block.timestamp;
    }

    // ------------------------------------------------------------ views for the invariants

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice Every address that can hold stake, credits or tokens: the actors, then the consumer contracts.
    function accounts() external view returns (address[] memory all) {
        all = new address[](actors.length + _consumers.length);
        for (uint256 i; i < actors.length; ++i) all[i] = actors[i];
        for (uint256 i; i < _consumers.length; ++i) all[actors.length + i] = address(_consumers[i]);
    }

    function claimCount() external view returns (uint256) {
        return _claims.length;
    }

    function claimAt(uint256 i) external view returns (Claim memory) {
        return _claims[i];
    }

    // ------------------------------------------------------------ actions

    function stake(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        amount = 1 + amount % 1e21;
        token.mint(a, amount);
        minted += amount;
        vm.prank(a);
        token.approve(address(manager), amount);
        vm.prank(a);
        _record(this.stake.selector, _try(abi.encodeCall(manager.stake, (amount))));
    }

    function unstake(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        uint256 free = manager.freeStake(a);
        amount = free == 0 ? 1 : 1 + amount % free;
        vm.prank(a);
        _record(this.unstake.selector, _try(abi.encodeCall(manager.unstake, (amount))));
    }

    function withdraw(uint256 actorSeed, uint256 amount, bool asTreasury) external {
        address a = asTreasury ? treasury : _actor(actorSeed);
        uint256 credit = manager.credits(a);
        amount = credit == 0 ? 1 : 1 + amount % credit;
        vm.prank(a);
        _record(this.withdraw.selector, _try(abi.encodeCall(manager.withdraw, (amount))));
    }

    function submit(uint256 actorSeed, uint256 inputSeed, uint256 outputSeed, uint256 bondExtra, uint256 requestSeed)
        external
    {
        address a = _actor(actorSeed);
        uint256 inputHash = 1 + inputSeed % 4; // few inputs, so claims on the same input collide and conflict
        int256[] memory outputs = new int256[](OUTPUTS);
        for (uint256 i; i < OUTPUTS; ++i) outputs[i] = int256(outputSeed >> (8 * i) & 0x3) - 2; // few distinct answers
        uint256 bond = 100e18 + bondExtra % 50e18;
        uint256 requestId;
        uint256 count = manager.requestCount();
        if (count != 0 && requestSeed % 2 == 0) {
            requestId = 1 + requestSeed % count;
            inputHash = manager.getRequest(requestId).inputHash;
        }
        vm.prank(a);
        bool ok = _try(abi.encodeCall(manager.submitClaim, (modelId, inputHash, outputs, bond, requestId, "", "")));
        _record(this.submit.selector, ok);
        if (ok) {
            _outputs[_claims.length] = outputs;
            _claims.push(Claim(modelId, a, inputHash, keccak256(abi.encode(outputs)), bond, requestId));
        }
    }

    function challenge(uint256 actorSeed, uint256 claimSeed) external {
        if (_claims.length == 0) return;
        address a = _actor(actorSeed);
        vm.prank(a);
        _record(this.challenge.selector, _try(abi.encodeCall(manager.challenge, (_claims[claimSeed % _claims.length]))));
    }

    function prove(uint256 actorSeed, uint256 claimSeed, bool proofValid) external {
        if (_claims.length == 0) return;
        uint256 i = claimSeed % _claims.length;
        verifier.setAnswer(proofValid);
        uint256[8] memory proof;
        vm.prank(_actor(actorSeed));
        bool ok = _try(abi.encodeCall(manager.prove, (_claims[i], _outputs[i], proof)));
        verifier.setAnswer(true);
        _record(this.prove.selector, ok);
        if (ok) settledAs[_id(i)] = ClaimStatus.Proven;
    }

    function counterProve(uint256 actorSeed, uint256 claimSeed, uint256 outputSeed) external {
        if (_claims.length == 0) return;
        uint256 i = claimSeed % _claims.length;
        int256[] memory other = new int256[](OUTPUTS);
        for (uint256 k; k < OUTPUTS; ++k) other[k] = int256(outputSeed >> (8 * k) & 0x3) - 2;
        uint256[8] memory proof;
        vm.prank(_actor(actorSeed));
        bool ok = _try(abi.encodeCall(manager.counterProve, (_claims[i], other, proof)));
        _record(this.counterProve.selector, ok);
        if (ok) settledAs[_id(i)] = ClaimStatus.Slashed;
    }

    function finalize(uint256 claimSeed) external {
        if (_claims.length == 0) return;
        uint256 i = claimSeed % _claims.length;
        bool ok = _try(abi.encodeCall(manager.finalize, (_claims[i])));
        _record(this.finalize.selector, ok);
        if (ok) settledAs[_id(i)] = ClaimStatus.Finalized;
    }

    function slash(uint256 claimSeed) external {
        if (_claims.length == 0) return;
        uint256 i = claimSeed % _claims.length;
        bool ok = _try(abi.encodeCall(manager.slash, (_claims[i])));
        _record(this.slash.selector, ok);
        if (ok) settledAs[_id(i)] = ClaimStatus.Slashed;
    }

    function request(uint256 actorSeed, uint256 inputSeed, uint256 fee, uint256 ttl) external {
        address a = _actor(actorSeed);
        fee = 1 + fee % 1e20;
        token.mint(a, fee);
        minted += fee;
        vm.prank(a);
        token.approve(address(manager), fee);
        vm.prank(a);
        uint64 expiry = uint64(block.timestamp + 1 + ttl % 3 days);
        _record(
            this.request.selector,
            _try(abi.encodeCall(manager.requestInference, (modelId, 1 + inputSeed % 4, fee, expiry, 0, "", "")))
        );
    }

    /// @dev A consumer contract (re-entering or gas-burning) asks with a callback.
    function requestWithCallback(uint256 consumerSeed, uint256 inputSeed, uint256 fee, uint256 ttl) external {
        ConsumerBase consumer = _consumers[consumerSeed % _consumers.length];
        fee = 1 + fee % 1e20;
        token.mint(address(consumer), fee);
        minted += fee;
        uint64 expiry = uint64(block.timestamp + 1 + ttl % 3 days);
        bool ok;
        try consumer.request(modelId, 1 + inputSeed % 4, fee, expiry, 30_000) {
            ok = true;
        } catch {}
        _record(this.requestWithCallback.selector, ok);
    }

    function refund(uint256 requestSeed) external {
        uint256 count = manager.requestCount();
        if (count == 0) return;
        _record(this.refund.selector, _try(abi.encodeCall(manager.refundRequest, (1 + requestSeed % count))));
    }

    function warp(uint256 dt) external {
        time += 1 + dt % 2 hours;
        vm.warp(time);
    }

    // ------------------------------------------------------------ helpers

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _id(uint256 i) internal view returns (bytes32) {
        return keccak256(abi.encode(_claims[i]));
    }

    function _try(bytes memory data) internal returns (bool ok) {
        (ok,) = address(manager).call(data);
    }

    function _record(bytes4 action, bool ok) internal {
        calls[action] += 1;
        if (ok) successes[action] += 1;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable const-name-snakecase, avoid-low-level-calls, max-line-length

import {Vm} from "./Vm.sol";
import {ClaimManager} from "../../ClaimManager.sol";
import {ModelRegistry} from "../../ModelRegistry.sol";
import {MockERC20} from "../../mocks/MockERC20.sol";
import {MockVerifier} from "../../mocks/MockVerifier.sol";
import {ConsumerBase, GasBurningConsumer, ReentrantConsumer} from "../../mocks/Consumers.sol";
import {Claim, ClaimStatus, RequestParams} from "../../types/Claim.sol";

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
    uint256 public blockNumber;
    /// @dev Times a copied (replayed) counter-proof or request answer was accepted: must stay zero.
    uint256 public copiesAccepted;

    /// @dev A counter-proof or request answer committed to and not yet revealed.
    struct Pending {
        address actor;
        bool isAnswer;
        uint256 claimIndex; // counter-proof: the claim it disputes
        uint256 requestId; // answer: the request it answers
        int256[] outputs;
        uint256 bond; // answer only
        bytes32 salt; // answer only
    }

    Pending[] internal _pending;

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
        blockNumber = block.number;
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

    function submit(uint256 actorSeed, uint256 inputSeed, uint256 outputSeed, uint256 bondExtra) external {
        address a = _actor(actorSeed);
        uint256 inputHash = 1 + inputSeed % 4; // few inputs, so claims on the same input collide and conflict
        int256[] memory outputs = _someOutputs(outputSeed);
        uint256 bond = 100e18 + bondExtra % 50e18;
        vm.prank(a);
        bool ok = _try(abi.encodeCall(manager.submitClaim, (modelId, inputHash, outputs, bond, "", "")));
        _record(this.submit.selector, ok);
        if (ok) _pushClaim(Claim(modelId, a, inputHash, keccak256(abi.encode(outputs)), bond, 0), outputs);
    }

    /// @dev Commits to an answer of an existing request (revealed later by `answer`).
    function commitAnswer(uint256 actorSeed, uint256 requestSeed, uint256 outputSeed, uint256 bondExtra) external {
        uint256 count = manager.requestCount();
        if (count == 0) return;
        address a = _actor(actorSeed);
        uint256 requestId = 1 + requestSeed % count;
        int256[] memory outputs = _someOutputs(outputSeed);
        uint256 bond = 100e18 + bondExtra % 50e18;
        bytes32 salt = keccak256(abi.encode(a, requestSeed, _pending.length));
        bytes32 commitment = manager.hashAnswer(requestId, keccak256(abi.encode(outputs)), bond, salt);
        vm.prank(a); // (after the hash: a prank applies to the very next call)
        bool ok = _try(abi.encodeCall(manager.commit, (commitment)));
        _record(this.commitAnswer.selector, ok);
        if (ok) _pending.push(Pending(a, true, 0, requestId, outputs, bond, salt));
    }

    /// @dev Commits to a counter-proof of an existing claim (revealed later by `revealCounterProof`).
    function commitCounterProof(uint256 actorSeed, uint256 claimSeed, uint256 outputSeed) external {
        if (_claims.length == 0) return;
        address a = _actor(actorSeed);
        uint256 i = claimSeed % _claims.length;
        int256[] memory other = _someOutputs(outputSeed);
        uint256[8] memory proof;
        bytes32 commitment = manager.hashCounterProof(_id(i), other, proof);
        vm.prank(a);
        bool ok = _try(abi.encodeCall(manager.commit, (commitment)));
        _record(this.commitCounterProof.selector, ok);
        if (ok) _pending.push(Pending(a, false, i, 0, other, 0, bytes32(0)));
    }

    /// @dev Reveals a pending answer (answerRequest) from the actor that committed to it.
    function answer(uint256 pendingSeed) external {
        (bool found, uint256 k) = _findPending(pendingSeed, true);
        if (!found) return;
        Pending storage p = _pending[k];
        vm.prank(p.actor);
        bool ok = _try(abi.encodeCall(manager.answerRequest, (p.requestId, p.outputs, p.bond, p.salt)));
        _record(this.answer.selector, ok);
        if (ok) {
            Claim memory c = Claim(
                modelId,
                p.actor,
                manager.getRequest(p.requestId).inputHash,
                keccak256(abi.encode(p.outputs)),
                p.bond,
                p.requestId
            );
            _pushClaim(c, p.outputs);
        }
    }

    /// @dev Reveals a pending counter-proof from the actor that committed to it.
    function revealCounterProof(uint256 pendingSeed, bool proofValid) external {
        (bool found, uint256 k) = _findPending(pendingSeed, false);
        if (!found) return;
        Pending storage p = _pending[k];
        uint256[8] memory proof;
        verifier.setAnswer(proofValid);
        vm.prank(p.actor);
        bool ok = _try(abi.encodeCall(manager.counterProve, (_claims[p.claimIndex], p.outputs, proof)));
        verifier.setAnswer(true);
        _record(this.revealCounterProof.selector, ok);
        if (ok) settledAs[_id(p.claimIndex)] = ClaimStatus.Slashed;
    }

    /// @dev Another actor replays a pending reveal's calldata (a mempool copier). Unless the copier happens to hold
    /// its own earlier commitment to the very same thing, this must fail.
    function copyPending(uint256 actorSeed, uint256 pendingSeed) external {
        if (_pending.length == 0) return;
        Pending storage p = _pending[pendingSeed % _pending.length];
        address copier = _actor(actorSeed);
        if (copier == p.actor) copier = _actor(actorSeed + 1);
        bytes memory data;
        bytes32 commitment;
        if (p.isAnswer) {
            data = abi.encodeCall(manager.answerRequest, (p.requestId, p.outputs, p.bond, p.salt));
            commitment = manager.hashAnswer(p.requestId, keccak256(abi.encode(p.outputs)), p.bond, p.salt);
        } else {
            uint256[8] memory proof;
            data = abi.encodeCall(manager.counterProve, (_claims[p.claimIndex], p.outputs, proof));
            commitment = manager.hashCounterProof(_id(p.claimIndex), p.outputs, proof);
        }
        uint256 own = manager.commitments(copier, commitment);
        bool ownEarlierCommitment = own != 0 && own < block.number;
        vm.prank(copier);
        bool ok = _try(data);
        _record(this.copyPending.selector, !ok);
        if (ok && !ownEarlierCommitment) copiesAccepted += 1;
        if (ok && !p.isAnswer) settledAs[_id(p.claimIndex)] = ClaimStatus.Slashed;
        if (ok && p.isAnswer) {
            _pushClaim(
                Claim(
                    modelId,
                    copier,
                    manager.getRequest(p.requestId).inputHash,
                    keccak256(abi.encode(p.outputs)),
                    p.bond,
                    p.requestId
                ),
                p.outputs
            );
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

    function finalize(uint256 claimSeed) external {
        if (_claims.length == 0) return;
        uint256 i = claimSeed % _claims.length;
        bool ok = _try(abi.encodeCall(manager.finalize, (_claims[i], _outputs[i])));
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

    function fundPool(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        amount = 1 + amount % 20e18;
        token.mint(a, amount);
        minted += amount;
        vm.prank(a);
        token.approve(address(manager), amount);
        vm.prank(a);
        _record(this.fundPool.selector, _try(abi.encodeCall(manager.fundAuditPool, (amount))));
    }

    function draw(uint256 actorSeed, uint256 claimSeed) external {
        if (_claims.length == 0) return;
        vm.prank(_actor(actorSeed));
        _record(this.draw.selector, _try(abi.encodeCall(manager.drawAudit, (_claims[claimSeed % _claims.length]))));
    }

    function slashMissed(uint256 claimSeed) external {
        if (_claims.length == 0) return;
        uint256 i = claimSeed % _claims.length;
        bool ok = _try(abi.encodeCall(manager.slashMissedAudit, (_claims[i])));
        _record(this.slashMissed.selector, ok);
        if (ok) settledAs[_id(i)] = ClaimStatus.Slashed;
    }

    /// @dev A plain request, or (restrictSeed % 3 == 0) one that names its provider and a minimum bond.
    function request(uint256 actorSeed, uint256 inputSeed, uint256 fee, uint256 ttl, uint256 restrictSeed)
        external
    {
        address a = _actor(actorSeed);
        RequestParams memory p;
        p.modelId = modelId;
        p.inputHash = 1 + inputSeed % 4;
        p.fee = 1 + fee % 1e20;
        p.expiry = uint64(block.timestamp + 1 + ttl % 3 days);
        if (restrictSeed % 3 == 0) {
            p.provider = _actor(restrictSeed >> 8);
            p.minBond = uint96((restrictSeed >> 16) % 2 == 0 ? 0 : 120e18);
        }
        fee = p.fee;
        token.mint(a, fee);
        minted += fee;
        vm.prank(a);
        token.approve(address(manager), fee);
        vm.prank(a);
        _record(this.request.selector, _try(abi.encodeCall(manager.requestInference, (p, "", ""))));
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

    /// @dev Moves time forward by up to two hours, in a new block.
    function warp(uint256 dt) external {
        time += 1 + dt % 2 hours;
        vm.warp(time);
        _nextBlock();
    }

    /// @dev A new block a few seconds later: commitments of earlier blocks become revealable.
    function nextBlock() external {
        time += 12;
        vm.warp(time);
        _nextBlock();
    }

    /// @dev Many blocks at once: audit seeds of older claims are gone.
    function skipBlocks(uint256 n) external {
        n = 1 + n % 300;
        time += 12 * n;
        vm.warp(time);
        _nextBlocks(n);
    }

    // ------------------------------------------------------------ helpers

    function _nextBlock() internal {
        _nextBlocks(1);
    }

    /// @dev Advances the block number; the blocks left behind get hashes (the runner gives rolled blocks none), so
    /// audits can be drawn from them while they are at most 256 blocks old.
    function _nextBlocks(uint256 n) internal {
        uint256 from = blockNumber;
        blockNumber += n;
        vm.roll(blockNumber);
        uint256 start = blockNumber > 256 && blockNumber - 256 > from ? blockNumber - 256 : from;
        for (uint256 k = start; k < blockNumber; ++k) vm.setBlockhash(k, keccak256(abi.encode("block", k)));
    }

    function _someOutputs(uint256 seed) internal pure returns (int256[] memory outputs) {
        outputs = new int256[](OUTPUTS);
        for (uint256 i; i < OUTPUTS; ++i) outputs[i] = int256(seed >> (8 * i) & 0x3) - 2; // few distinct answers
    }

    function _pushClaim(Claim memory c, int256[] memory outputs) internal {
        _outputs[_claims.length] = outputs;
        _claims.push(c);
    }

    /// @dev Index of a pending entry of the wanted kind, searching from `seed`; consumed reveals are kept (revealing
    /// twice must fail too).
    function _findPending(uint256 seed, bool isAnswer) internal view returns (bool found, uint256 index) {
        uint256 n = _pending.length;
        for (uint256 t; t < n; ++t) {
            index = (seed + t) % n;
            if (_pending[index].isAnswer == isAnswer) return (true, index);
        }
    }

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

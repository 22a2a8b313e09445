// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable const-name-snakecase, avoid-low-level-calls, max-line-length

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {Vm} from "./Vm.sol";
import {BatchManager} from "../../BatchManager.sol";
import {MockERC20} from "../../mocks/MockERC20.sol";
import {Batch, BatchStatus} from "../../types/Batch.sol";

/// @notice Drives BatchManager with random actions by several actors for the invariant tests. Batches hold 4 claims;
/// some positions hold garbage leaves nobody can prove (a lie with no data). Every action bounds its inputs and
/// swallows reverts, so the handler itself never reverts; ghost variables record what it did.
contract BatchHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    BatchManager public immutable manager;
    MockERC20 public immutable token;
    bytes32 public immutable modelId;
    address public immutable treasury;

    uint256 internal constant OUTPUTS = 3;
    uint256 internal constant SIZE = 4;

    address[] public actors;
    Batch[] internal _batches;
    /// @dev Per batch: the 4 leaf hashes, the data of each position (inputHash, outputs seed) and whether it is real.
    mapping(uint256 batch => bytes32[4]) internal _leafHashes;
    mapping(uint256 batch => uint256[4]) internal _inputs;
    mapping(uint256 batch => uint256[4]) internal _outputSeeds;
    mapping(uint256 batch => bool[4]) internal _real;
    /// @dev Status a batch had when it settled; settled batches must never change again.
    mapping(bytes32 batchId => BatchStatus) public settledAs;

    struct Pending {
        address actor;
        uint256 batch;
        uint256 index;
        int256[] outputs;
    }

    Pending[] internal _pending;

    uint256 public minted;
    uint256 public time;
    uint256 public blockNumber;
    mapping(bytes4 action => uint256) public calls;
    mapping(bytes4 action => uint256) public successes;

    constructor(BatchManager manager_, MockERC20 token_, bytes32 modelId_) {
        manager = manager_;
        token = token_;
        modelId = modelId_;
        treasury = manager_.treasury();
        for (uint160 i = 1; i <= 4; ++i) actors.push(address(0xB000 + i));
        time = block.timestamp;
        blockNumber = block.number;
    }

    // ------------------------------------------------------------ views for the invariants

    function accounts() external view returns (address[] memory) {
        return actors;
    }

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batchAt(uint256 i) external view returns (Batch memory) {
        return _batches[i];
    }

    // ------------------------------------------------------------ actions

    function stake(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        amount = 1 + amount % 1e21;
        _mint(a, amount);
        vm.prank(a);
        _record(this.stake.selector, _try(abi.encodeCall(manager.stake, (amount))));
    }

    function fundPool(uint256 actorSeed, uint256 amount) external {
        address a = _actor(actorSeed);
        amount = 1 + amount % 20e18;
        _mint(a, amount);
        vm.prank(a);
        _record(this.fundPool.selector, _try(abi.encodeCall(manager.fundAuditPool, (amount))));
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

    function setPolicy(uint256 rateSeed, uint256 fee) external {
        uint16 rate = [uint16(0), 5000, 10_000][rateSeed % 3];
        vm.prank(treasury);
        _record(
            this.setPolicy.selector, _try(abi.encodeCall(manager.setAuditPolicy, (modelId, rate, uint128(fee % 30e18))))
        );
    }

    /// @dev A batch of 4 claims; bit i of `garbageMask` puts a garbage leaf (no data) at position i.
    function submit(uint256 actorSeed, uint256 seed, uint256 garbageMask, uint256 bondExtra) external {
        address a = _actor(actorSeed);
        uint256 n = _batches.length;
        bytes32[4] memory leaves;
        for (uint256 i; i < SIZE; ++i) {
            bool real = (garbageMask >> i) & 1 == 0;
            uint256 inputHash = 1 + (seed + i) % 5;
            uint256 outSeed = seed >> 8;
            leaves[i] = real
                ? keccak256(bytes.concat(keccak256(abi.encode(modelId, inputHash, _outputsHash(outSeed), i))))
                : keccak256(abi.encode("garbage", seed, i));
            _real[n][i] = real;
            _inputs[n][i] = inputHash;
            _outputSeeds[n][i] = outSeed;
        }
        _leafHashes[n] = leaves;
        bytes32 root = Hashes.efficientKeccak256(
            Hashes.efficientKeccak256(leaves[0], leaves[1]), Hashes.efficientKeccak256(leaves[2], leaves[3])
        );
        uint256 bond = 100e18 + bondExtra % 50e18;
        (uint16 rate, uint128 fee) = manager.auditPolicy(modelId);
        vm.prank(a);
        bool ok = _try(abi.encodeCall(manager.submitBatch, (modelId, root, uint32(SIZE), bond, "")));
        _record(this.submit.selector, ok);
        if (ok) _batches.push(Batch(modelId, a, root, uint32(SIZE), bond, rate, fee));
    }

    function challenge(uint256 actorSeed, uint256 batchSeed, uint256 index) external {
        if (_batches.length == 0) return;
        address a = _actor(actorSeed);
        vm.prank(a);
        _record(
            this.challenge.selector,
            _try(abi.encodeCall(manager.challengeLeaf, (_batches[batchSeed % _batches.length], index % (SIZE + 1))))
        );
    }

    function prove(uint256 actorSeed, uint256 batchSeed, uint256 index) external {
        if (_batches.length == 0) return;
        uint256 b = batchSeed % _batches.length;
        index %= SIZE;
        if (!_real[b][index]) return;
        uint256[8] memory proof;
        vm.prank(_actor(actorSeed));
        _record(
            this.prove.selector,
            _try(
                abi.encodeCall(
                    manager.proveLeaf,
                    (_batches[b], index, _inputs[b][index], _outputs(_outputSeeds[b][index]), _path(b, index), proof)
                )
            )
        );
    }

    function commitCounterProof(uint256 actorSeed, uint256 batchSeed, uint256 index, uint256 outputSeed) external {
        if (_batches.length == 0) return;
        uint256 b = batchSeed % _batches.length;
        index %= SIZE;
        if (!_real[b][index]) return;
        address a = _actor(actorSeed);
        int256[] memory outputs = _outputs(outputSeed);
        uint256[8] memory proof;
        bytes32 c = manager.hashCounterProof(keccak256(abi.encode(_batches[b])), index, _inputs[b][index], outputs, proof);
        vm.prank(a);
        bool ok = _try(abi.encodeCall(manager.commit, (c)));
        _record(this.commitCounterProof.selector, ok);
        if (ok) _pending.push(Pending(a, b, index, outputs));
    }

    function revealCounterProof(uint256 pendingSeed) external {
        if (_pending.length == 0) return;
        Pending memory p = _pending[pendingSeed % _pending.length];
        uint256[8] memory proof;
        vm.prank(p.actor);
        bool ok = _try(
            abi.encodeCall(
                manager.counterProveLeaf,
                (
                    _batches[p.batch],
                    p.index,
                    _inputs[p.batch][p.index],
                    _outputsHash(_outputSeeds[p.batch][p.index]),
                    _path(p.batch, p.index),
                    p.outputs,
                    proof
                )
            )
        );
        _record(this.revealCounterProof.selector, ok);
        _settled(p.batch);
    }

    function slash(uint256 batchSeed, uint256 index) external {
        if (_batches.length == 0) return;
        uint256 b = batchSeed % _batches.length;
        _record(this.slash.selector, _try(abi.encodeCall(manager.slashBatch, (_batches[b], index % SIZE))));
        _settled(b);
    }

    function draw(uint256 batchSeed) external {
        if (_batches.length == 0) return;
        _record(this.draw.selector, _try(abi.encodeCall(manager.drawAudit, (_batches[batchSeed % _batches.length]))));
    }

    function slashMissed(uint256 batchSeed) external {
        if (_batches.length == 0) return;
        uint256 b = batchSeed % _batches.length;
        _record(this.slashMissed.selector, _try(abi.encodeCall(manager.slashMissedAudit, (_batches[b]))));
        _settled(b);
    }

    function finalize(uint256 batchSeed) external {
        if (_batches.length == 0) return;
        uint256 b = batchSeed % _batches.length;
        _record(this.finalize.selector, _try(abi.encodeCall(manager.finalizeBatch, (_batches[b]))));
        _settled(b);
    }

    function reclaim(uint256 batchSeed, uint256 index) external {
        if (_batches.length == 0) return;
        _record(
            this.reclaim.selector,
            _try(abi.encodeCall(manager.reclaimChallengerBond, (_batches[batchSeed % _batches.length], index % SIZE)))
        );
    }

    function warp(uint256 dt) external {
        time += 1 + dt % 2 hours;
        vm.warp(time);
        _nextBlocks(1);
    }

    function nextBlock() external {
        time += 12;
        vm.warp(time);
        _nextBlocks(1);
    }

    /// @dev Many blocks at once: audit seeds of older batches are gone.
    function skipBlocks(uint256 n) external {
        n = 1 + n % 300;
        time += 12 * n;
        vm.warp(time);
        _nextBlocks(n);
    }

    // ------------------------------------------------------------ helpers

    /// @dev Advances the block number; the block just left gets a hash (the runner gives rolled blocks none).
    function _nextBlocks(uint256 n) internal {
        uint256 from = blockNumber;
        blockNumber += n;
        vm.roll(blockNumber);
        uint256 start = blockNumber > 256 && blockNumber - 256 > from ? blockNumber - 256 : from;
        for (uint256 k = start; k < blockNumber; ++k) vm.setBlockhash(k, keccak256(abi.encode("block", k)));
    }

    function _mint(address a, uint256 amount) internal {
        token.mint(a, amount);
        minted += amount;
        vm.prank(a);
        token.approve(address(manager), amount);
    }

    function _outputs(uint256 seed) internal pure returns (int256[] memory outputs) {
        outputs = new int256[](OUTPUTS);
        for (uint256 i; i < OUTPUTS; ++i) outputs[i] = int256((seed >> (8 * i)) % 200) - 100;
    }

    function _outputsHash(uint256 seed) internal pure returns (bytes32) {
        return keccak256(abi.encode(_outputs(seed)));
    }

    function _path(uint256 b, uint256 index) internal view returns (bytes32[] memory path) {
        bytes32[4] memory leaves = _leafHashes[b];
        path = new bytes32[](2);
        path[0] = leaves[index ^ 1];
        path[1] = index < 2 ? Hashes.efficientKeccak256(leaves[2], leaves[3]) : Hashes.efficientKeccak256(leaves[0], leaves[1]);
    }

    function _settled(uint256 b) internal {
        bytes32 id = keccak256(abi.encode(_batches[b]));
        (BatchStatus status,,,,,) = manager.batchState(id);
        if (status == BatchStatus.Finalized || status == BatchStatus.Slashed) {
            if (settledAs[id] == BatchStatus.None) settledAs[id] = status;
        }
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _try(bytes memory data) internal returns (bool ok) {
        (ok,) = address(manager).call(data);
    }

    function _record(bytes4 action, bool ok) internal {
        calls[action] += 1;
        if (ok) successes[action] += 1;
    }
}

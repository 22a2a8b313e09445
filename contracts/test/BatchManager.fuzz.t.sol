// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable func-name-mixedcase, max-line-length, function-max-lines

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {TestBase} from "./utils/Vm.sol";
import {BatchManager} from "../BatchManager.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {AuditStatus, Batch, BatchStatus} from "../types/Batch.sol";
import {ExampleProof, ModelParams, SetupKind} from "../types/Model.sol";

/// @notice Fuzzed batches: for any size and index the position-bound tree built here is the one the contract
/// accepts, and no other position, path length or leaf passes; every slash path splits the bond exactly; the audit
/// draw is the documented formula of the seed.
contract BatchManagerFuzzTest is TestBase {
    address internal constant PROVIDER = address(0xB0B);
    address internal constant CHALLENGER = address(0xC0C);
    address internal constant COUNTER = address(0xC0DE);
    address internal constant TREASURY = address(0x7EA5);
    uint128 internal constant CHALLENGER_BOND = 7e18 + 13;

    MockERC20 internal token;
    ModelRegistry internal registry;
    bytes32 internal modelId;

    function setUp() public {
        token = new MockERC20();
        registry = new ModelRegistry();
        MockVerifier verifier = new MockVerifier();
        uint256[8] memory proof;
        modelId = registry.registerModel(
            ModelParams({
                verifier: address(verifier),
                weightsCommitment: 5,
                artifactHash: keccak256("batch fuzz model"),
                inputLength: 1,
                outputLength: 2,
                outputBits: 8,
                challengeWindow: 100,
                proofWindow: 200,
                minProviderBond: 1,
                minChallengerBond: CHALLENGER_BOND,
                setupKind: SetupKind.UnsafeDev,
                metadataURI: ""
            }),
            ExampleProof({inputHash: 1, outputs: new int256[](2), proof: proof})
        );
    }

    function _fund(BatchManager m, address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(m), amount);
        vm.prank(who);
        m.stake(amount);
    }

    function _outputs(uint256 i) internal pure returns (int256[] memory o) {
        o = new int256[](2);
        o[0] = int256(i % 100);
        o[1] = -int256(i % 7);
    }

    function _leaf(uint256 i) internal view returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(modelId, 10 + i, keccak256(abi.encode(_outputs(i))), i))));
    }

    /// @dev The tree of `size` leaves padded with zeros to 2^depth, level by level; the path of `index`.
    function _tree(uint256 size, uint256 index) internal view returns (bytes32 root, bytes32[] memory path) {
        uint256 depth;
        while ((1 << depth) < size) ++depth;
        bytes32[] memory level = new bytes32[](1 << depth);
        for (uint256 i; i < size; ++i) level[i] = _leaf(i);
        path = new bytes32[](depth);
        for (uint256 d; d < depth; ++d) {
            path[d] = level[(index >> d) ^ 1];
            bytes32[] memory next = new bytes32[](level.length / 2);
            for (uint256 i; i < next.length; ++i) next[i] = Hashes.efficientKeccak256(level[2 * i], level[2 * i + 1]);
            level = next;
        }
        root = level[0];
    }

    /// Any size up to 70 and any index: the leaf verifies at its index and nowhere else, only with exactly depth
    /// siblings.
    function testFuzz_positionBoundTree(uint256 size, uint256 index) public {
        size = 1 + size % 70;
        index = index % size;
        BatchManager m = new BatchManager(token, IModelRegistry(address(registry)), TREASURY, 0, 0, 0, 0);
        _fund(m, PROVIDER, 1e18);
        (bytes32 root, bytes32[] memory path) = _tree(size, index);
        vm.prank(PROVIDER);
        m.submitBatch(modelId, root, uint32(size), 1, "");
        Batch memory b = Batch(modelId, PROVIDER, root, uint32(size), 1, 0, 0);
        vm.warp(block.timestamp + 100);
        m.finalizeBatch(b);
        int256[] memory outputs = _outputs(index);
        assertTrue(m.isSettledLeaf(b, index, 10 + index, outputs, path), "the leaf at its index");
        assertTrue(!m.isSettledLeaf(b, index + 1, 10 + index, outputs, path), "the leaf at the next index");
        if (index > 0) assertTrue(!m.isSettledLeaf(b, index - 1, 10 + index, outputs, path), "at the previous index");
        assertTrue(!m.isSettledLeaf(b, index, 11 + index, outputs, path), "another input");
        bytes32[] memory longer = new bytes32[](path.length + 1);
        for (uint256 k; k < path.length; ++k) longer[k] = path[k];
        assertTrue(!m.isSettledLeaf(b, index, 10 + index, outputs, longer), "a longer path");
        if (path.length > 0) {
            bytes32[] memory shorter = new bytes32[](path.length - 1);
            for (uint256 k; k < shorter.length; ++k) shorter[k] = path[k + 1];
            assertTrue(!m.isSettledLeaf(b, index, 10 + index, outputs, shorter), "a shorter path");
            path[path.length - 1] ^= bytes32(uint256(1));
            assertTrue(!m.isSettledLeaf(b, index, 10 + index, outputs, path), "a wrong sibling");
        }
    }

    /// @param path 0 slashBatch after the proof deadline, 1 counter-proof over a challenge from an earlier block,
    /// 2 counter-proof of an unchallenged leaf, 3 missed audit
    function testFuzz_slashSplitsExactly(uint16 feeBps, uint16 rewardBps, uint128 bond, uint8 path) public {
        feeBps = uint16(feeBps % 10_001);
        rewardBps = uint16(rewardBps % 5001);
        bond = uint128(1 + bond % 1e30);
        path = path % 4;
        BatchManager m = new BatchManager(
            token, IModelRegistry(address(registry)), TREASURY, feeBps, rewardBps, path == 3 ? 10_000 : 0, 0
        );
        _fund(m, PROVIDER, bond);
        _fund(m, CHALLENGER, CHALLENGER_BOND);
        (bytes32 root, bytes32[] memory proofPath) = _tree(3, 1);
        vm.prank(PROVIDER);
        m.submitBatch(modelId, root, 3, bond, "");
        Batch memory b = Batch(modelId, PROVIDER, root, 3, bond, path == 3 ? 10_000 : 0, 0);
        uint256[8] memory proof;
        if (path < 2) {
            vm.prank(CHALLENGER);
            m.challengeLeaf(b, 1);
        }
        if (path == 0) {
            vm.warp(block.timestamp + 200);
            m.slashBatch(b, 1);
        } else if (path < 3) {
            int256[] memory other = _outputs(5);
            bytes32 commitment = m.hashCounterProof(keccak256(abi.encode(b)), 1, 11, other, proof);
            vm.prank(COUNTER);
            m.commit(commitment);
            vm.roll(block.number + 1);
            vm.warp(block.timestamp + 1);
            vm.prank(COUNTER);
            m.counterProveLeaf(b, 1, 11, keccak256(abi.encode(_outputs(1))), proofPath, other, proof);
        } else {
            vm.roll(block.number + 300);
            m.slashMissedAudit(b);
        }
        (BatchStatus status,,,,,) = m.batchState(keccak256(abi.encode(b)));
        assertTrue(status == BatchStatus.Slashed, "slashed");
        uint256 total = m.freeStake(PROVIDER) + m.freeStake(CHALLENGER) + m.freeStake(COUNTER) + m.credits(TREASURY);
        assertEq(token.balanceOf(address(m)), total, "slash leaked or created value");
        assertEq(total, uint256(bond) + CHALLENGER_BOND, "total changed");
        uint256 reward = path == 3 ? 0 : uint256(bond) * rewardBps / 10_000;
        assertEq(m.credits(TREASURY), bond - reward, "treasury share");
        if (path < 2) assertEq(m.freeStake(CHALLENGER), CHALLENGER_BOND + reward, "first challenger: bond + reward");
        if (path == 2) assertEq(m.freeStake(COUNTER), reward, "counter-prover: the reward");
        assertEq(m.freeStake(PROVIDER), 0, "the cheater keeps nothing of its bond");
        assertTrue(2 * (bond - reward) >= bond, "a caught cheater keeps more than half");
    }

    /// The draw is keccak256(seed, batchId): selected iff r % 10000 < rate, index (r >> 128) % size.
    function testFuzz_auditDraw(uint16 rate, bytes32 seed, uint256 size) public {
        rate = uint16(1 + rate % 10_000);
        size = 1 + size % 1000;
        vm.assume(seed != bytes32(0));
        BatchManager m = new BatchManager(token, IModelRegistry(address(registry)), TREASURY, 0, 0, rate, 0);
        _fund(m, PROVIDER, 1e18);
        vm.prank(PROVIDER);
        m.submitBatch(modelId, keccak256("root"), uint32(size), 1, "");
        Batch memory b = Batch(modelId, PROVIDER, keccak256("root"), uint32(size), 1, rate, 0);
        bytes32 id = keccak256(abi.encode(b));
        vm.roll(block.number + 2);
        vm.setBlockhash(block.number - 1, seed);
        m.drawAudit(b);
        uint256 r = uint256(keccak256(abi.encode(seed, id)));
        (,,,, AuditStatus audit, uint32 index) = m.batchState(id);
        if (r % 10_000 < rate) {
            assertTrue(audit == AuditStatus.Selected, "selected");
            assertEq(index, (r >> 128) % size, "index");
        } else {
            assertTrue(audit == AuditStatus.Clear, "clear");
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable func-name-mixedcase, max-line-length, function-max-lines

import {TestBase} from "./utils/Vm.sol";
import {BatchHandler} from "./utils/BatchHandler.sol";
import {BatchManager} from "../BatchManager.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {AuditStatus, Batch, BatchStatus, LeafStatus} from "../types/Batch.sol";
import {ExampleProof, ModelParams, SetupKind} from "../types/Model.sol";

/// @notice Invariants of BatchManager (contracts/PROPERTIES.md, batches) over random sequences of every action by
/// several actors: stakes, the audit pool, batches with unprovable positions, challenges, proofs, counter-proofs,
/// audits drawn, answered and missed, slashes, reclaims, finalization, time and blocks.
contract BatchManagerInvariants is TestBase {
    BatchHandler internal handler;
    BatchManager internal manager;
    MockERC20 internal token;
    address internal constant TREASURY = address(0x7EA5);
    uint256 internal constant CHALLENGER_BOND = 10e18;

    function setUp() public {
        token = new MockERC20();
        ModelRegistry registry = new ModelRegistry();
        MockVerifier verifier = new MockVerifier();
        uint256[8] memory proof;
        bytes32 modelId = registry.registerModel(
            ModelParams({
                verifier: address(verifier),
                weightsCommitment: 1,
                artifactHash: keccak256("batch invariant model"),
                inputLength: 4,
                outputLength: 3,
                outputBits: 16,
                challengeWindow: 1 hours,
                proofWindow: 2 hours,
                minProviderBond: 100e18,
                minChallengerBond: uint128(CHALLENGER_BOND),
                setupKind: SetupKind.UnsafeDev,
                metadataURI: ""
            }),
            ExampleProof({inputHash: 1, outputs: new int256[](3), proof: proof})
        );
        manager = new BatchManager(token, IModelRegistry(address(registry)), TREASURY, 500, 5000, 5000, 3e18);
        handler = new BatchHandler(manager, token, modelId);
    }

    /// The handler's actions can all succeed (it is not silently reverting everything): a fixed walk through them.
    function test_handlerReachesEveryAction() public {
        handler.stake(0, 900e18);
        handler.stake(1, 900e18);
        handler.stake(2, 900e18);
        handler.fundPool(3, 10e18);
        handler.setPolicy(2, 3e18); // rate 10000: every batch audited
        handler.submit(0, 0, 0, 0); // batch 0: honest
        handler.submit(0, 1, 8, 0); // batch 1: garbage at position 3
        handler.submit(1, 2, 0, 0); // batch 2: honest
        handler.submit(1, 3, 0, 0); // batch 3: honest, its audit will be missed
        handler.nextBlock(); // the seed block
        handler.nextBlock(); // draws from the block after it
        handler.draw(0);
        handler.draw(1);
        handler.draw(2);
        handler.challenge(2, 1, 3); // batch 1, garbage position
        handler.challenge(2, 0, 1);
        handler.prove(1, 0, 1); // answers the challenge of batch 0, position 1
        handler.commitCounterProof(3, 2, 0, 77); // batch 2, position 0
        handler.nextBlock();
        handler.revealCounterProof(0); // batch 2 slashed
        for (uint256 i; i < 4; ++i) handler.prove(1, 0, i); // answers batch 0's audit
        handler.skipBlocks(299); // batch 3's seed gone; past the challenge windows
        handler.slashMissed(3);
        handler.warp(2 hours - 1); // past batch 1's proof deadline
        handler.slash(1, 3);
        handler.reclaim(1, 3); // the slashing position: refused
        handler.finalize(0);
        handler.withdraw(1, type(uint256).max, false);
        handler.withdraw(0, type(uint256).max, true);
        handler.unstake(2, 1e18);
        bytes4[14] memory actions = [
            handler.stake.selector, handler.fundPool.selector, handler.setPolicy.selector, handler.submit.selector,
            handler.draw.selector, handler.challenge.selector, handler.prove.selector, handler.commitCounterProof.selector,
            handler.revealCounterProof.selector, handler.slashMissed.selector, handler.slash.selector,
            handler.finalize.selector, handler.withdraw.selector, handler.unstake.selector
        ];
        for (uint256 i; i < actions.length; ++i) {
            if (handler.successes(actions[i]) == 0) assertEq(i, 999, "an action never succeeded");
        }
        assertEq(handler.successes(handler.reclaim.selector), 0, "the slashing challenger cannot reclaim");
        handler.submit(2, 9, 0, 0);
        handler.nextBlock();
        handler.nextBlock();
        handler.draw(4);
        handler.challenge(3, 4, 0);
        handler.challenge(3, 4, 2);
        handler.prove(0, 4, 0);
        handler.warp(2 hours);
        handler.warp(2 hours);
        handler.slash(4, 2);
        handler.reclaim(4, 0); // proven: refused
        assertEq(handler.successes(handler.reclaim.selector), 0, "a proven position cannot reclaim");
        invariant_solvency();
        invariant_conservation();
        invariant_settledIsFinal();
        invariant_openChallengesCounted();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// B1 solvency: the manager holds exactly what it owes, the audit pool included.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_solvency() public view {
        uint256 owed = manager.auditPool() + manager.freeStake(TREASURY) + manager.credits(TREASURY);
        address[] memory accounts = handler.accounts();
        for (uint256 i; i < accounts.length; ++i) {
            owed += manager.freeStake(accounts[i]) + manager.credits(accounts[i]);
        }
        uint256 m = handler.batchCount();
        for (uint256 i; i < m; ++i) {
            Batch memory b = handler.batchAt(i);
            bytes32 id = keccak256(abi.encode(b));
            (BatchStatus status,,,,,) = manager.batchState(id);
            if (status == BatchStatus.Submitted) owed += b.bond;
            for (uint256 k; k < b.size; ++k) {
                (LeafStatus ls,,) = manager.leafChallenge(id, k);
                if (ls == LeafStatus.Challenged) owed += CHALLENGER_BOND;
            }
        }
        assertEq(token.balanceOf(address(manager)), owed, "token balance != stakes + bonds + credits + audit pool");
    }

    /// B2 no value created or destroyed: everything minted is held by actors, the treasury or the manager.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_conservation() public view {
        uint256 held = token.balanceOf(address(manager)) + token.balanceOf(TREASURY);
        address[] memory accounts = handler.accounts();
        for (uint256 i; i < accounts.length; ++i) held += token.balanceOf(accounts[i]);
        assertEq(held, handler.minted(), "tokens appeared or vanished");
    }

    /// B3 settled batches are final: once Finalized or Slashed, the status never changes.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_settledIsFinal() public view {
        uint256 m = handler.batchCount();
        for (uint256 i; i < m; ++i) {
            bytes32 id = keccak256(abi.encode(handler.batchAt(i)));
            BatchStatus settled = handler.settledAs(id);
            if (settled == BatchStatus.None) continue;
            (BatchStatus status,,,,,) = manager.batchState(id);
            assertTrue(status == settled, "a settled batch changed status");
        }
    }

    /// B4 a live batch's open-challenge count is its number of Challenged positions; a Finalized batch has none and
    /// a clear or answered audit; a Challenged position has a challenger and a deadline.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_openChallengesCounted() public view {
        uint256 m = handler.batchCount();
        for (uint256 i; i < m; ++i) {
            Batch memory b = handler.batchAt(i);
            bytes32 id = keccak256(abi.encode(b));
            (BatchStatus status,,, uint32 open, AuditStatus audit,) = manager.batchState(id);
            uint256 challenged;
            for (uint256 k; k < b.size; ++k) {
                (LeafStatus ls, uint64 deadline, address challenger) = manager.leafChallenge(id, k);
                if (ls == LeafStatus.Challenged) {
                    ++challenged;
                    assertTrue(challenger != address(0) && deadline != 0, "challenged position without challenger");
                }
            }
            if (status == BatchStatus.Submitted) assertEq(open, challenged, "open challenges miscounted");
            if (status == BatchStatus.Finalized) {
                assertEq(challenged, 0, "finalized with a challenged position");
                assertTrue(audit == AuditStatus.Clear || audit == AuditStatus.Answered, "finalized with a pending audit");
            }
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable func-name-mixedcase, max-line-length, function-max-lines

import {TestBase} from "./utils/Vm.sol";
import {ClaimHandler} from "./utils/ClaimHandler.sol";
import {BatchManager} from "../BatchManager.sol";
import {ClaimManager} from "../ClaimManager.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {IBatchManager} from "../interfaces/IBatchManager.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Claim, ClaimStatus, Request, RequestStatus} from "../types/Claim.sol";
import {ExampleProof, ModelParams, SetupKind} from "../types/Model.sol";

/// @notice Invariants of contracts/PROPERTIES.md over random sequences of every action by several actors.
contract ClaimManagerInvariants is TestBase {
    ClaimHandler internal handler;
    ClaimManager internal manager;
    MockERC20 internal token;
    BatchManager internal batches;
    bytes32 internal modelId;
    address internal constant TREASURY = address(0x7EA5);

    function setUp() public {
        token = new MockERC20();
        ModelRegistry registry = new ModelRegistry();
        MockVerifier verifier = new MockVerifier();
        uint256[8] memory proof;
        modelId = registry.registerModel(
            ModelParams({
                verifier: address(verifier),
                weightsCommitment: 1,
                artifactHash: keccak256("invariant model"),
                inputLength: 4,
                outputLength: 3,
                outputBits: 16,
                challengeWindow: 1 hours,
                proofWindow: 2 hours,
                minProviderBond: 100e18,
                minChallengerBond: 10e18,
                setupKind: SetupKind.UnsafeDev,
                metadataURI: ""
            }),
            ExampleProof({inputHash: 1, outputs: new int256[](3), proof: proof})
        );
        // Claims are audited at the BatchManager's default rate, half of them, with a 3-token fee from the pool.
        batches = new BatchManager(token, IModelRegistry(address(registry)), TREASURY, 500, 5000, 5000, 3e18);
        manager = new ClaimManager(
            token, IModelRegistry(address(registry)), TREASURY, 500, 5000, IBatchManager(address(batches))
        );
        handler = new ClaimHandler(manager, registry, token, verifier, modelId);
    }

    /// The handler's actions can all succeed (it is not silently reverting everything): a fixed walk through them.
    function test_handlerReachesEveryAction() public {
        // No audits for the first claims of the walk (their settlements below do not depend on a draw).
        vm.prank(TREASURY);
        batches.setAuditPolicy(modelId, 0, 0);
        handler.stake(0, 500e18);
        handler.stake(1, 500e18);
        handler.stake(2, 500e18);
        handler.request(3, 0, 1e18, 1 days, 1); // request 1, open to all
        handler.requestWithCallback(0, 2, 1e18, 1 days); // request 2, re-entering consumer
        handler.requestWithCallback(1, 3, 1e18, 1 days); // request 3, gas-burning consumer
        handler.submit(0, 0, 0, 0); // claim 0: plain
        handler.submit(1, 1, 5, 0); // claim 1: plain, other input
        handler.submit(0, 3, 7, 0); // claim 2: plain
        handler.commitAnswer(2, 0, 9, 0); // pending 0: answer to request 1
        handler.commitAnswer(1, 1, 3, 0); // pending 1: answer to request 2
        handler.commitAnswer(2, 2, 4, 0); // pending 2: answer to request 3
        handler.commitCounterProof(0, 2, 1); // pending 3: counter-proof of claim 2
        handler.copyPending(3, 0); // a copier replays answer 0 at once: refused
        handler.answer(0); // same block as its commitment: refused
        handler.nextBlock();
        handler.copyPending(3, 3); // a copier replays the counter-proof: refused
        handler.answer(0); // claim 3 answers request 1
        handler.answer(1); // claim 4 answers request 2
        handler.answer(2); // claim 5 answers request 3
        handler.revealCounterProof(3, true); // claim 2 slashed at once
        handler.challenge(1, 0);
        handler.prove(2, 0, true); // proves claim 0
        handler.challenge(2, 1);
        handler.warp(2 hours - 1); // past challenge windows and claim 1's proof deadline
        handler.finalize(3); // claim 3: fulfils request 1
        handler.slash(1);
        handler.request(3, 1, 1e18, 0, 1); // request 4
        handler.warp(10);
        handler.finalize(4); // request 2 fulfilled; its consumer's callback re-enters and fails
        handler.finalize(5); // request 3 fulfilled; its consumer burns its 30k
        handler.refund(3); // request 4 expired
        handler.withdraw(2, type(uint256).max, false);
        handler.withdraw(0, type(uint256).max, true);
        handler.unstake(1, 1e18);
        // Audited claims: every one is selected; claim 6 answers its audit, claim 7 misses its draw.
        vm.prank(TREASURY);
        batches.setAuditPolicy(modelId, 10_000, 3e18);
        handler.fundPool(1, 10e18);
        handler.submit(0, 2, 11, 0); // claim 6
        handler.submit(1, 3, 12, 0); // claim 7
        handler.nextBlock();
        handler.nextBlock();
        handler.draw(2, 6);
        handler.prove(3, 6, true);
        handler.skipBlocks(299); // claim 7's seed is gone
        handler.slashMissed(7);
        bytes4[19] memory actions = [
            handler.stake.selector, handler.unstake.selector, handler.withdraw.selector, handler.submit.selector,
            handler.commitAnswer.selector, handler.commitCounterProof.selector, handler.answer.selector,
            handler.revealCounterProof.selector, handler.copyPending.selector, handler.challenge.selector,
            handler.prove.selector, handler.finalize.selector, handler.slash.selector, handler.request.selector,
            handler.refund.selector, handler.requestWithCallback.selector, handler.fundPool.selector,
            handler.draw.selector, handler.slashMissed.selector
        ];
        for (uint256 i; i < actions.length; ++i) {
            assertTrue(handler.successes(actions[i]) > 0, "an action never succeeded");
        }
        assertEq(handler.successes(handler.copyPending.selector), 2, "both copies refused");
        assertTrue(manager.getRequest(1).status == RequestStatus.Fulfilled, "request 1 fulfilled");
        assertTrue(manager.getRequest(2).status == RequestStatus.Fulfilled, "request 2 fulfilled despite re-entry");
        assertTrue(manager.getRequest(3).status == RequestStatus.Fulfilled, "request 3 fulfilled despite gas burn");
        assertTrue(manager.getRequest(4).status == RequestStatus.Refunded, "request 4 refunded");
        (ClaimStatus slashed,,) = manager.claimState(keccak256(abi.encode(handler.claimAt(2))));
        assertTrue(slashed == ClaimStatus.Slashed, "claim 2 counter-proven");
        assertEq(manager.credits(handler.actors(0)), 3e18, "claim 6's audit fee");
        (slashed,,) = manager.claimState(keccak256(abi.encode(handler.claimAt(7))));
        assertTrue(slashed == ClaimStatus.Slashed, "claim 7 missed its audit");
        invariant_solvency();
        invariant_conservation();
        invariant_settledIsFinal();
        invariant_requestsPointAtTheirClaims();
        invariant_challengedHasChallenger();
        invariant_copiesNeverAccepted();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// P1 solvency: the manager holds exactly what it owes, the claim audit pool included.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_solvency() public view {
        uint256 owed = manager.auditPool();
        address[] memory accounts = handler.accounts();
        for (uint256 i; i < accounts.length; ++i) {
            owed += manager.freeStake(accounts[i]) + manager.credits(accounts[i]);
        }
        owed += manager.freeStake(TREASURY) + manager.credits(TREASURY);
        uint256 m = handler.claimCount();
        for (uint256 i; i < m; ++i) {
            Claim memory c = handler.claimAt(i);
            (ClaimStatus status,,) = manager.claimState(keccak256(abi.encode(c)));
            if (status == ClaimStatus.Submitted) owed += c.bond;
            if (status == ClaimStatus.Challenged) owed += c.bond + 10e18;
        }
        uint256 r = manager.requestCount();
        for (uint256 id = 1; id <= r; ++id) {
            Request memory q = manager.getRequest(id);
            if (q.status == RequestStatus.Open || q.status == RequestStatus.Claimed) owed += q.fee;
        }
        assertEq(token.balanceOf(address(manager)), owed, "token balance != stakes + bonds + credits + fees + audit pool");
    }

    /// P2 no value created or destroyed: everything minted is held by actors or by the manager.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_conservation() public view {
        uint256 held = token.balanceOf(address(manager)) + token.balanceOf(TREASURY);
        address[] memory accounts = handler.accounts();
        for (uint256 i; i < accounts.length; ++i) held += token.balanceOf(accounts[i]);
        assertEq(held, handler.minted(), "tokens appeared or vanished");
    }

    /// P3 settled claims are final: once Proven, Finalized or Slashed, the status never changes.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_settledIsFinal() public view {
        uint256 m = handler.claimCount();
        for (uint256 i; i < m; ++i) {
            bytes32 id = keccak256(abi.encode(handler.claimAt(i)));
            ClaimStatus settled = handler.settledAs(id);
            if (settled == ClaimStatus.None) continue;
            (ClaimStatus status,,) = manager.claimState(id);
            assertTrue(status == settled, "a settled claim changed status");
        }
    }

    /// P4 request bookkeeping: a Claimed request points at a live claim, a Fulfilled one at a valid settled claim,
    /// Open and Refunded ones at none.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_requestsPointAtTheirClaims() public view {
        uint256 r = manager.requestCount();
        for (uint256 id = 1; id <= r; ++id) {
            Request memory q = manager.getRequest(id);
            (ClaimStatus status,,) = manager.claimState(q.claimId);
            if (q.status == RequestStatus.Claimed) {
                assertTrue(status == ClaimStatus.Submitted || status == ClaimStatus.Challenged, "claimed: claim not live");
            } else if (q.status == RequestStatus.Fulfilled) {
                assertTrue(status == ClaimStatus.Proven || status == ClaimStatus.Finalized, "fulfilled: claim not valid");
            } else {
                assertTrue(q.claimId == bytes32(0), "open/refunded request still points at a claim");
            }
        }
    }

    /// P5 at most one valid settlement per (model, input, outputs) answer is irrelevant, but two conflicting answers
    /// for one input can never both settle valid while the verifier is a function: checked in the TypeScript suite
    /// with a real verifier. Here: a Challenged claim always has a challenger and a deadline.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_challengedHasChallenger() public view {
        uint256 m = handler.claimCount();
        for (uint256 i; i < m; ++i) {
            (ClaimStatus status, uint64 deadline, address challenger) =
                manager.claimState(keccak256(abi.encode(handler.claimAt(i))));
            if (status == ClaimStatus.Challenged) {
                assertTrue(challenger != address(0) && deadline != 0, "challenged claim without challenger");
            }
            if (status == ClaimStatus.Submitted) assertTrue(challenger == address(0), "unchallenged claim with challenger");
        }
    }

    /// P6 front-running does not pay: a counter-proof or request answer replayed by another actor (who holds no
    /// earlier commitment to it of its own) is always refused.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    function invariant_copiesNeverAccepted() public view {
        assertEq(handler.copiesAccepted(), 0, "a copied reveal was accepted");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable func-name-mixedcase, max-line-length, function-max-lines

import {TestBase} from "./utils/Vm.sol";
import {ClaimManager} from "../ClaimManager.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {IClaimManager} from "../interfaces/IClaimManager.sol";
import {IBatchManager} from "../interfaces/IBatchManager.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {BatchManager} from "../BatchManager.sol";
import {AuditStatus} from "../types/Batch.sol";
import {Claim, ClaimStatus, RequestParams} from "../types/Claim.sol";
import {ExampleProof, ModelParams, SetupKind} from "../types/Model.sol";

/// @notice Fuzzed settlement arithmetic: for any shares, bonds and fee, every settlement path splits value
/// exactly (no rounding leak, no overflow) and the manager stays solvent; a caught cheater always loses at least
/// half its bond.
contract ClaimManagerFuzzTest is TestBase {
    address internal constant PROVIDER = address(0xB0B);
    address internal constant CHALLENGER = address(0xC0C);
    address internal constant COUNTER = address(0xC0DE);
    address internal constant TREASURY = address(0x7EA5);
    uint128 internal constant CHALLENGER_BOND = 7e18 + 13;

    MockERC20 internal token;
    ModelRegistry internal registry;
    MockVerifier internal verifier;
    bytes32 internal modelId;

    function setUp() public {
        token = new MockERC20();
        registry = new ModelRegistry();
        verifier = new MockVerifier();
        uint256[8] memory proof;
        modelId = registry.registerModel(
            ModelParams({
                verifier: address(verifier),
                weightsCommitment: 5,
                artifactHash: keccak256("fuzz model"),
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

    function _fund(ClaimManager m, address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(m), amount);
        vm.prank(who);
        m.stake(amount);
    }

    /// @param path 0 finalize, 1 prove unchallenged, 2 prove challenged, 3 slash, 4 counter-prove,
    /// 5 counter-prove challenged
    function testFuzz_settlementSplitsExactly(uint16 feeBps, uint16 rewardBps, uint128 bond, uint128 fee, uint8 path)
        public
    {
        feeBps = uint16(feeBps % 10_001);
        rewardBps = uint16(rewardBps % 5001);
        bond = uint128(1 + bond % 1e30);
        fee = uint128(1 + fee % 1e30);
        path = path % 6;
        ClaimManager m = new ClaimManager(
            token, IModelRegistry(address(registry)), TREASURY, feeBps, rewardBps, IBatchManager(address(0))
        );
        _fund(m, PROVIDER, bond);
        _fund(m, CHALLENGER, CHALLENGER_BOND);
        token.mint(address(this), fee);
        token.approve(address(m), fee);
        uint256 requestId = m.requestInference(
            RequestParams(modelId, 9, fee, uint64(block.timestamp + 50), 0, address(0), 0), "", ""
        );

        int256[] memory outputs = new int256[](2);
        outputs[0] = -3;
        outputs[1] = 100;
        bytes32 answerCommitment = m.hashAnswer(requestId, keccak256(abi.encode(outputs)), bond, "salt");
        vm.startPrank(PROVIDER);
        m.commit(answerCommitment);
        vm.roll(block.number + 1);
        m.answerRequest(requestId, outputs, bond, "salt");
        vm.stopPrank();
        Claim memory claim = Claim(modelId, PROVIDER, 9, keccak256(abi.encode(outputs)), bond, requestId);
        uint256[8] memory proof;
        int256[] memory other = new int256[](2);

        if (path == 2 || path == 3) {
            vm.prank(CHALLENGER);
            m.challenge(claim);
        }
        if (path == 0) {
            vm.warp(block.timestamp + 100);
            m.finalize(claim, outputs);
        } else if (path == 1 || path == 2) {
            m.prove(claim, outputs, proof);
        } else if (path == 3) {
            vm.warp(block.timestamp + 200);
            m.slash(claim);
        } else {
            bytes32 commitment = m.hashCounterProof(keccak256(abi.encode(claim)), other, proof);
            vm.prank(COUNTER);
            m.commit(commitment);
            vm.roll(block.number + 1);
            if (path == 5) {
                // a challenge in the reveal's own block (a front-run of the reveal): its bond back, no reward
                vm.prank(CHALLENGER);
                m.challenge(claim);
            }
            vm.prank(COUNTER);
            m.counterProve(claim, other, proof);
        }

        uint256 total = m.freeStake(PROVIDER) + m.freeStake(CHALLENGER) + m.freeStake(COUNTER) + m.credits(PROVIDER)
            + m.credits(TREASURY) + m.credits(address(this));
        (ClaimStatus status,,) = m.claimState(keccak256(abi.encode(claim)));
        // An unsettled request's fee is still escrowed after a slash (the request is open again).
        if (status == ClaimStatus.Slashed) total += fee;
        assertEq(token.balanceOf(address(m)), total, "settlement leaked or created value");
        assertEq(total, uint256(bond) + CHALLENGER_BOND + fee, "total changed");
        if (status == ClaimStatus.Slashed) {
            _checkSlashSplit(m, bond, rewardBps, path);
        } else {
            uint256 protocolFee = uint256(fee) * feeBps / 10_000;
            assertEq(m.credits(PROVIDER), fee - protocolFee, "provider fee");
        }
    }

    function _checkSlashSplit(ClaimManager m, uint256 bond, uint16 rewardBps, uint8 path) internal view {
        uint256 reward = bond * rewardBps / 10_000;
        if (path == 3) {
            assertEq(m.freeStake(CHALLENGER), CHALLENGER_BOND + reward, "challenger: own bond back plus reward");
        } else {
            assertEq(m.freeStake(COUNTER), reward, "counter-prover: the reward");
            // A challenger who was first gets its bond back and nothing more.
            assertEq(m.freeStake(CHALLENGER), CHALLENGER_BOND, "challenger bond back, no reward");
        }
        assertEq(m.credits(TREASURY), bond - reward, "treasury share");
        // Even if the beneficiary is the cheater's own second address, at least half the bond is gone.
        assertTrue(2 * (bond - reward) >= bond, "a caught cheater keeps more than half");
    }

    /// @param path 0 draw + prove (the audit fee, capped by the pool), 1 draw + missed deadline, 2 never drawn,
    /// 3 draw + a challenge after the seed block left unproven (no reward)
    function testFuzz_auditSettlementSplitsExactly(uint128 bond, uint128 auditFee, uint128 pool, uint8 path) public {
        bond = uint128(1 + bond % 1e30);
        auditFee = uint128(auditFee % 1e30);
        pool = uint128(1 + pool % 1e30);
        path = path % 4;
        BatchManager batches =
            new BatchManager(token, IModelRegistry(address(registry)), TREASURY, 500, 5000, 10_000, auditFee);
        ClaimManager m = new ClaimManager(
            token, IModelRegistry(address(registry)), TREASURY, 500, 5000, IBatchManager(address(batches))
        );
        _fund(m, PROVIDER, bond);
        _fund(m, CHALLENGER, CHALLENGER_BOND);
        token.mint(address(this), pool);
        token.approve(address(m), pool);
        m.fundAuditPool(pool);

        int256[] memory outputs = new int256[](2);
        vm.prank(PROVIDER);
        bytes32 id = m.submitClaim(modelId, 9, outputs, bond, "", "");
        Claim memory claim = Claim(modelId, PROVIDER, 9, keccak256(abi.encode(outputs)), bond, 0);
        uint256 seedBlock = block.number + 1;
        if (path == 2) {
            vm.roll(seedBlock + 257); // the seed's hash is gone (the runner gives rolled blocks none anyway)
            m.slashMissedAudit(claim);
        } else {
            vm.roll(seedBlock + 1);
            vm.setBlockhash(seedBlock, keccak256("seed"));
            m.drawAudit(claim);
            (AuditStatus audit,,,, uint64 deadline) = m.auditOf(id);
            assertTrue(audit == AuditStatus.Selected, "rate 10000 selects");
            if (path == 0) {
                uint256[8] memory proof;
                m.prove(claim, outputs, proof);
                uint256 paid = auditFee < pool ? auditFee : pool;
                assertEq(m.credits(PROVIDER), paid, "audit fee capped by the pool");
                assertEq(m.auditPool(), pool - paid, "pool paid once");
            } else if (path == 1) {
                vm.warp(deadline);
                m.slashMissedAudit(claim);
            } else {
                vm.prank(CHALLENGER);
                m.challenge(claim);
                vm.warp(deadline);
                m.slash(claim);
                assertEq(m.freeStake(CHALLENGER), CHALLENGER_BOND, "challenge after the seed: bond back, no reward");
            }
        }
        (ClaimStatus status,,) = m.claimState(id);
        assertTrue(status == (path == 0 ? ClaimStatus.Proven : ClaimStatus.Slashed), "settled");
        if (path != 0) assertEq(m.credits(TREASURY), bond, "the whole bond to the treasury");
        uint256 total = m.freeStake(PROVIDER) + m.freeStake(CHALLENGER) + m.credits(PROVIDER) + m.credits(TREASURY)
            + m.auditPool();
        assertEq(token.balanceOf(address(m)), total, "settlement leaked or created value");
        assertEq(total, uint256(bond) + CHALLENGER_BOND + pool, "total changed");
    }

    /// A slash reward above MAX_SLASH_REWARD_BPS, or the manager as its own treasury, is refused.
    function testFuzz_constructorCapsSlashReward(uint16 rewardBps) public {
        ClaimManager probe =
            new ClaimManager(token, IModelRegistry(address(registry)), TREASURY, 0, 0, IBatchManager(address(0)));
        uint16 cap = probe.MAX_SLASH_REWARD_BPS();
        assertEq(cap, 5000, "cap");
        if (rewardBps > cap) {
            vm.expectRevert(abi.encodeWithSelector(IClaimManager.InvalidProtocolConfig.selector));
            new ClaimManager(
                token, IModelRegistry(address(registry)), TREASURY, 0, rewardBps, IBatchManager(address(0))
            );
        } else {
            ClaimManager m = new ClaimManager(
                token, IModelRegistry(address(registry)), TREASURY, 0, rewardBps, IBatchManager(address(0))
            );
            assertEq(m.slashRewardBps(), rewardBps, "accepted share");
        }
    }
}

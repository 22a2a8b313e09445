// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable func-name-mixedcase, max-line-length, function-max-lines

import {TestBase} from "./utils/Vm.sol";
import {ClaimManager} from "../ClaimManager.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {MockERC20} from "../mocks/MockERC20.sol";
import {MockVerifier} from "../mocks/MockVerifier.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Claim, ClaimStatus} from "../types/Claim.sol";
import {ModelParams} from "../types/Model.sol";

/// @notice Fuzzed settlement arithmetic: for any shares, bonds and fee, every settlement path splits value
/// exactly (no rounding leak, no overflow) and the manager stays solvent.
contract ClaimManagerFuzzTest is TestBase {
    address internal constant PROVIDER = address(0xB0B);
    address internal constant CHALLENGER = address(0xC0C);
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
                metadataURI: ""
            })
        );
    }

    function _fund(ClaimManager m, address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(m), amount);
        vm.prank(who);
        m.stake(amount);
    }

    /// @param path 0 finalize, 1 prove unchallenged, 2 prove challenged, 3 slash, 4 counter-prove, 5 counter-prove challenged
    function testFuzz_settlementSplitsExactly(uint16 feeBps, uint16 rewardBps, uint128 bond, uint128 fee, uint8 path)
        public
    {
        feeBps = uint16(feeBps % 10_001);
        rewardBps = uint16(rewardBps % 10_001);
        bond = uint128(1 + bond % 1e30);
        fee = uint128(1 + fee % 1e30);
        path = path % 6;
        ClaimManager m = new ClaimManager(token, IModelRegistry(address(registry)), TREASURY, feeBps, rewardBps);
        _fund(m, PROVIDER, bond);
        _fund(m, CHALLENGER, CHALLENGER_BOND);
        token.mint(address(this), fee);
        token.approve(address(m), fee);
        uint256 requestId = m.requestInference(modelId, 9, fee, uint64(block.timestamp + 50), 0, "", "");

        int256[] memory outputs = new int256[](2);
        outputs[0] = -3;
        outputs[1] = 100;
        vm.prank(PROVIDER);
        m.submitClaim(modelId, 9, outputs, bond, requestId, "", "");
        Claim memory claim = Claim(modelId, PROVIDER, 9, keccak256(abi.encode(outputs)), bond, requestId);
        uint256[8] memory proof;
        int256[] memory other = new int256[](2);

        if (path == 2 || path == 3 || path == 5) {
            vm.prank(CHALLENGER);
            m.challenge(claim);
        }
        if (path == 0) {
            vm.warp(block.timestamp + 100);
            m.finalize(claim);
        } else if (path == 1 || path == 2) {
            m.prove(claim, outputs, proof);
        } else if (path == 3) {
            vm.warp(block.timestamp + 200);
            m.slash(claim);
        } else {
            vm.prank(CHALLENGER);
            m.counterProve(claim, other, proof);
        }

        uint256 total = m.freeStake(PROVIDER) + m.freeStake(CHALLENGER) + m.credits(PROVIDER) + m.credits(TREASURY)
            + m.credits(address(this));
        (ClaimStatus status,,) = m.claimState(keccak256(abi.encode(claim)));
        // An unsettled request's fee is still escrowed after a slash (the request is open again).
        if (status == ClaimStatus.Slashed) total += fee;
        assertEq(token.balanceOf(address(m)), total, "settlement leaked or created value");
        assertEq(total, uint256(bond) + CHALLENGER_BOND + fee, "total changed");
        if (status == ClaimStatus.Slashed) {
            uint256 reward = uint256(bond) * rewardBps / 10_000;
            assertEq(m.freeStake(CHALLENGER), CHALLENGER_BOND + reward, "challenger share");
            assertEq(m.credits(TREASURY), bond - reward, "treasury share");
        } else {
            uint256 protocolFee = uint256(fee) * feeBps / 10_000;
            assertEq(m.credits(PROVIDER), fee - protocolFee, "provider fee");
        }
    }
}

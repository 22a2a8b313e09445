// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable func-name-mixedcase

import {TestBase} from "./utils/Vm.sol";
import {OddVerifier, OutputPackingHarness} from "./utils/Harnesses.sol";
import {OutputPacking} from "../libraries/OutputPacking.sol";
import {ClaimState, ClaimStateLibrary} from "../types/ClaimState.sol";
import {ClaimStatus} from "../types/Claim.sol";
import {TinyModelVerifier} from "../fixtures/TinyModelVerifier.sol";

/// @notice Fuzz tests of output packing (the on-chain half of sdk packSigned), the claim state word and the
/// verifier selector.
contract OutputPackingTest is TestBase {
    OutputPackingHarness internal h;

    function setUp() public {
        h = new OutputPackingHarness();
    }

    /// @dev Values in range for `bits`, drawn from `seed`.
    function _values(uint256 seed, uint8 bits, uint256 n) internal pure returns (int256[] memory v) {
        v = new int256[](n);
        int256 half = int256(1 << (bits - 1));
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            v[i] = int256(r % (uint256(1) << bits)) - half;
        }
        if (n > 0) v[0] = -half; // both extremes appear
        if (n > 1) v[n - 1] = half - 1;
    }

    function testFuzz_packUnpackRoundTrip(uint256 seed, uint8 bitsRaw, uint8 nRaw) public view {
        uint8 bits = uint8(1 + uint256(bitsRaw) % 248);
        uint256 n = 1 + uint256(nRaw) % 40;
        int256[] memory v = _values(seed, bits, n);
        uint256[] memory s = h.publicSignals(v, bits, 11, 22);
        uint256 perLimb = 248 / bits;
        uint256 limbs = (n + perLimb - 1) / perLimb;
        assertEq(s.length, limbs + 2, "signal count");
        assertEq(s[limbs], 11, "inputHash position");
        assertEq(s[limbs + 1], 22, "weightsCommitment position");
        for (uint256 j; j < limbs; ++j) assertTrue(s[j] < (uint256(1) << 248), "limb above 248 bits");
        int256 half = int256(1 << (bits - 1));
        uint256 mask = bits == 255 ? type(uint256).max : (uint256(1) << bits) - 1;
        for (uint256 i; i < n; ++i) {
            int256 back = int256((s[i / perLimb] >> (bits * (i % perLimb))) & mask) - half;
            assertTrue(back == v[i], "value did not round-trip");
        }
    }

    function testFuzz_outOfRangeReverts(uint256 seed, uint8 bitsRaw, uint256 excess, bool low) public {
        uint8 bits = uint8(1 + uint256(bitsRaw) % 247);
        int256[] memory v = _values(seed, bits, 5);
        int256 half = int256(1 << (bits - 1));
        excess = excess % 1e30;
        int256 bad = low ? -half - 1 - int256(excess) : half + int256(excess);
        v[2] = bad;
        vm.expectRevert(abi.encodeWithSelector(OutputPacking.OutputOutOfRange.selector, 2, bad, bits));
        h.checkRange(v, bits);
        vm.expectRevert(abi.encodeWithSelector(OutputPacking.OutputOutOfRange.selector, 2, bad, bits));
        h.publicSignals(v, bits, 0, 0);
    }

    function testFuzz_hashIsKeccakOfAbiEncode(int256[] memory outputs) public view {
        assertEq(h.hash(outputs), keccak256(abi.encode(outputs)), "outputHash");
    }

    function testFuzz_claimStateRoundTrip(
        uint8 statusRaw,
        uint40 deadline,
        address challenger,
        uint48 challengedBlock,
        uint8 newRaw
    ) public pure {
        ClaimStatus status = ClaimStatus(statusRaw % 6);
        ClaimStatus next = ClaimStatus(newRaw % 6);
        ClaimState s = ClaimStateLibrary.pack(status, deadline, challenger, challengedBlock);
        assertTrue(s.status() == status, "status");
        assertEq(s.deadline(), deadline, "deadline");
        assertTrue(s.challenger() == challenger, "challenger");
        assertEq(s.challengedBlock(), challengedBlock, "challenged block");
        ClaimState t = s.withStatus(next);
        assertTrue(t.status() == next, "new status");
        assertEq(t.deadline(), deadline, "deadline kept");
        assertTrue(t.challenger() == challenger, "challenger kept");
        assertEq(t.challengedBlock(), challengedBlock, "challenged block kept");
    }

    function test_selectorMatchesSnarkjsVerifier() public view {
        assertTrue(h.selector(3) == TinyModelVerifier.verifyProof.selector, "selector for N=3");
        assertTrue(
            h.selector(12) == bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[12])")),
            "selector for N=12"
        );
    }

    function test_onlyAnExactTrueVerifies() public {
        uint256[8] memory proof;
        uint256[] memory signals = new uint256[](3);
        assertTrue(h.verify(address(new OddVerifier(OddVerifier.Mode.ReturnTrue)), proof, signals), "true");
        assertTrue(!h.verify(address(new OddVerifier(OddVerifier.Mode.Revert)), proof, signals), "revert");
        assertTrue(!h.verify(address(new OddVerifier(OddVerifier.Mode.ReturnTwo)), proof, signals), "2");
        assertTrue(!h.verify(address(new OddVerifier(OddVerifier.Mode.ReturnTwoWords)), proof, signals), "64 bytes");
        assertTrue(!h.verify(address(new OddVerifier(OddVerifier.Mode.ReturnEmpty)), proof, signals), "empty");
        assertTrue(!h.verify(address(0xdead), proof, signals), "no code");
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable no-complex-fallback

/// @notice State-machine tests only: a Groth16-shaped verifier whose answer the test sets. It answers every
/// verifyProof arity through its fallback. If `expectedSignalsHash` is set, it says yes only when
/// keccak256 of the public-signal words equals it, so tests can pin the on-chain signal layout.
contract MockVerifier {
    bool public answer = true;
    bytes32 public expectedSignalsHash;

    function setAnswer(bool answer_) external {
        answer = answer_;
    }

    function expectSignals(uint256[] calldata signals) external {
        expectedSignalsHash = keccak256(abi.encodePacked(signals));
    }

    fallback(bytes calldata data) external returns (bytes memory) {
        bool ok = answer;
        bytes32 expected = expectedSignalsHash;
        if (expected != bytes32(0)) {
            // selector (4 bytes) and 8 proof words come first; the public signals follow.
            ok = ok && keccak256(data[4 + 8 * 32:]) == expected;
        }
        return abi.encode(ok);
    }
}

/// @notice Says yes to every proof, without storage (so its runtime code can be copied onto another address with
/// hardhat_setCode): what an attacker would swap in for a verifier whose code can change.
contract AlwaysYesVerifier {
    fallback(bytes calldata) external returns (bytes memory) {
        return abi.encode(true);
    }
}

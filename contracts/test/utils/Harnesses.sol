// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable no-complex-fallback, gas-custom-errors, reason-string

import {OutputPacking} from "../../libraries/OutputPacking.sol";
import {Groth16Verification} from "../../libraries/Groth16Verification.sol";

/// @notice Exposes the calldata-taking library functions to Solidity tests.
contract OutputPackingHarness {
    function hash(int256[] calldata outputs) external pure returns (bytes32) {
        return OutputPacking.hash(outputs);
    }

    function publicSignals(int256[] calldata outputs, uint8 bits, uint256 inputHash, uint256 weightsCommitment)
        external
        pure
        returns (uint256[] memory)
    {
        return OutputPacking.publicSignals(outputs, bits, inputHash, weightsCommitment);
    }

    function checkRange(int256[] calldata outputs, uint8 bits) external pure {
        OutputPacking.checkRange(outputs, bits);
    }

    function selector(uint256 n) external pure returns (bytes4) {
        return Groth16Verification.selector(n);
    }

    function verify(address verifier, uint256[8] calldata proof, uint256[] calldata signals)
        external
        view
        returns (bool)
    {
        return Groth16Verification.verify(verifier, proof, signals);
    }
}

/// @notice A verifier stand-in with a fixed misbehaviour, to show that only an exact `true` counts.
contract OddVerifier {
    enum Mode {
        Revert,
        ReturnTwo,
        ReturnTwoWords,
        ReturnEmpty,
        ReturnTrue
    }

    Mode public immutable mode;

    constructor(Mode mode_) {
        mode = mode_;
    }

    fallback(bytes calldata) external returns (bytes memory) {
        Mode m = mode;
        if (m == Mode.Revert) revert("no");
        if (m == Mode.ReturnTwo) return abi.encode(uint256(2));
        if (m == Mode.ReturnTwoWords) return abi.encode(true, true);
        if (m == Mode.ReturnEmpty) return "";
        return abi.encode(true);
    }
}

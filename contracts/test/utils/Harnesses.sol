// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

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
}

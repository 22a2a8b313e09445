// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/// @title Groth16Verification
/// @notice One interface over snarkjs-exported Groth16 verifiers, whose
/// `verifyProof(uint[2] _pA, uint[2][2] _pB, uint[2] _pC, uint[N] _pubSignals)` has a different selector per N.
/// @dev All arguments are static, so the calldata is the selector followed by the 8 proof words and the N signals.
library Groth16Verification {
    /// @notice Selector of verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[n]).
    function selector(uint256 n) internal pure returns (bytes4) {
        return bytes4(
            keccak256(
                abi.encodePacked("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", Strings.toString(n), "])")
            )
        );
    }

    /// @notice True iff `verifier` returns exactly true for the proof and signals.
    /// @param proof [a0, a1, b00, b01, b10, b11, c0, c1] as printed by snarkjs `exportSolidityCallData`.
    /// @dev Copies at most 32 bytes of return data, so a verifier cannot grief with a huge return. A verifier that
    /// reverts, returns something else, or is not a contract yields false.
    function verify(address verifier, uint256[8] calldata proof, uint256[] memory signals)
        internal
        view
        returns (bool ok)
    {
        bytes memory data = abi.encodePacked(selector(signals.length), proof, signals);
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let success := staticcall(gas(), verifier, add(data, 0x20), mload(data), 0x00, 0x20)
            ok := and(success, and(eq(returndatasize(), 0x20), eq(mload(0x00), 1)))
        }
    }
}

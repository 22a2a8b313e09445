// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title OutputPacking
/// @notice The on-chain half of sdk/hash.ts `packSigned` and sdk/signals.ts `publicSignals`/`outputHash`.
/// @dev Each output v must lie in [-2^(bits-1), 2^(bits-1)); it is offset to u = v + 2^(bits-1) and packed
/// little-endian, floor(248 / bits) values per field element.
library OutputPacking {
    /// @notice Payload bits per public signal (below the 254-bit BN254 field, so packing never wraps).
    uint256 internal constant LIMB_BITS = 248;
    /// @notice BN254 scalar field modulus.
    uint256 internal constant FIELD_P =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice outputs[index] does not fit in `bits` signed bits.
    error OutputOutOfRange(uint256 index, int256 value, uint8 bits);

    /// @notice keccak256(abi.encode(outputs)), the claim's outputHash.
    function hash(int256[] calldata outputs) internal pure returns (bytes32 h) {
        // Same bytes as abi.encode(outputs): head offset 0x20, length, elements.
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := shl(5, outputs.length)
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), outputs.length)
            calldatacopy(add(ptr, 0x40), outputs.offset, size)
            h := keccak256(ptr, add(size, 0x40))
        }
    }

    /// @notice Reverts with OutputOutOfRange unless every output fits in `bits` signed bits.
    function checkRange(int256[] calldata outputs, uint8 bits) internal pure {
        int256 half = int256(1 << (bits - 1));
        for (uint256 i; i < outputs.length; ++i) {
            int256 v = outputs[i];
            if (v < -half || v >= half) revert OutputOutOfRange(i, v, bits);
        }
    }

    /// @notice [packSigned(outputs, bits)..., inputHash, weightsCommitment]: a model proof's public signals.
    /// Reverts with OutputOutOfRange if an output does not fit.
    function publicSignals(int256[] calldata outputs, uint8 bits, uint256 inputHash, uint256 weightsCommitment)
        internal
        pure
        returns (uint256[] memory signals)
    {
        uint256 perLimb = LIMB_BITS / bits;
        uint256 limbs = (outputs.length + perLimb - 1) / perLimb;
        signals = new uint256[](limbs + 2);
        int256 half = int256(1 << (bits - 1));
        for (uint256 i; i < outputs.length; ++i) {
            int256 v = outputs[i];
            if (v < -half || v >= half) revert OutputOutOfRange(i, v, bits);
            // 0 <= v + half < 2^bits, and bits * (i % perLimb) + bits <= 248: no overlap, no overflow.
            signals[i / perLimb] |= uint256(v + half) << (bits * (i % perLimb));
        }
        signals[limbs] = inputHash;
        signals[limbs + 1] = weightsCommitment;
    }
}

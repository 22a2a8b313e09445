// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1967Proxy} from "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol";

/// @notice A verifier behind an ERC-1967 proxy: its code hash is the proxy's, whatever implementation it points at,
/// so pinning the code hash does not pin the logic. Tests use it to show that a registry entry whose
/// verifierCodeHash is not the real verifier's code hash must be refused by whoever checks entries off chain.
contract VerifierProxy is ERC1967Proxy {
    constructor(address implementation) ERC1967Proxy(implementation, "") {}

    /// @dev A verifier has nothing to initialize.
    function _unsafeAllowUninitialized() internal pure override returns (bool) {
        return true;
    }
}

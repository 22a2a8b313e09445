// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable avoid-low-level-calls

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test token that, once armed, calls `hookTarget` with `payload` from inside every transfer, and bubbles up
/// the revert: it shows a re-entering token cannot get through the reentrancy guard.
contract ReentrantERC20 is ERC20 {
    address public hookTarget;
    bytes public payload;

    constructor() ERC20("Reentrant Token", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        hookTarget = target_;
        payload = payload_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address t = hookTarget;
        if (t != address(0) && from != address(0) && to != address(0)) {
            hookTarget = address(0); // one shot
            (bool ok, bytes memory ret) = t.call(payload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
        }
    }
}

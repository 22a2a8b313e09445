// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IClaimManager} from "../interfaces/IClaimManager.sol";
import {IOzkConsumer} from "../interfaces/IOzkConsumer.sol";
import {RequestParams} from "../types/Claim.sol";

/// @notice Tests only: a hostile consumer. It posts a 1-token request with the largest callback gas and burns every
/// unit of that gas when called back, so a settlement of its answer needs the full callback gas supplied.
contract GriefingConsumer is IOzkConsumer {
    IClaimManager public immutable manager;

    constructor(IClaimManager manager_) {
        manager = manager_;
    }

    function request(bytes32 modelId, uint256 inputHash, uint64 expiry, bytes calldata inputData)
        external
        returns (uint256)
    {
        IERC20(address(manager.token())).approve(address(manager), 1);
        return manager.requestInference(
            RequestParams(modelId, inputHash, 1, expiry, 1_000_000, address(0), 0), inputData, ""
        );
    }

    function onInferenceSettled(uint256, bytes32, int256[] calldata, address, uint256) external view {
        // solhint-disable-next-line no-empty-blocks
        while (gasleft() > 0) {}
    }
}

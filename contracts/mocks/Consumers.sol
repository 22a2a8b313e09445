// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// solhint-disable avoid-low-level-calls

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IClaimManager} from "../interfaces/IClaimManager.sol";
import {IOzkConsumer} from "../interfaces/IOzkConsumer.sol";
import {RequestParams} from "../types/Claim.sol";

/// @notice Base for test consumers: requests inferences through the claim manager with its own tokens.
abstract contract ConsumerBase is IOzkConsumer {
    IClaimManager public immutable manager;

    constructor(IClaimManager manager_) {
        manager = manager_;
    }

    function request(bytes32 modelId, uint256 inputHash, uint256 fee, uint64 expiry, uint24 gasLimit)
        external
        returns (uint256)
    {
        return requestFrom(modelId, inputHash, fee, expiry, gasLimit, address(0));
    }

    /// @notice A request only `provider` may answer (by a claim or from its finalized batches).
    function requestFrom(
        bytes32 modelId,
        uint256 inputHash,
        uint256 fee,
        uint64 expiry,
        uint24 gasLimit,
        address provider
    )
        public
        returns (uint256)
    {
        IERC20 token = manager.token();
        token.approve(address(manager), fee);
        return manager.requestInference(
            RequestParams(modelId, inputHash, fee, expiry, gasLimit, provider, 0), "", ""
        );
    }
}

/// @notice Records what it was told.
contract RecordingConsumer is ConsumerBase {
    error NotManager(address caller);

    uint256 public calls;
    uint256 public lastRequestId;
    bytes32 public lastClaimId;
    bytes32 public lastOutputHash;
    uint256 public lastOutputCount;
    address public lastProvider;
    uint256 public lastBond;
    uint256 public gasSeen;

    constructor(IClaimManager manager_) ConsumerBase(manager_) {}

    function onInferenceSettled(
        uint256 requestId,
        bytes32 claimId,
        int256[] calldata outputs,
        address provider,
        uint256 bond
    ) external {
        if (msg.sender != address(manager)) revert NotManager(msg.sender);
        gasSeen = gasleft();
        calls += 1;
        lastRequestId = requestId;
        lastClaimId = claimId;
        lastOutputHash = keccak256(abi.encode(outputs));
        lastOutputCount = outputs.length;
        lastProvider = provider;
        lastBond = bond;
    }
}

/// @notice Always reverts, with a long reason.
contract RevertingConsumer is ConsumerBase {
    error AlwaysReverts();

    constructor(IClaimManager manager_) ConsumerBase(manager_) {}

    function onInferenceSettled(uint256, bytes32, int256[] calldata, address, uint256) external pure {
        revert AlwaysReverts();
    }
}

/// @notice Burns all the gas it is given.
contract GasBurningConsumer is ConsumerBase {
    constructor(IClaimManager manager_) ConsumerBase(manager_) {}

    function onInferenceSettled(uint256, bytes32, int256[] calldata, address, uint256) external view {
        while (gasleft() > 0) {}
    }
}

/// @notice Records the gas it received, then burns all of it but a little to return normally: a consumer that
/// needs its whole callback gas limit to succeed.
contract FullGasConsumer is ConsumerBase {
    uint256 public gasSeen;

    constructor(IClaimManager manager_) ConsumerBase(manager_) {}

    function onInferenceSettled(uint256, bytes32, int256[] calldata, address, uint256) external {
        gasSeen = gasleft();
        while (gasleft() > 2_000) {}
    }
}

/// @notice Returns (or reverts with) a huge buffer to try a return-data bomb on the caller.
contract ReturnBombConsumer is ConsumerBase {
    bool public revertWithBomb;

    constructor(IClaimManager manager_, bool revertWithBomb_) ConsumerBase(manager_) {
        revertWithBomb = revertWithBomb_;
    }

    function onInferenceSettled(uint256, bytes32, int256[] calldata, address, uint256) external view {
        bool r = revertWithBomb;
        assembly ("memory-safe") {
            if r { revert(0, 200000) }
            return(0, 200000)
        }
    }
}

/// @notice Tries to re-enter the manager from the callback (withdraw its credits, or replay a settlement call).
contract ReentrantConsumer is ConsumerBase {
    bytes public payload;
    bool public reentered;
    bytes public revertData;

    constructor(IClaimManager manager_) ConsumerBase(manager_) {}

    function setPayload(bytes calldata payload_) external {
        payload = payload_;
    }

    function onInferenceSettled(uint256, bytes32, int256[] calldata, address, uint256) external {
        (bool ok, bytes memory ret) = address(manager).call(payload);
        reentered = ok;
        revertData = ret;
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

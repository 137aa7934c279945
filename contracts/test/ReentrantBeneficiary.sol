// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title ReentrantBeneficiary (test only)
/// @notice A beneficiary that, when it receives minted production, tries to anchor a prepared batch again
///         from inside the mint. The ledger must refuse; the refusal's revert data is kept for the test.
contract ReentrantBeneficiary is IERC1155Receiver {
    address public ledger;
    bytes public reentryCall;
    bytes public reentryRevertData;
    bool public reentryAttempted;
    bool public reentrySucceeded;

    /// @notice Sets the ledger and the exact calldata to send it when tokens arrive.
    function arm(address ledger_, bytes calldata call_) external {
        ledger = ledger_;
        reentryCall = call_;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        if (reentryCall.length != 0 && !reentryAttempted) {
            reentryAttempted = true;
            (bool ok, bytes memory ret) = ledger.call(reentryCall);
            reentrySucceeded = ok;
            reentryRevertData = ret;
        }
        return IERC1155Receiver.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return IERC1155Receiver.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }
}

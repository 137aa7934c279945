// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title IReceiver
/// @notice The interface a Chainlink CRE forwarder calls to deliver a workflow's report.
/// @dev Declared here because `@chainlink/contracts` does not install from npm on our build machines;
///      the selector and ERC-165 id are those of Chainlink's `IReceiver` (`onReport(bytes,bytes)`).
interface IReceiver is IERC165 {
    /// @notice Delivers a report produced by a CRE workflow.
    /// @param metadata Workflow metadata added by the forwarder (workflow id, name, owner).
    /// @param report The workflow's ABI-encoded payload.
    function onReport(bytes calldata metadata, bytes calldata report) external;
}

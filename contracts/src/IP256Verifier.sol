// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title P-256 verifier calling convention (EIP-7951 / RIP-7212)
/// @notice A P-256 verifier is called with exactly 160 bytes, `hash ‖ r ‖ s ‖ x ‖ y` (32 bytes each,
///         big-endian), and returns the 32-byte word 1 when the signature is valid and empty returndata
///         otherwise. The EIP-7951 precompile lives at `0x100`; a Solidity verifier contract deployed
///         elsewhere can speak the same convention. There is no Solidity interface to call: the input
///         is not ABI-encoded with a selector, so callers use a raw `staticcall`.
library P256VerifierCall {
    /// @dev The precompile address fixed by EIP-7951 (and RIP-7212 on rollups).
    address internal constant PRECOMPILE = address(0x100);

    /// @notice Calls `verifier` with the EIP-7951 input and reports whether it answered "valid".
    /// @return answered True when the verifier returned any data at all (a verifier that exists
    ///         and rejects returns nothing too, so "not answered" is not proof of absence).
    /// @return valid True when the answer is exactly the 32-byte word 1.
    function call(address verifier, bytes32 digest, uint256 r, uint256 s, bytes32 x, bytes32 y)
        internal
        view
        returns (bool answered, bool valid)
    {
        (bool ok, bytes memory ret) = verifier.staticcall(abi.encodePacked(digest, r, s, x, y));
        answered = ok && ret.length != 0;
        valid = answered && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }
}

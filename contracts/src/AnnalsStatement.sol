// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title AnnalsStatement
/// @notice The public inputs of an Annals EVM proof for the statement of a query (DESIGN.md §1):
/// the Groth16 verifier is handed these two words, never the statement itself, so a contract
/// that knows the five values checks them with one keccak256.
/// @dev The digest is `keccak256(abi.encodePacked(queryHash, fromBlock, toBlock, anchorHash,
/// resultHash))` (112 bytes; block numbers as uint64 big-endian), computed in the plonky2
/// statement layer from the root proof's public inputs. Its eight big-endian 32-bit words
/// `w0..w7` are packed four per input, little-endian: `input[0] = w0 + w1·2^32 + w2·2^64 +
/// w3·2^96`, `input[1]` the same of `w4..w7` (annals-circuits `bn254::groth16`). Block numbers
/// are below 2^32 (the statement layer constrains it).
library AnnalsStatement {
    /// @param queryHash keccak256 of the query's plan encoding.
    /// @param fromBlock First block of the range.
    /// @param toBlock Last block of the range (inclusive).
    /// @param anchorHash Hash of `toBlock` (the caller checks it against `blockhash` or an
    /// oracle).
    /// @param resultHash keccak256 of the ABI-encoded result rows.
    /// @return input The two Groth16 public inputs, each below 2^128.
    function publicInputs(
        bytes32 queryHash,
        uint64 fromBlock,
        uint64 toBlock,
        bytes32 anchorHash,
        bytes32 resultHash
    ) internal pure returns (uint256[2] memory input) {
        uint256 digest = uint256(
            keccak256(abi.encodePacked(queryHash, fromBlock, toBlock, anchorHash, resultHash))
        );
        for (uint256 i = 0; i < 8; i++) {
            uint256 word = (digest >> (224 - 32 * i)) & 0xffffffff;
            input[i / 4] |= word << (32 * (i % 4));
        }
    }
}

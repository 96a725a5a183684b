// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {AnnalsStatement} from "../src/AnnalsStatement.sol";

/// AnnalsStatement against the Rust side: the same statement gives the two numbers that
/// annals-circuits' `bn254::chain` test `statement_public_inputs_vector` asserts (its digest
/// from the in-circuit keccak's native twin, the packing from `groth16::packed_public_inputs`).
contract AnnalsStatementTest {
    uint256 internal constant INPUT0 = 191474627703323833227218120502677968131;
    uint256 internal constant INPUT1 = 196099032034722794433051176423059328966;

    function inputs(bytes32 q, uint64 from, uint64 to, bytes32 anchor, bytes32 result)
        internal
        pure
        returns (uint256[2] memory)
    {
        return AnnalsStatement.publicInputs(q, from, to, anchor, result);
    }

    function test_matchesTheRustVector() public pure {
        uint256[2] memory got = inputs(
            bytes32(uint256(0x1111111111111111111111111111111111111111111111111111111111111111)),
            19_000_000,
            19_001_023,
            bytes32(uint256(0xa5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5)),
            keccak256("rows")
        );
        require(got[0] == INPUT0 && got[1] == INPUT1, "inputs differ from the Rust side");
        require(got[0] < 2 ** 128 && got[1] < 2 ** 128, "an input is not below 2^128");
    }

    /// Each value moves the inputs (the block numbers are uint64 big-endian in the preimage).
    function test_everyValueCounts() public pure {
        bytes32 q = keccak256("q");
        bytes32 a = keccak256("a");
        bytes32 r = keccak256("r");
        uint256[2] memory base = inputs(q, 1, 2, a, r);
        uint256[2][5] memory moved = [
            inputs(keccak256("q2"), 1, 2, a, r),
            inputs(q, 0, 2, a, r),
            inputs(q, 1, 3, a, r),
            inputs(q, 1, 2, keccak256("a2"), r),
            inputs(q, 1, 2, a, keccak256("r2"))
        ];
        for (uint256 i = 0; i < 5; i++) {
            require(moved[i][0] != base[0] || moved[i][1] != base[1], "a value does not count");
        }
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {AnnalsStatement} from "../src/AnnalsStatement.sol";
import {DemoWrapVerifier} from "./DemoWrapVerifier.sol";
import {DemoWrapFixture} from "./DemoWrapFixture.sol";

/// Real EVM proofs of the mainnet headers demo (blocks 17000000..=17000002, the demo query and
/// another query; made by `ANNALS_REGENERATE_FIXTURES=1 cargo test -p annals-aggregator --test
/// it evm::`: plonky2 MapReduce tree and root, statement/shrink/BN254 layers, Groth16) against
/// the verifier generated from their key. The public inputs are recomputed here from the five
/// statement values with AnnalsStatement, as a consumer contract does. Every check compares
/// the returned bool exactly.
contract DemoWrapVerifierTest {
    DemoWrapVerifier internal verifier;

    function setUp() public {
        verifier = new DemoWrapVerifier();
    }

    function check(
        uint256[2] memory a,
        uint256[4] memory b,
        uint256[2] memory c,
        uint256[2] memory input,
        bool expected,
        string memory what
    ) internal view {
        require(verifier.verifyProof{gas: 2_000_000}(a, b, c, input) == expected, what);
    }

    function demoInputs() internal pure returns (uint256[2] memory) {
        (bytes32 q, uint64 from, uint64 to, bytes32 anchor, bytes32 result) =
            DemoWrapFixture.demoQueryStatement();
        return AnnalsStatement.publicInputs(q, from, to, anchor, result);
    }

    function test_statementGivesTheProofsInputs() public pure {
        (,,, uint256[2] memory input) = DemoWrapFixture.demoQuery();
        uint256[2] memory recomputed = demoInputs();
        require(recomputed[0] == input[0] && recomputed[1] == input[1], "demo inputs differ");
        (bytes32 q, uint64 from, uint64 to, bytes32 anchor, bytes32 result) =
            DemoWrapFixture.otherQueryStatement();
        (,,, input) = DemoWrapFixture.otherQuery();
        recomputed = AnnalsStatement.publicInputs(q, from, to, anchor, result);
        require(recomputed[0] == input[0] && recomputed[1] == input[1], "other inputs differ");
    }

    function test_verifiesTheRealProofs() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c,) =
            DemoWrapFixture.demoQuery();
        check(a, b, c, demoInputs(), true, "the demo proof is rejected");
        uint256[2] memory input;
        (a, b, c, input) = DemoWrapFixture.otherQuery();
        check(a, b, c, input, true, "the other query's proof is rejected");
    }

    /// Each of the five statement values changed (the inputs recomputed from them): false.
    function test_rejectsAnyChangedPublicValue() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c,) =
            DemoWrapFixture.demoQuery();
        (bytes32 q, uint64 from, uint64 to, bytes32 anchor, bytes32 result) =
            DemoWrapFixture.demoQueryStatement();
        bytes32 flip = bytes32(uint256(1));
        check(
            a,
            b,
            c,
            AnnalsStatement.publicInputs(q ^ flip, from, to, anchor, result),
            false,
            "query"
        );
        check(a, b, c, AnnalsStatement.publicInputs(q, from - 1, to, anchor, result), false, "from");
        check(a, b, c, AnnalsStatement.publicInputs(q, from, to + 1, anchor, result), false, "to");
        check(
            a,
            b,
            c,
            AnnalsStatement.publicInputs(q, from, to, anchor ^ flip, result),
            false,
            "anchor"
        );
        check(
            a,
            b,
            c,
            AnnalsStatement.publicInputs(q, from, to, anchor, result ^ flip),
            false,
            "result"
        );
    }

    function test_rejectsAChangedProofWord() public view {
        for (uint256 i = 0; i < 8; i++) {
            (
                uint256[2] memory a,
                uint256[4] memory b,
                uint256[2] memory c,
                uint256[2] memory input
            ) = DemoWrapFixture.demoQuery();
            if (i < 2) a[i] += 1;
            else if (i < 6) b[i - 2] += 1;
            else c[i - 6] += 1;
            check(a, b, c, input, false, "accepted a changed proof word");
        }
    }

    function test_rejectsAnotherQuerysProof() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c,) =
            DemoWrapFixture.otherQuery();
        check(a, b, c, demoInputs(), false, "accepted the other query's proof for the demo query");
    }

    /// Gas of one verification of the demo proof (recorded by `forge snapshot`).
    function test_gasOfOneDemoVerification() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[2] memory input) =
            DemoWrapFixture.demoQuery();
        require(verifier.verifyProof(a, b, c, input), "rejected");
    }
}

// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {InsecureTestWrapVerifier} from "../src/InsecureTestWrapVerifier.sol";
import {WrapFixture} from "./WrapFixture.sol";

/// The generated verifier (from an INSECURE seeded test setup) against real wrapped proofs
/// (WrapFixture, made with the verifier by
/// `ANNALS_REGENERATE_FIXTURES=1 cargo test -p annals-circuits --lib bn254::solidity`): the
/// proof of `x = 3` verifies for its inputs and for nothing else. Every check compares the
/// returned bool exactly; the verifier reverts only when given too little gas. Calls get a 2M gas cap: a point off the
/// curve makes a precompile fail, which consumes the gas forwarded to it, and the verifier
/// returns false with what is left.
contract InsecureTestWrapVerifierTest {
    InsecureTestWrapVerifier internal verifier;

    uint256 internal constant Q =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    function setUp() public {
        verifier = new InsecureTestWrapVerifier();
    }

    function check(
        uint256[2] memory a,
        uint256[4] memory b,
        uint256[2] memory c,
        uint256[1] memory input,
        bool expected,
        string memory what
    ) internal view {
        require(verifier.verifyProof{gas: 2_000_000}(a, b, c, input) == expected, what);
    }

    function test_verifiesTheRealProof() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[1] memory input) =
            WrapFixture.proofX3();
        check(a, b, c, input, true, "the real proof is rejected");
    }

    function test_rejectsAChangedPublicInput() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[1] memory input) =
            WrapFixture.proofX3();
        input[0] += 1;
        check(a, b, c, input, false, "accepted input + 1");
        input[0] -= 1;
        input[0] ^= uint256(1) << 64; // the third 32-bit word (x^5's neighbour) changed
        check(a, b, c, input, false, "accepted a changed high word");
        input[0] ^= uint256(1) << 64;
        input[0] += R; // the same residue, not reduced: refused
        check(a, b, c, input, false, "accepted an input not below r");
    }

    function test_rejectsAChangedProofWord() public view {
        for (uint256 i = 0; i < 8; i++) {
            (
                uint256[2] memory a,
                uint256[4] memory b,
                uint256[2] memory c,
                uint256[1] memory input
            ) = WrapFixture.proofX3();
            if (i < 2) a[i] += 1;
            else if (i < 6) b[i - 2] += 1;
            else c[i - 6] += 1;
            check(a, b, c, input, false, "accepted a changed proof word");
        }
    }

    function test_rejectsAnotherQuerysProof() public view {
        (,,, uint256[1] memory input3) = WrapFixture.proofX3();
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[1] memory input2) =
            WrapFixture.proofX2();
        check(a, b, c, input2, true, "the other real proof is rejected for its own inputs");
        check(a, b, c, input3, false, "accepted another query's proof");
    }

    /// Valid curve points that are not the proof: -A (the pairing fails), and a coordinate
    /// not below q (refused before any precompile).
    function test_rejectsANegatedPointAndAnUnreducedCoordinate() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[1] memory input) =
            WrapFixture.proofX3();
        a[1] = Q - a[1];
        check(a, b, c, input, false, "accepted -A");
        a[1] = Q - a[1];
        c[0] += Q;
        check(a, b, c, input, false, "accepted an unreduced coordinate");
    }

    /// With less than MIN_GAS the verifier reverts with InsufficientGas() rather than answer
    /// false for a valid proof.
    function test_revertsWithTooLittleGas() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[1] memory input) =
            WrapFixture.proofX3();
        try verifier.verifyProof{gas: 100_000}(a, b, c, input) returns (bool) {
            revert("answered with too little gas");
        } catch (bytes memory reason) {
            require(
                bytes4(reason) == InsecureTestWrapVerifier.InsufficientGas.selector,
                "reverted for another reason"
            );
        }
    }

    /// Gas of one verification (recorded by `forge snapshot` in .gas-snapshot).
    function test_gasOfOneVerification() public view {
        (uint256[2] memory a, uint256[4] memory b, uint256[2] memory c, uint256[1] memory input) =
            WrapFixture.proofX3();
        require(verifier.verifyProof(a, b, c, input), "rejected");
    }
}

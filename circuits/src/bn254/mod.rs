//! The plonky2 side of the EVM wrap (issue 6, DESIGN.md §5): a [`GenericConfig`] whose Merkle
//! trees and Fiat–Shamir challenger use Poseidon over the BN254 scalar field `Fr`, so that the
//! last plonky2 proof of a query can be verified by an R1CS circuit over `Fr` (Groth16) without
//! emulating Goldilocks Poseidon for every Merkle hash.
//!
//! - [`poseidon`]: the permutation (width 4, `x^5`, 8 full + 56 partial rounds, constants from
//!   arkworks' Grain LFSR, exactly [`ark_crypto_primitives::sponge::poseidon`]'s), the
//!   [`Hasher`](plonky2::plonk::config::Hasher) [`PoseidonBn254Hash`] and the challenger's
//!   [`PoseidonBn254Permutation`] over 12 Goldilocks elements.
//! - [`goldilocks`]: Goldilocks and its quadratic extension emulated in an R1CS over `Fr`
//!   (range-checked canonical values, one reduction per operation), the arithmetic of the
//!   R1CS verifier to come.
//! - [`poseidon_var`]: the permutation, the Merkle hashing and path verification, and the
//!   challenger's permutation as R1CS gadgets, each tested equal to its native twin;
//!   [`challenger_var`]: plonky2's Fiat–Shamir challenger on them, tested on a real proof's
//!   transcript; [`poseidon_goldilocks_var`]: plonky2's Goldilocks Poseidon (the public-inputs
//!   hash) in R1CS; [`fri_var`]: plonky2's FRI verifier (challenges, query rounds, folding);
//!   [`proof_var`]: a whole proof as witnesses, its transcript, and the FRI check of its
//!   openings, tested on real proofs (accepted as plonky2 accepts, tampered ones rejected);
//!   [`gates_var`]: gate constraints at `zeta` (every gate of plonky2's recursive verifier);
//!   [`plonk_var`]: the vanishing-polynomial identity and [`plonk_var::verify_proof_var`], the
//!   whole R1CS verifier, tested on a recursive-verifier proof;
//!   [`groth16`]: Groth16 (ark-groth16) of that verifier, public inputs packed as 32-bit words;
//!   [`solidity`]: the generated Solidity verifier, calldata words and the R1CS digest that ties
//!   the committed contract and fixture (`contracts/`) to this code.
//! - [`PoseidonBn254GoldilocksConfig`]: Goldilocks field and its quadratic extension (the
//!   circuit is unchanged), [`PoseidonBn254Hash`] for Merkle trees and the challenger, and
//!   Goldilocks Poseidon as the inner hasher (public-input hash), as plonky2 requires an
//!   algebraic one there.
//!
//! - [`chain`]: the plonky2 layers from a query's root proof to the last layer (statement
//!   digest, shrink, the BN254-config last layer) that the Groth16 wrap verifies.

pub mod chain;
pub mod challenger_var;
pub mod fri_var;
pub mod gates_var;
pub mod goldilocks;
pub mod groth16;
pub mod plonk_var;
pub mod poseidon;
pub mod poseidon_goldilocks_var;
pub mod poseidon_var;
pub mod proof_var;
pub mod solidity;

#[cfg(test)]
mod tests;

use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::plonk::config::GenericConfig;

pub use poseidon::{Bn254HashOut, PoseidonBn254Hash, PoseidonBn254Permutation};

/// plonky2 configuration of the last proof before the Groth16 wrap: Goldilocks (`D = 2`),
/// Merkle caps, paths and the Fiat–Shamir transcript hashed with [`PoseidonBn254Hash`].
#[derive(Debug, Copy, Clone, Default, Eq, PartialEq)]
pub struct PoseidonBn254GoldilocksConfig;

impl GenericConfig<2> for PoseidonBn254GoldilocksConfig {
    type F = GoldilocksField;
    type FE = QuadraticExtension<GoldilocksField>;
    type Hasher = PoseidonBn254Hash;
    type InnerHasher = PoseidonHash;
}

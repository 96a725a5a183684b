//! Poseidon over the BN254 scalar field `Fr` (the field of Groth16 over BN254, EIP-196/197),
//! as a plonky2 [`Hasher`] and as the permutation of plonky2's Fiat–Shamir challenger.
//!
//! # Parameters
//! Width `t = 4` (rate 3, capacity 1), S-box `x^5`, 8 full and 56 partial rounds: the round
//! numbers of the Poseidon paper's (ePrint 2019/458, Table 2) 128-bit choice for `t = 4` over
//! a 254-bit field, the ones circomlib uses. Round constants and the MDS matrix come from the
//! paper's Grain LFSR as arkworks generates them ([`find_poseidon_ark_and_mds`], no skipped
//! matrices), so [`ark_crypto_primitives::sponge::poseidon::PoseidonSponge`] natively and its
//! R1CS gadget compute the same function (tests compare all three).
//!
//! arkworks does not run the reference script's checks on the MDS matrix (the
//! invariant-subspace conditions under which `generate_parameters_grain.sage` skips a
//! matrix), but these parameters are exactly circomlib's Poseidon for `t = 4`, a set in
//! wide use: all 16 MDS entries and 256 round constants were compared once
//! with circomlibjs 0.1.7's `poseidon_constants.json`; a test pins four of them and
//! circomlib's `poseidon([1, 2, 3])`.
//!
//! # Goldilocks ↔ `Fr`
//! - A hash absorbs its Goldilocks input three elements per `Fr`
//!   (`x = a + 2^64 b + 2^128 c`, canonical limbs; 192 bits, so the packing is injective; the
//!   hash does not encode the input length, like plonky2's own `hash_no_pad`, which is sound
//!   where lengths are fixed, as for the Merkle leaves of one oracle) into arkworks'
//!   sponge layout (capacity element 0, rate elements 1..=3, absorb by addition) and squeezes
//!   one `Fr`: [`Bn254HashOut`], 32 bytes little-endian, always canonical.
//! - The challenger's [`PoseidonBn254Permutation`] holds plonky2's 12-element state (rate 8):
//!   it packs the state into four `Fr` (three elements each), permutes them, and unpacks the
//!   low 192 bits of each into three 64-bit limbs, each reduced mod `p` (Goldilocks). A reduced
//!   limb is within statistical distance `2^-32` of uniform and no value has more than twice
//!   the uniform probability, which costs at most one bit per base-field element in a
//!   Schwartz–Zippel bound (two for an extension-field challenge such as `zeta`).
//! - Hashes are observed by the challenger as eight 32-bit limbs ([`GenericHashOut::to_vec`]),
//!   an injective encoding of the canonical bytes.

use ark_bn254::Fr;
use ark_crypto_primitives::sponge::poseidon::{find_poseidon_ark_and_mds, PoseidonConfig};
use ark_ff::{BigInt, BigInteger, Field as _, PrimeField, Zero};
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::hashing::PlonkyPermutation;
use plonky2::plonk::config::{GenericHashOut, Hasher};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

type F = GoldilocksField;

/// `Fr` elements of the permutation state.
pub const WIDTH: usize = 4;
/// Rate of the `Fr` sponge (elements absorbed per permutation).
pub const RATE: usize = 3;
/// Full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds (S-box on state element 0 only).
pub const PARTIAL_ROUNDS: usize = 56;
/// S-box exponent (`gcd(5, r − 1) = 1` for BN254's `r`).
pub const ALPHA: u64 = 5;
/// Goldilocks elements packed into one `Fr` (3 × 64 = 192 bits < 254).
pub const GOLDILOCKS_PER_FR: usize = 3;

/// The Poseidon parameters above, in arkworks' form (generated once per process).
pub fn config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            u64::from(Fr::MODULUS_BIT_SIZE),
            RATE,
            FULL_ROUNDS as u64,
            PARTIAL_ROUNDS as u64,
            0,
        );
        PoseidonConfig::new(FULL_ROUNDS, PARTIAL_ROUNDS, ALPHA, mds, ark, RATE, 1)
    })
}

/// The Poseidon permutation on `WIDTH` elements: per round, add the round constants, apply
/// `x^5` (to every element in full rounds, to element 0 in partial rounds), multiply by the
/// MDS matrix.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let c = config();
    let half = FULL_ROUNDS / 2;
    for round in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
        for (s, k) in state.iter_mut().zip(&c.ark[round]) {
            *s += k;
        }
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        for s in &mut state[..if full { WIDTH } else { 1 }] {
            let s2 = s.square();
            *s *= s2.square();
        }
        let old = *state;
        for (s, row) in state.iter_mut().zip(&c.mds) {
            *s = row.iter().zip(&old).map(|(m, x)| *m * x).sum();
        }
    }
}

/// arkworks' `PoseidonSponge` with [`config`]: `absorb(elements)` then `squeeze` of one
/// element (the first rate element after the final permutation).
pub fn sponge_hash(elements: &[Fr]) -> Fr {
    let mut state = [Fr::zero(); WIDTH];
    for (i, chunk) in elements.chunks(RATE).enumerate() {
        if i > 0 {
            permute(&mut state);
        }
        for (s, e) in state[1..].iter_mut().zip(chunk) {
            *s += e;
        }
    }
    permute(&mut state);
    state[1]
}

/// Packs up to three Goldilocks elements into one `Fr`: `a + 2^64 b + 2^128 c`.
pub fn pack(limbs: &[F]) -> Fr {
    assert!(limbs.len() <= GOLDILOCKS_PER_FR, "at most {GOLDILOCKS_PER_FR} limbs per Fr");
    let mut words = [0u64; 4];
    for (w, x) in words.iter_mut().zip(limbs) {
        *w = x.to_canonical_u64();
    }
    Fr::from_bigint(BigInt::new(words)).expect("below 2^192 < r")
}

/// A BN254 Poseidon digest: a canonical `Fr`, 32 bytes little-endian.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "[u8; 32]", into = "[u8; 32]")]
pub struct Bn254HashOut([u8; 32]);

impl Bn254HashOut {
    /// The digest of an `Fr`.
    pub fn from_fr(x: Fr) -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&x.into_bigint().to_bytes_le());
        Self(bytes)
    }

    /// The digest as an `Fr`.
    pub fn to_fr(&self) -> Fr {
        Fr::from_le_bytes_mod_order(&self.0)
    }
}

impl From<[u8; 32]> for Bn254HashOut {
    /// Reduces mod `r`, so that every encoding of a value is the canonical one (a proof cannot
    /// present a second encoding of a Merkle cap to the challenger).
    fn from(bytes: [u8; 32]) -> Self {
        Self::from_fr(Fr::from_le_bytes_mod_order(&bytes))
    }
}

impl From<Bn254HashOut> for [u8; 32] {
    fn from(h: Bn254HashOut) -> Self {
        h.0
    }
}

impl GenericHashOut<F> for Bn254HashOut {
    fn to_bytes(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    /// `bytes` must be 32 bytes (plonky2 reads `HASH_SIZE` bytes); they are reduced mod `r`.
    fn from_bytes(bytes: &[u8]) -> Self {
        let bytes: [u8; 32] = bytes.try_into().expect("a BN254 digest is 32 bytes");
        Self::from(bytes)
    }

    /// Eight 32-bit limbs, little-endian (each below the Goldilocks modulus).
    fn to_vec(&self) -> Vec<F> {
        self.0
            .chunks_exact(4)
            .map(|c| F::from_canonical_u32(u32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect()
    }
}

/// Poseidon over BN254 as plonky2's Merkle-tree hasher (see the module docs for the packing).
#[derive(Copy, Clone, Debug, Eq, PartialEq)]
pub struct PoseidonBn254Hash;

impl Hasher<F> for PoseidonBn254Hash {
    const HASH_SIZE: usize = 32;
    type Hash = Bn254HashOut;
    type Permutation = PoseidonBn254Permutation;

    fn hash_no_pad(input: &[F]) -> Bn254HashOut {
        let packed: Vec<Fr> = input.chunks(GOLDILOCKS_PER_FR).map(pack).collect();
        Bn254HashOut::from_fr(sponge_hash(&packed))
    }

    /// Always hashes: plonky2's default would store a short input's limbs as the digest,
    /// and four 64-bit limbs do not fit a canonical `Fr`.
    fn hash_or_noop(inputs: &[F]) -> Bn254HashOut {
        Self::hash_no_pad(inputs)
    }

    fn two_to_one(left: Bn254HashOut, right: Bn254HashOut) -> Bn254HashOut {
        Bn254HashOut::from_fr(sponge_hash(&[left.to_fr(), right.to_fr()]))
    }
}

/// plonky2's challenger state (12 Goldilocks elements, rate 8) permuted through four `Fr`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PoseidonBn254Permutation {
    state: [F; 12],
}

impl AsRef<[F]> for PoseidonBn254Permutation {
    fn as_ref(&self) -> &[F] {
        &self.state
    }
}

impl PlonkyPermutation<F> for PoseidonBn254Permutation {
    const RATE: usize = 8;
    const WIDTH: usize = 12;

    fn new<I: IntoIterator<Item = F>>(elts: I) -> Self {
        let mut p = Self::default();
        p.set_from_iter(elts, 0);
        p
    }

    fn set_elt(&mut self, elt: F, idx: usize) {
        self.state[idx] = elt;
    }

    fn set_from_iter<I: IntoIterator<Item = F>>(&mut self, elts: I, start_idx: usize) {
        for (s, e) in self.state[start_idx..].iter_mut().zip(elts) {
            *s = e;
        }
    }

    fn set_from_slice(&mut self, elts: &[F], start_idx: usize) {
        self.state[start_idx..start_idx + elts.len()].copy_from_slice(elts);
    }

    fn permute(&mut self) {
        let mut s: [Fr; WIDTH] = core::array::from_fn(|i| {
            pack(&self.state[GOLDILOCKS_PER_FR * i..GOLDILOCKS_PER_FR * (i + 1)])
        });
        permute(&mut s);
        for (i, x) in s.iter().enumerate() {
            let limbs = x.into_bigint().0;
            for j in 0..GOLDILOCKS_PER_FR {
                self.state[GOLDILOCKS_PER_FR * i + j] = F::from_noncanonical_u64(limbs[j]);
            }
        }
    }

    fn squeeze(&self) -> &[F] {
        &self.state[..Self::RATE]
    }
}

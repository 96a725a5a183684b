//! R1CS gadgets over BN254 `Fr` for [`super::poseidon`]: the permutation, the sponge, the
//! plonky2 Merkle hashing of [`PoseidonBn254Hash`](super::PoseidonBn254Hash) and Merkle-path
//! verification to a cap, and the challenger's 12-element Goldilocks permutation
//! ([`PoseidonBn254Permutation`](super::PoseidonBn254Permutation)). Each is the native
//! function's twin; the tests run both on the same inputs.
//!
//! Cost (measured by the tests): a permutation is `3 · (8 · 4 + 56) = 264` constraints (the
//! MDS layers and round constants are linear); the challenger's Goldilocks permutation 3,664
//! (a canonical 254-bit decomposition of each of the four outputs and twelve 64-bit
//! reductions dominate).

use super::goldilocks::GoldilocksVar;
use super::poseidon::{config, FULL_ROUNDS, GOLDILOCKS_PER_FR, PARTIAL_ROUNDS, RATE, WIDTH};
use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::convert::ToBitsGadget;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_relations::r1cs::SynthesisError;

type Result<T> = core::result::Result<T, SynthesisError>;

/// The Poseidon permutation on `WIDTH` `Fr` variables (twin of [`super::poseidon::permute`]).
pub fn permute_var(state: &mut [FpVar<Fr>; WIDTH]) -> Result<()> {
    let c = config();
    let half = FULL_ROUNDS / 2;
    for round in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
        for (s, k) in state.iter_mut().zip(&c.ark[round]) {
            *s += *k;
        }
        let full = round < half || round >= half + PARTIAL_ROUNDS;
        for s in &mut state[..if full { WIDTH } else { 1 }] {
            let s4 = s.square()?.square()?;
            *s = s4 * &*s;
        }
        let old = state.clone();
        for (s, row) in state.iter_mut().zip(&c.mds) {
            *s = row.iter().zip(&old).fold(FpVar::zero(), |acc, (m, x)| acc + x * *m);
        }
    }
    Ok(())
}

/// arkworks' sponge (absorb all, squeeze one) in R1CS (twin of
/// [`super::poseidon::sponge_hash`]).
pub fn sponge_hash_var(elements: &[FpVar<Fr>]) -> Result<FpVar<Fr>> {
    let mut state: [FpVar<Fr>; WIDTH] = core::array::from_fn(|_| FpVar::zero());
    for (i, chunk) in elements.chunks(RATE).enumerate() {
        if i > 0 {
            permute_var(&mut state)?;
        }
        for (s, e) in state[1..].iter_mut().zip(chunk) {
            *s += e;
        }
    }
    permute_var(&mut state)?;
    Ok(state[1].clone())
}

/// `a + 2^64 b + 2^128 c` of up to three canonical Goldilocks variables (linear; twin of
/// [`super::poseidon::pack`]).
pub fn pack_var(limbs: &[GoldilocksVar]) -> FpVar<Fr> {
    assert!(limbs.len() <= GOLDILOCKS_PER_FR);
    let mut shift = Fr::from(1u64);
    let two_64 = Fr::from(u64::MAX) + Fr::from(1u64);
    let mut acc = FpVar::zero();
    for l in limbs {
        acc += l.fr() * shift;
        shift *= two_64;
    }
    acc
}

/// [`PoseidonBn254Hash::hash_no_pad`](plonky2::plonk::config::Hasher::hash_no_pad) (and
/// `hash_or_noop`, which always hashes) of Goldilocks variables: the digest as an `Fr`.
pub fn hash_no_pad_var(input: &[GoldilocksVar]) -> Result<FpVar<Fr>> {
    let packed: Vec<FpVar<Fr>> = input.chunks(GOLDILOCKS_PER_FR).map(pack_var).collect();
    sponge_hash_var(&packed)
}

/// `two_to_one(left, right)` of digests.
pub fn two_to_one_var(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>> {
    sponge_hash_var(&[left.clone(), right.clone()])
}

/// plonky2's `verify_merkle_proof_to_cap` in R1CS: hashes `leaf`, climbs `siblings` (the
/// sibling is on the left where the index bit is 1), and constrains the result to equal the
/// cap entry the remaining index bits select. `index_bits` is little-endian with
/// `siblings.len() + log2(cap.len())` bits; `cap.len()` a power of two.
///
/// # Errors
/// Only [`SynthesisError`]s of the constraint system; a wrong path makes it unsatisfied.
pub fn verify_merkle_proof_to_cap_var(
    leaf: &[GoldilocksVar],
    index_bits: &[Boolean<Fr>],
    cap: &[FpVar<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<()> {
    assert_eq!(1 << (index_bits.len() - siblings.len()), cap.len(), "index bits vs cap size");
    let mut digest = hash_no_pad_var(leaf)?;
    for (bit, sibling) in index_bits.iter().zip(siblings) {
        let left = FpVar::conditionally_select(bit, sibling, &digest)?;
        let right = FpVar::conditionally_select(bit, &digest, sibling)?;
        digest = two_to_one_var(&left, &right)?;
    }
    let cap_index: Vec<Boolean<Fr>> = index_bits[siblings.len()..].iter().rev().cloned().collect();
    let root = if cap.len() == 1 {
        cap[0].clone()
    } else {
        FpVar::conditionally_select_power_of_two_vector(&cap_index, cap)?
    };
    digest.enforce_equal(&root)
}

/// The challenger's permutation in R1CS (twin of
/// [`PoseidonBn254Permutation::permute`](plonky2::hash::hashing::PlonkyPermutation::permute)):
/// pack twelve Goldilocks variables into four `Fr`, permute, and reduce the low three 64-bit
/// limbs of each output's canonical bit decomposition mod `p`.
pub fn goldilocks_permutation_var(state: &[GoldilocksVar; 12]) -> Result<[GoldilocksVar; 12]> {
    let mut s: [FpVar<Fr>; WIDTH] = core::array::from_fn(|i| {
        pack_var(&state[GOLDILOCKS_PER_FR * i..GOLDILOCKS_PER_FR * (i + 1)])
    });
    permute_var(&mut s)?;
    let mut out = Vec::with_capacity(12);
    for x in &s {
        let bits = x.to_bits_le()?;
        for j in 0..GOLDILOCKS_PER_FR {
            let limb = Boolean::le_bits_to_fp(&bits[64 * j..64 * (j + 1)])?;
            out.push(GoldilocksVar::reduce(&limb, 64)?);
        }
    }
    Ok(out.try_into().unwrap_or_else(|_| unreachable!("4 × 3 limbs")))
}

#[cfg(test)]
mod tests {
    use super::super::poseidon::{permute, sponge_hash, Bn254HashOut, PoseidonBn254Hash};
    use super::super::PoseidonBn254Permutation;
    use super::*;
    use ark_ff::UniformRand;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::R1CSVar;
    use ark_relations::r1cs::{ConstraintSystem, ConstraintSystemRef};
    use plonky2::field::goldilocks_field::GoldilocksField;
    use plonky2::field::types::{Field, Sample};
    use plonky2::hash::hashing::PlonkyPermutation;
    use plonky2::hash::merkle_tree::MerkleTree;
    use plonky2::plonk::config::Hasher;
    use rand::SeedableRng;

    type F = GoldilocksField;

    fn witness(cs: &ConstraintSystemRef<Fr>, x: Fr) -> FpVar<Fr> {
        FpVar::new_witness(cs.clone(), || Ok(x)).unwrap()
    }

    fn goldilocks(cs: &ConstraintSystemRef<Fr>, xs: &[F]) -> Vec<GoldilocksVar> {
        xs.iter().map(|x| GoldilocksVar::new_witness(cs, Some(*x)).unwrap()).collect()
    }

    #[test]
    fn permutation_and_hashes_equal_the_native_ones() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let input: [Fr; WIDTH] = core::array::from_fn(|_| Fr::rand(&mut rng));
        let mut native = input;
        permute(&mut native);
        let mut vars = input.map(|x| witness(&cs, x));
        let before = cs.num_constraints();
        permute_var(&mut vars).unwrap();
        eprintln!("Poseidon permutation: {} constraints", cs.num_constraints() - before);
        assert_eq!(vars.iter().map(|v| v.value().unwrap()).collect::<Vec<_>>(), native);
        let elems: Vec<Fr> = (0..7).map(|_| Fr::rand(&mut rng)).collect();
        let evars: Vec<FpVar<Fr>> = elems.iter().map(|x| witness(&cs, *x)).collect();
        assert_eq!(sponge_hash_var(&evars).unwrap().value().unwrap(), sponge_hash(&elems));

        let leaf: Vec<F> = (0..10).map(|_| F::rand()).collect();
        let lvars = goldilocks(&cs, &leaf);
        let h = PoseidonBn254Hash::hash_no_pad(&leaf);
        assert_eq!(hash_no_pad_var(&lvars).unwrap().value().unwrap(), h.to_fr());

        let state: [F; 12] = core::array::from_fn(|i| if i == 5 { F::NEG_ONE } else { F::rand() });
        let mut p = PoseidonBn254Permutation::new(state);
        p.permute();
        let svars: [GoldilocksVar; 12] = goldilocks(&cs, &state).try_into().unwrap();
        let before = cs.num_constraints();
        let out = goldilocks_permutation_var(&svars).unwrap();
        eprintln!("challenger permutation: {} constraints", cs.num_constraints() - before);
        let got: Vec<F> = out.iter().map(|v| v.value().unwrap()).collect();
        assert_eq!(got, p.as_ref());
        assert!(cs.is_satisfied().unwrap());
    }

    /// Merkle paths of a tree plonky2 builds with the BN254 hasher (cap height 2) verify in
    /// R1CS; a flipped leaf element, a wrong sibling, a wrong index or a wrong cap do not.
    #[test]
    fn merkle_paths_verify_and_tampered_ones_do_not() {
        let leaves: Vec<Vec<F>> = (0..32).map(|_| (0..7).map(|_| F::rand()).collect()).collect();
        let tree = MerkleTree::<F, PoseidonBn254Hash>::new(leaves.clone(), 2);
        let index = 13usize;
        let proof = tree.prove(index);
        let run = |leaf: &[F], index: usize, siblings: &[Bn254HashOut], cap: &[Bn254HashOut]| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let lvars = goldilocks(&cs, leaf);
            let bits: Vec<Boolean<Fr>> = (0..5)
                .map(|i| Boolean::new_witness(cs.clone(), || Ok((index >> i) & 1 == 1)).unwrap())
                .collect();
            let cap: Vec<FpVar<Fr>> = cap.iter().map(|h| FpVar::constant(h.to_fr())).collect();
            let sib: Vec<FpVar<Fr>> = siblings.iter().map(|h| witness(&cs, h.to_fr())).collect();
            verify_merkle_proof_to_cap_var(&lvars, &bits, &cap, &sib).unwrap();
            cs.is_satisfied().unwrap()
        };
        let cap = tree.cap.0.clone();
        assert!(run(&leaves[index], index, &proof.siblings, &cap));
        let mut leaf = leaves[index].clone();
        leaf[3] += F::ONE;
        assert!(!run(&leaf, index, &proof.siblings, &cap), "a flipped leaf element");
        let mut siblings = proof.siblings.clone();
        siblings[1] = Bn254HashOut::from_fr(siblings[1].to_fr() + Fr::from(1u64));
        assert!(!run(&leaves[index], index, &siblings, &cap), "a wrong sibling");
        assert!(!run(&leaves[index], index ^ 1, &proof.siblings, &cap), "a wrong index");
        assert!(!run(&leaves[index], index ^ 8, &proof.siblings, &cap), "another cap entry");
        let mut cap2 = cap.clone();
        cap2[index >> 3] = cap2[0];
        assert!(!run(&leaves[index], index, &proof.siblings, &cap2), "a wrong cap");
    }
}

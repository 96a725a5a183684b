//! plonky2's Poseidon over Goldilocks (width 12, `x^7`, 4 + 22 + 4 rounds; constants
//! `plonky2::hash::poseidon::ALL_ROUND_CONSTANTS` and the circulant-plus-diagonal MDS matrix
//! of `plonky2::hash::poseidon::Poseidon`) in an R1CS over BN254 `Fr`, on
//! [`GoldilocksVar`]s: what the R1CS verifier needs for the public-inputs hash of the last
//! plonky2 proof (`InnerHasher = PoseidonHash`).
//!
//! The rounds are the reference ("naive") form of plonky2's permutation: add round constants,
//! S-box (all elements in full rounds, element 0 in partial rounds), MDS. Reductions are lazy:
//! a round-constant sum (`< 2^65`) goes into the S-box or the MDS unreduced, and each MDS
//! output row (coefficients summing to 264, so `< 2^74`) is reduced once.
//!
//! Cost (measured by the tests): 93,690 constraints per permutation, ~545 per S-box
//! (four reductions) and ~80 per MDS row.

use super::goldilocks::GoldilocksVar;
use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::SynthesisError;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::hash::poseidon::{
    Poseidon, ALL_ROUND_CONSTANTS, HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS, SPONGE_RATE, SPONGE_WIDTH,
};

type Result<T> = core::result::Result<T, SynthesisError>;

/// `u^7 mod p` of an unreduced `u < 2^65`, canonical.
fn sbox(u: &FpVar<Fr>) -> Result<GoldilocksVar> {
    let u2 = GoldilocksVar::reduce(&(u * u), 130)?;
    let u3 = GoldilocksVar::reduce(&(u2.fr() * u), 129)?;
    let u4 = u2.mul(&u2)?;
    u4.mul(&u3)
}

/// plonky2's Poseidon permutation on twelve canonical Goldilocks variables.
pub fn goldilocks_poseidon_var(
    state: &[GoldilocksVar; SPONGE_WIDTH],
) -> Result<[GoldilocksVar; SPONGE_WIDTH]> {
    let circ = <GoldilocksField as Poseidon>::MDS_MATRIX_CIRC;
    let diag = <GoldilocksField as Poseidon>::MDS_MATRIX_DIAG;
    let mut s: Vec<GoldilocksVar> = state.to_vec();
    let n_rounds = 2 * HALF_N_FULL_ROUNDS + N_PARTIAL_ROUNDS;
    for round in 0..n_rounds {
        let partial = HALF_N_FULL_ROUNDS..HALF_N_FULL_ROUNDS + N_PARTIAL_ROUNDS;
        let full = !partial.contains(&round);
        // Round constants (unreduced, < 2^65), then the S-box layer.
        let mut v: Vec<FpVar<Fr>> = Vec::with_capacity(SPONGE_WIDTH);
        for (i, x) in s.iter().enumerate() {
            let c = Fr::from(ALL_ROUND_CONSTANTS[i + SPONGE_WIDTH * round]);
            let u = x.fr() + c;
            v.push(if full || i == 0 { sbox(&u)?.fr().clone() } else { u });
        }
        // MDS: row r = Σ_i v[(i + r) mod 12] · circ[i] + v[r] · diag[r].
        s = (0..SPONGE_WIDTH)
            .map(|r| {
                let mut row = &v[r] * Fr::from(diag[r]);
                for (i, c) in circ.iter().enumerate() {
                    row += &v[(i + r) % SPONGE_WIDTH] * Fr::from(*c);
                }
                GoldilocksVar::reduce(&row, 74)
            })
            .collect::<Result<_>>()?;
    }
    Ok(s.try_into().unwrap_or_else(|_| unreachable!("width 12")))
}

/// `PoseidonHash::hash_no_pad` (plonky2's `hash_n_to_m_no_pad` with 4 outputs): overwrite the
/// rate with each 8-element chunk and permute; the digest is the first four elements.
pub fn goldilocks_hash_no_pad_var(inputs: &[GoldilocksVar]) -> Result<[GoldilocksVar; 4]> {
    let mut state: [GoldilocksVar; SPONGE_WIDTH] =
        core::array::from_fn(|_| GoldilocksVar::constant(GoldilocksField::ZERO));
    for chunk in inputs.chunks(SPONGE_RATE) {
        state[..chunk.len()].clone_from_slice(chunk);
        state = goldilocks_poseidon_var(&state)?;
    }
    Ok(core::array::from_fn(|i| state[i].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::{ConstraintSystem, ConstraintSystemRef};
    use plonky2::field::types::Sample;
    use plonky2::hash::poseidon::PoseidonHash;
    use plonky2::plonk::config::Hasher;

    type F = GoldilocksField;

    fn vars(cs: &ConstraintSystemRef<Fr>, xs: &[F]) -> Vec<GoldilocksVar> {
        xs.iter().map(|x| GoldilocksVar::new_witness(cs, Some(*x)).unwrap()).collect()
    }

    #[test]
    fn permutation_and_hash_equal_plonky2() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let input: [F; SPONGE_WIDTH] =
            core::array::from_fn(|i| if i < 2 { F::NEG_ONE } else { F::rand() });
        let before = cs.num_constraints();
        let out = goldilocks_poseidon_var(&vars(&cs, &input).try_into().unwrap()).unwrap();
        eprintln!("Goldilocks Poseidon permutation: {} constraints", cs.num_constraints() - before);
        let got: Vec<F> = out.iter().map(|x| x.value().unwrap()).collect();
        assert_eq!(got, F::poseidon(input));

        // 26 inputs, the root statement's length: four permutations.
        let pis: Vec<F> = (0..26).map(|_| F::rand()).collect();
        let h = goldilocks_hash_no_pad_var(&vars(&cs, &pis)).unwrap();
        let got: Vec<F> = h.iter().map(|x| x.value().unwrap()).collect();
        assert_eq!(got, PoseidonHash::hash_no_pad(&pis).elements);
        assert!(cs.is_satisfied().unwrap());

        // A wrong claimed digest is unsatisfiable.
        let wrong = GoldilocksVar::constant(got[0] + F::ONE);
        h[0].enforce_equal(&wrong).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}

//! One FRI folding step in an R1CS over BN254 `Fr`: from the evaluations of a layer's
//! polynomial on the coset of `arity = 2^k` points that contains `x`, the value of the next
//! layer's polynomial, i.e. the interpolant of those points evaluated at the folding
//! challenge `beta` (plonky2 1.1's `fri::verifier::compute_evaluation`, in the same order).
//!
//! # Order (plonky2's)
//! The opened `evals` are in bit-reversed order within the coset; `x` is the query point and
//! `index` (`k` bits, little-endian) its position within the coset. With `g` a primitive
//! `2^k`-th root of unity, `rev` the bit reversal of `index`, the coset starts at
//! `s = x · g^{−rev}` and point `i` is `s · g^i` with value `evals[reverse_bits(i)]`.
//!
//! # Formula
//! On a coset the barycentric weights have a closed form: with `n = 2^k`,
//! `Π_{j≠i}(x_i − x_j) = n · x_i^{n−1}`, so
//! `P(β) = (β^n − s^n) / (n · s^n) · Σ_i x_i · y_i / (β − x_i)`. Every inverse is a witness
//! checked by a multiplication; `β` on the coset makes the step unsatisfiable (probability
//! `n / p^2` for a random `β`).
//!
//! Cost (measured by the test): 4,115 constraints for arity 2, 24,051 for arity 16 (about
//! 1,400 per coset point: an extension inverse and two extension products each).

use super::goldilocks::{GoldilocksExtVar, GoldilocksVar};
use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::SynthesisError;
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};

type Result<T> = core::result::Result<T, SynthesisError>;

/// `P'(x^n)` from `evals` = `P` on the coset of `x` (see the module docs); `index` is the
/// position of `x` within its coset (`k` bits, little-endian) and `evals.len() = 2^k`.
///
/// Preconditions the caller (the FRI query check) must constrain: `x` is the query point
/// that `index` and the query's remaining index bits name (plonky2's `subgroup_x`), and
/// `evals[index]` equals the previous layer's folded value (or the initial openings'
/// combination), as plonky2's verifier checks.
///
/// # Errors
/// Only [`SynthesisError`]s of the constraint system.
pub fn fri_fold_var(
    x: &GoldilocksVar,
    index: &[Boolean<Fr>],
    evals: &[GoldilocksExtVar],
    beta: &GoldilocksExtVar,
) -> Result<GoldilocksExtVar> {
    type F = GoldilocksField;
    let k = index.len();
    let n = 1usize << k;
    assert_eq!(evals.len(), n, "2^{k} evaluations");
    let g = F::primitive_root_of_unity(k);
    let g_inv = g.inverse();
    // s = x · Π_j (g^{−2^j})^{rev_j}, rev_j = index_{k−1−j}: each factor is a linear selection
    // between two constants.
    let mut s = x.clone();
    for j in 0..k {
        let c = g_inv.exp_power_of_2(j);
        let bit = FpVar::from(index[k - 1 - j].clone());
        let factor = bit * Fr::from(c.to_canonical_u64() - 1) + Fr::from(1u64);
        s = GoldilocksVar::reduce(&(s.fr() * &factor), 128)?;
    }
    // s^n by k squarings, β^n likewise.
    let mut s_n = s.clone();
    let mut beta_n = beta.clone();
    for _ in 0..k {
        s_n = s_n.mul(&s_n)?;
        beta_n = beta_n.mul(&beta_n)?;
    }
    // Σ_i x_i · y_i / (β − x_i), with y_i = evals[reverse_bits(i)].
    let mut sum = GoldilocksExtVar::constant(QuadraticExtension([F::ZERO, F::ZERO]));
    for i in 0..n {
        let x_i = GoldilocksVar::reduce(
            &(s.fr() * Fr::from(g.exp_u64(i as u64).to_canonical_u64())),
            128,
        )?;
        let y_i = &evals[reverse_bits(i, k)];
        let d = GoldilocksExtVar([beta.0[0].sub(&x_i)?, beta.0[1].clone()]);
        let term = d.inverse()?.mul(&y_i.scalar_mul(&x_i)?)?;
        sum = sum.add(&term)?;
    }
    // (β^n − s^n) / (n · s^n) · sum.
    let n_s_n = GoldilocksVar::reduce(&(s_n.fr() * Fr::from(n as u64)), 128)?;
    let l = GoldilocksExtVar([beta_n.0[0].sub(&s_n)?, beta_n.0[1].clone()]);
    l.scalar_mul(&n_s_n.inverse()?)?.mul(&sum)
}

/// `i` with its low `k` bits reversed.
fn reverse_bits(i: usize, k: usize) -> usize {
    (0..k).fold(0, |r, j| r | (((i >> j) & 1) << (k - 1 - j)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_relations::r1cs::ConstraintSystem;
    use plonky2::field::extension::Extendable;
    use plonky2::field::interpolation::{barycentric_weights, interpolate};
    use plonky2::field::types::Sample;
    use plonky2::util::reverse_index_bits_in_place;

    type F = GoldilocksField;
    type E = <F as Extendable<2>>::Extension;

    /// plonky2's folding step, written from its definition with plonky2's public
    /// interpolation: reorder the coset evaluations, locate the coset start, interpolate.
    fn reference(x: F, index: usize, k: usize, evals: &[E], beta: E) -> E {
        let n = 1usize << k;
        let g = F::primitive_root_of_unity(k);
        let mut evals = evals.to_vec();
        reverse_index_bits_in_place(&mut evals);
        let start = x * g.exp_u64((n - reverse_bits(index, k)) as u64);
        let points: Vec<(E, E)> =
            (0..n).map(|i| (E::from(start * g.exp_u64(i as u64)), evals[i])).collect();
        interpolate(&points, beta, &barycentric_weights(&points))
    }

    #[test]
    fn folding_equals_plonky2_interpolation_and_a_wrong_claim_is_unsatisfiable() {
        for (k, index) in [(1, 1), (2, 2), (3, 5), (4, 9), (4, 0)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let x = F::rand();
            let evals: Vec<E> = (0..1 << k).map(|_| E::rand()).collect();
            let beta = E::rand();
            let expected = reference(x, index, k, &evals, beta);
            let xv = GoldilocksVar::new_witness(&cs, Some(x)).unwrap();
            let bits: Vec<Boolean<Fr>> = (0..k)
                .map(|j| Boolean::new_witness(cs.clone(), || Ok((index >> j) & 1 == 1)).unwrap())
                .collect();
            let ev: Vec<GoldilocksExtVar> = evals
                .iter()
                .map(|e| GoldilocksExtVar::new_witness(&cs, Some(*e)).unwrap())
                .collect();
            let bv = GoldilocksExtVar::new_witness(&cs, Some(beta)).unwrap();
            let before = cs.num_constraints();
            let got = fri_fold_var(&xv, &bits, &ev, &bv).unwrap();
            eprintln!("FRI fold, arity 2^{k}: {} constraints", cs.num_constraints() - before);
            assert_eq!(got.value(), Some(expected), "arity 2^{k}");
            assert!(cs.is_satisfied().unwrap());
            got.enforce_equal(&GoldilocksExtVar::constant(expected + E::ONE)).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "a wrong folded value");
        }
    }
}

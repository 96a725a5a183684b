//! plonky2's FRI verifier in an R1CS over BN254 `Fr`: the challenges after the openings
//! ([`fri_challenges_var`]: `alpha`, the `beta`s, the proof of work, the query indices), the
//! query rounds ([`verify_fri_var`]: initial Merkle paths, the openings combined with `alpha`,
//! the folding steps and their paths, the final polynomial), and the folding step itself
//! ([`fri_fold_var`]). Tested on real proofs in [`super::proof_var`].
//!
//! # The folding step
//! From the evaluations of a layer's
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
//! `P(β) = (β^n − s^n) / (n · s^n) · Σ_i x_i · y_i / (β − x_i)`. Each quotient is a witness
//! whose product with `β − x_i` is checked congruent to `x_i · y_i` on unreduced values, and the
//! quotients are summed before one reduction. If `β` lies on the coset (probability `n / p^2`
//! for a random `β`), the step is unsatisfiable unless that point's value is 0, when its
//! quotient is free (plonky2 returns the point's value there); otherwise every quotient is
//! determined.
//!
//! # Cost (measured by the tests)
//! Folding: 2,483 constraints for arity 2, 10,007 for arity 16 (about 470 per coset point).
//! The whole check of a standard-config proof (28 queries, two arity-16 steps, caps of 16) with
//! its transcript: 2,667,313; per query round about 77k (range checks and hashing of about 250
//! opened leaf values, four initial paths, two folds with their leaves and paths).

use super::challenger_var::ChallengerVar;
use super::goldilocks::{enforce_ext_quotient, GoldilocksExtVar, GoldilocksVar};
use super::poseidon_var::verify_merkle_proof_to_cap_var;
use super::{Bn254HashOut, PoseidonBn254Hash};
use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::fri::proof::FriProof;
use plonky2::fri::structure::FriPolynomialInfo;
use plonky2::fri::FriParams;

type Result<T> = core::result::Result<T, SynthesisError>;
type F = GoldilocksField;
type E = QuadraticExtension<GoldilocksField>;

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
    let k = index.len();
    let n = 1usize << k;
    assert_eq!(evals.len(), n, "2^{k} evaluations");
    let g = F::primitive_root_of_unity(k);
    // s = x · g^{−rev(index)}.
    let s = mul_by_power_at_reversed_index(x.clone(), g.inverse(), index)?;
    // s^n by k squarings, β^n likewise.
    let mut s_n = s.clone();
    let mut beta_n = beta.clone();
    for _ in 0..k {
        s_n = s_n.mul(&s_n)?;
        beta_n = beta_n.mul(&beta_n)?;
    }
    // Σ_i x_i · y_i / (β − x_i), with y_i = evals[reverse_bits(i)]: each quotient a witness
    // checked on unreduced values (numerator x_i·y_i < p^2, denominator β0 + p − x_i < 2p), the
    // canonical quotients summed and reduced once.
    let (mut sum0, mut sum1) = (FpVar::zero(), FpVar::zero());
    let p = Fr::from(super::goldilocks::P);
    for i in 0..n {
        let x_i = GoldilocksVar::reduce(
            &(s.fr() * Fr::from(g.exp_u64(i as u64).to_canonical_u64())),
            128,
        )?;
        let y_i = &evals[reverse_bits(i, k)];
        let num = [x_i.fr() * y_i.0[0].fr(), x_i.fr() * y_i.0[1].fr()];
        let den = [beta.0[0].fr() + p - x_i.fr(), beta.0[1].fr().clone()];
        let num_value = x_i.value().zip(y_i.value()).map(|(x, y): (F, E)| E::from(x) * y);
        let den_value = beta.value().zip(x_i.value()).map(|(b, x): (E, F)| b - E::from(x));
        let q = enforce_ext_quotient(&num, num_value, &den, den_value)?;
        sum0 += q.0[0].fr();
        sum1 += q.0[1].fr();
    }
    // n canonical quotients: below 2^(64 + k).
    let sum = GoldilocksExtVar([
        GoldilocksVar::reduce(&sum0, 64 + k)?,
        GoldilocksVar::reduce(&sum1, 64 + k)?,
    ]);
    // (β^n − s^n) / (n · s^n) · sum.
    let n_s_n = GoldilocksVar::reduce(&(s_n.fr() * Fr::from(n as u64)), 128)?;
    let l = GoldilocksExtVar([beta_n.0[0].sub(&s_n)?, beta_n.0[1].clone()]);
    l.scalar_mul(&n_s_n.inverse()?)?.mul(&sum)
}

/// A FRI proof ([`FriProof`] under [`PoseidonBn254Hash`]) as R1CS witnesses: digests as
/// `Fr` variables, Goldilocks values range-checked.
#[derive(Clone, Debug)]
pub struct FriProofVar {
    /// One Merkle cap per reduction step (`2^cap_height` digests each).
    pub commit_phase_caps: Vec<Vec<FpVar<Fr>>>,
    /// One per query round.
    pub query_rounds: Vec<FriQueryRoundVar>,
    /// The final polynomial's coefficients, lowest degree first.
    pub final_poly: Vec<GoldilocksExtVar>,
    /// The proof-of-work witness.
    pub pow_witness: GoldilocksVar,
}

/// One FRI query round: the initial oracles' leaves and paths, then per reduction step the
/// coset's evaluations (`2^arity_bits` extension elements) and their path.
#[derive(Clone, Debug)]
pub struct FriQueryRoundVar {
    /// Per initial oracle (plonky2's order: constants and sigmas, wires, `Z`s and partial
    /// products, quotient): the opened leaf and its Merkle siblings, bottom first.
    pub initial: Vec<(Vec<GoldilocksVar>, Vec<FpVar<Fr>>)>,
    /// Per reduction step: the coset's evaluations and their Merkle siblings.
    pub steps: Vec<(Vec<GoldilocksExtVar>, Vec<FpVar<Fr>>)>,
}

/// The allocation of a digest.
pub(crate) fn digest_var(cs: &ConstraintSystemRef<Fr>, h: &Bn254HashOut) -> Result<FpVar<Fr>> {
    FpVar::new_witness(cs.clone(), || Ok(h.to_fr()))
}

/// The allocation of a Merkle cap or path.
pub(crate) fn digests_var(
    cs: &ConstraintSystemRef<Fr>,
    hs: &[Bn254HashOut],
) -> Result<Vec<FpVar<Fr>>> {
    hs.iter().map(|h| digest_var(cs, h)).collect()
}

/// The allocation of extension elements.
pub(crate) fn ext_vars(cs: &ConstraintSystemRef<Fr>, es: &[E]) -> Result<Vec<GoldilocksExtVar>> {
    es.iter().map(|e| GoldilocksExtVar::new_witness(cs, Some(*e))).collect()
}

impl FriProofVar {
    /// Allocates `proof` as witnesses (its values are not read in setup mode; its shape is
    /// what the constraints follow).
    ///
    /// # Errors
    /// Only [`SynthesisError`]s of the constraint system.
    pub fn new_witness(
        cs: &ConstraintSystemRef<Fr>,
        proof: &FriProof<GoldilocksField, PoseidonBn254Hash, 2>,
    ) -> Result<Self> {
        let query_rounds = proof
            .query_round_proofs
            .iter()
            .map(|q| {
                let initial = q
                    .initial_trees_proof
                    .evals_proofs
                    .iter()
                    .map(|(leaf, path)| {
                        let leaf = leaf
                            .iter()
                            .map(|x| GoldilocksVar::new_witness(cs, Some(*x)))
                            .collect::<Result<Vec<_>>>()?;
                        Ok((leaf, digests_var(cs, &path.siblings)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let steps = q
                    .steps
                    .iter()
                    .map(|s| {
                        Ok((ext_vars(cs, &s.evals)?, digests_var(cs, &s.merkle_proof.siblings)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(FriQueryRoundVar { initial, steps })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            commit_phase_caps: proof
                .commit_phase_merkle_caps
                .iter()
                .map(|c| digests_var(cs, &c.0))
                .collect::<Result<_>>()?,
            query_rounds,
            final_poly: ext_vars(cs, &proof.final_poly.coeffs)?,
            pow_witness: GoldilocksVar::new_witness(cs, Some(proof.pow_witness))?,
        })
    }
}

/// The FRI challenges drawn after the openings at `zeta` are observed.
#[derive(Clone, Debug)]
pub struct FriChallengesVar {
    /// The challenge combining all opened polynomials.
    pub alpha: GoldilocksExtVar,
    /// One folding challenge per reduction step.
    pub betas: Vec<GoldilocksExtVar>,
    /// Per query round, the LDE index's `log2(lde_size)` bits, little-endian.
    pub query_index_bits: Vec<Vec<Boolean<Fr>>>,
}

/// plonky2's `Challenger::fri_challenges` (plonky2 1.1, fri/challenges.rs) in R1CS, continuing
/// `challenger` after the openings: `alpha`, one `beta` per commit-phase cap observed, the final
/// polynomial and the proof-of-work witness observed; the proof of work checked (the top
/// `proof_of_work_bits` bits of the canonical response are zero, as
/// `fri_verify_proof_of_work` requires); then the query indices, each the low
/// `log2(lde_size)` bits of a challenge (plonky2's `% lde_size` of a power of two).
///
/// # Errors
/// Only [`SynthesisError`]s; an insufficient proof of work makes the system unsatisfied.
pub fn fri_challenges_var(
    challenger: &mut ChallengerVar,
    proof: &FriProofVar,
    params: &FriParams,
) -> Result<FriChallengesVar> {
    let alpha = challenger.get_extension_challenge()?;
    let betas = proof
        .commit_phase_caps
        .iter()
        .map(|cap| {
            challenger.observe_cap(cap)?;
            challenger.get_extension_challenge()
        })
        .collect::<Result<Vec<_>>>()?;
    for c in &proof.final_poly {
        challenger.observe_extension_element(c)?;
    }
    challenger.observe_element(&proof.pow_witness)?;
    let response = challenger.get_challenge()?.to_bits_le()?;
    let pow_bits = params.config.proof_of_work_bits as usize;
    for bit in &response[64 - pow_bits..] {
        bit.enforce_equal(&Boolean::FALSE)?;
    }
    let lde_bits = params.lde_bits();
    let query_index_bits = (0..params.config.num_query_rounds)
        .map(|_| Ok(challenger.get_challenge()?.to_bits_le()?[..lde_bits].to_vec()))
        .collect::<Result<Vec<_>>>()?;
    Ok(FriChallengesVar { alpha, betas, query_index_bits })
}

/// The polynomials opened at one point: the point, which oracle leaf entry each polynomial
/// is, and the claimed values (same order).
#[derive(Clone, Debug)]
pub struct FriBatchVar {
    /// The opening point (`zeta`, `g · zeta`).
    pub point: GoldilocksExtVar,
    /// Each polynomial's oracle and index within the oracle's leaf.
    pub polynomials: Vec<FriPolynomialInfo>,
    /// The claimed values at `point`.
    pub values: Vec<GoldilocksExtVar>,
}

/// plonky2's `verify_fri_proof` (plonky2 1.1, fri/verifier.rs) in R1CS, without hiding
/// (no salt): for every query round, each initial leaf is in its oracle's cap at the query
/// index, the openings combined with powers of `alpha` are consistent with the leaves
/// (`Σ_b alpha^{…} (reduce(leaf values) − reduce(claimed values)) / (x − point_b)`, plonky2's
/// `fri_combine_initial`), each folding step starts from the previous value and its coset is
/// in its commit-phase cap, and the final polynomial at the last `x` equals the last folded
/// value. `x` (plonky2's `subgroup_x`) is `g · ω^{rev(index)}` from the index bits.
///
/// Sums of products are reduced once (lazy reduction, [`GoldilocksExtVar::inner_product`]):
/// the powers of `alpha` and the claimed values' combination are shared by all rounds.
///
/// # Panics
/// If the proof's shape does not match `params` (the caller allocates it for this circuit).
///
/// # Errors
/// Only [`SynthesisError`]s; a proof plonky2 rejects makes the system unsatisfied.
pub fn verify_fri_var(
    batches: &[FriBatchVar],
    challenges: &FriChallengesVar,
    initial_caps: &[Vec<FpVar<Fr>>],
    proof: &FriProofVar,
    params: &FriParams,
) -> Result<()> {
    assert!(!params.hiding, "the R1CS verifier supports unsalted (non-hiding) proofs only");
    assert_eq!(proof.query_rounds.len(), params.config.num_query_rounds, "query rounds");
    assert_eq!(proof.commit_phase_caps.len(), params.reduction_arity_bits.len(), "steps");
    assert_eq!(proof.final_poly.len(), params.final_poly_len(), "final polynomial length");
    let one = GoldilocksExtVar::constant(E::ONE);
    let max_len = batches.iter().map(|b| b.polynomials.len()).max().unwrap_or(0);
    let mut alpha_powers = vec![one];
    while alpha_powers.len() <= max_len {
        let next = alpha_powers.last().expect("nonempty").mul(&challenges.alpha)?;
        alpha_powers.push(next);
    }
    let reduced_openings = batches
        .iter()
        .map(|b| GoldilocksExtVar::inner_product(&alpha_powers[..b.values.len()], &b.values))
        .collect::<Result<Vec<_>>>()?;
    let lde_bits = params.lde_bits();
    let omega = F::primitive_root_of_unity(lde_bits);
    assert_eq!(challenges.query_index_bits.len(), proof.query_rounds.len(), "query indices");
    for b in batches {
        assert_eq!(b.values.len(), b.polynomials.len(), "values per batch");
    }
    for (round, bits) in proof.query_rounds.iter().zip(&challenges.query_index_bits) {
        assert_eq!(bits.len(), lde_bits, "query index bits");
        assert_eq!(round.initial.len(), initial_caps.len(), "initial oracles");
        assert_eq!(round.steps.len(), params.reduction_arity_bits.len(), "query steps");
        for ((leaf, path), cap) in round.initial.iter().zip(initial_caps) {
            verify_merkle_proof_to_cap_var(leaf, bits, cap, path)?;
        }
        // subgroup_x = g · ω^{rev(index)}.
        let generator = GoldilocksVar::constant(F::MULTIPLICATIVE_GROUP_GENERATOR);
        let mut x = mul_by_power_at_reversed_index(generator, omega, bits)?;
        // fri_combine_initial: batch by batch, sum ← alpha^{len(b)} · sum + (reduced leaf
        // values − reduced openings) / (x − point).
        let mut sum = GoldilocksExtVar::constant(E::ZERO);
        for (b, reduced) in batches.iter().zip(&reduced_openings) {
            let evals: Vec<GoldilocksVar> = b
                .polynomials
                .iter()
                .map(|p| round.initial[p.oracle_index].0[p.polynomial_index].clone())
                .collect();
            let reduced_evals =
                GoldilocksExtVar::inner_product_base(&alpha_powers[..evals.len()], &evals)?;
            let numerator = reduced_evals.sub(reduced)?;
            let x_ext = GoldilocksExtVar([x.clone(), GoldilocksVar::constant(F::ZERO)]);
            let denominator = x_ext.sub(&b.point)?;
            let shifted = sum.mul(&alpha_powers[evals.len()])?;
            sum = shifted.add(&numerator.div(&denominator)?)?;
        }
        let mut old_eval = sum;
        let mut offset = 0;
        for (i, &arity_bits) in params.reduction_arity_bits.iter().enumerate() {
            let (evals, path) = &round.steps[i];
            assert_eq!(evals.len(), 1 << arity_bits, "coset size of step {i}");
            let within = &bits[offset..offset + arity_bits];
            let coset_index = &bits[offset + arity_bits..];
            // The coset's entry at x's position is the previous value.
            let msb_first: Vec<Boolean<Fr>> = within.iter().rev().cloned().collect();
            let at = |c: usize| {
                let column: Vec<FpVar<Fr>> = evals.iter().map(|e| e.0[c].fr().clone()).collect();
                FpVar::conditionally_select_power_of_two_vector(&msb_first, &column)
            };
            at(0)?.enforce_equal(old_eval.0[0].fr())?;
            at(1)?.enforce_equal(old_eval.0[1].fr())?;
            old_eval = fri_fold_var(&x, within, evals, &challenges.betas[i])?;
            let leaf: Vec<GoldilocksVar> = evals.iter().flat_map(|e| e.0.clone()).collect();
            verify_merkle_proof_to_cap_var(&leaf, coset_index, &proof.commit_phase_caps[i], path)?;
            for _ in 0..arity_bits {
                x = x.mul(&x)?;
            }
            offset += arity_bits;
        }
        // The final polynomial at x (Horner, highest coefficient first).
        let mut acc = GoldilocksExtVar::constant(E::ZERO);
        for c in proof.final_poly.iter().rev() {
            acc = acc.scalar_mul_add(&x, c)?;
        }
        acc.enforce_equal(&old_eval)?;
    }
    Ok(())
}

/// `x · base^{rev(bits)}`, `rev(bits)` the integer whose bit `j` is `bits[len − 1 − j]`
/// (`bits` little-endian): one factor per bit, each a linear selection between 1 and the
/// constant `base^{2^j}`, one reduction per factor (bound `p · 2^64 < 2^128`).
fn mul_by_power_at_reversed_index(
    mut x: GoldilocksVar,
    base: F,
    bits: &[Boolean<Fr>],
) -> Result<GoldilocksVar> {
    let k = bits.len();
    for j in 0..k {
        let c = base.exp_power_of_2(j).to_canonical_u64();
        let bit = FpVar::from(bits[k - 1 - j].clone());
        let factor = bit * Fr::from(c - 1) + Fr::from(1u64);
        x = GoldilocksVar::reduce(&(x.fr() * &factor), 128)?;
    }
    Ok(x)
}

/// `i` with its low `k` bits reversed.
fn reverse_bits(i: usize, k: usize) -> usize {
    (0..k).fold(0, |r, j| r | (((i >> j) & 1) << (k - 1 - j)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::R1CSVar;
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

    /// The proof-of-work check holds for exactly as many top zero bits as the response has:
    /// with `proof_of_work_bits` equal to the response's leading zeros it is satisfied, with
    /// one more it is not; the query indices equal plonky2's either way.
    #[test]
    fn proof_of_work_is_checked_to_the_bit() {
        use plonky2::field::polynomial::PolynomialCoeffs;
        use plonky2::fri::reduction_strategies::FriReductionStrategy;
        use plonky2::fri::FriConfig;
        use plonky2::hash::merkle_tree::MerkleCap;
        use plonky2::iop::challenger::Challenger;
        use plonky2::plonk::config::GenericHashOut;
        type C = super::super::PoseidonBn254GoldilocksConfig;

        let caps =
            vec![MerkleCap::<F, PoseidonBn254Hash>(vec![Bn254HashOut::from_bytes(&[1; 32])])];
        let final_poly = PolynomialCoeffs::new(vec![E::rand(), E::rand()]);
        let params = |pow_bits| FriParams {
            config: FriConfig {
                rate_bits: 1,
                cap_height: 0,
                proof_of_work_bits: pow_bits,
                reduction_strategy: FriReductionStrategy::Fixed(vec![1]),
                num_query_rounds: 3,
            },
            hiding: false,
            degree_bits: 3,
            reduction_arity_bits: vec![1],
        };
        let native = |w: F| {
            let mut c = Challenger::<F, PoseidonBn254Hash>::new();
            c.observe_element(F::ONE);
            c.fri_challenges::<C, 2>(&caps, &final_poly, w, 3, &params(0).config, None, None)
        };
        // A witness whose response has at least 3 leading zeros (a few dozen tries).
        let (w, expected) = (0u64..)
            .map(|i| (F::from_canonical_u64(i), native(F::from_canonical_u64(i))))
            .find(|(_, ch)| ch.fri_pow_response.to_canonical_u64().leading_zeros() >= 3)
            .expect("a witness");
        let zeros = expected.fri_pow_response.to_canonical_u64().leading_zeros();
        for (pow_bits, satisfied) in [(zeros, true), (zeros + 1, false)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut c = ChallengerVar::new();
            c.observe_element(&GoldilocksVar::constant(F::ONE)).unwrap();
            let proof = FriProofVar {
                commit_phase_caps: vec![digests_var(&cs, &caps[0].0).unwrap()],
                query_rounds: vec![],
                final_poly: ext_vars(&cs, &final_poly.coeffs).unwrap(),
                pow_witness: GoldilocksVar::new_witness(&cs, Some(w)).unwrap(),
            };
            let got = fri_challenges_var(&mut c, &proof, &params(pow_bits)).unwrap();
            let indices: Vec<usize> = got
                .query_index_bits
                .iter()
                .map(|b| {
                    b.iter().enumerate().map(|(i, b)| usize::from(b.value().unwrap()) << i).sum()
                })
                .collect();
            assert_eq!(indices, expected.fri_query_indices);
            assert_eq!(got.alpha.value(), Some(expected.fri_alpha));
            assert_eq!(cs.is_satisfied().unwrap(), satisfied, "{pow_bits} bits, {zeros} zeros");
        }
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

//! The second half of the R1CS verifier: the vanishing-polynomial identity at `zeta`, which ties
//! a proof's openings to the circuit, and [`verify_proof_var`], the whole verifier (plonky2 1.1's
//! `verify_with_challenges`, plonk/verifier.rs, with `eval_vanishing_poly` of
//! plonk/vanishing_poly.rs).
//!
//! For each challenge `i`, with `n = 2^degree_bits` and `alpha_i` a base-field challenge, the
//! vanishing terms are `L_0(zeta) (Z_i(zeta) − 1)`, the partial-product checks of the
//! permutation argument (`prev · Π (wire + beta·k_j·zeta + gamma) − next · Π (wire +
//! beta·sigma_j + gamma)` over chunks of `quotient_degree_factor` routed wires, `prev`/`next`
//! running from `Z(zeta)` through the partial products to `Z(g·zeta)`), then the gate
//! constraints (each gate's constraints times its selector filter, summed by index); they are
//! combined with powers of `alpha_i` and must equal `(zeta^n − 1) · Σ_j q_{i,j} zeta^{n j}`, the
//! quotient chunks' combination.
//!
//! The combination is linear, so each gate's constraints are combined with the powers of
//! `alpha_i` first (one reduction) and multiplied by the gate's filter once. Lookup tables are
//! not supported (the last layer has none), and only the gates of [`super::gates_var`].

use super::gates_var::{eval_unfiltered_var, unsupported_gates, EvaluationVarsVar};
use super::goldilocks::{GoldilocksExtVar, GoldilocksVar};
use super::poseidon_goldilocks_var::goldilocks_hash_no_pad_var;
use super::proof_var::{ProofChallengesVar, ProofVar};
use super::PoseidonBn254GoldilocksConfig;
use ark_bn254::Fr;
use ark_relations::r1cs::SynthesisError;
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::plonk::circuit_data::{CommonCircuitData, VerifierOnlyCircuitData};
use serde::Deserialize;
use std::ops::Range;

type Result<T> = core::result::Result<T, SynthesisError>;
type F = GoldilocksField;
type E = QuadraticExtension<GoldilocksField>;

/// plonky2's selector layout (`SelectorsInfo`, whose fields are crate-private; read through its
/// `Serialize` implementation): each gate's selector polynomial and each selector's group of
/// gate indices.
#[derive(Deserialize)]
struct SelectorsLayout {
    selector_indices: Vec<usize>,
    groups: Vec<Range<usize>>,
}

/// plonky2's `UNUSED_SELECTOR` (gates/selectors.rs): the selector value of rows no gate of the
/// group uses.
const UNUSED_SELECTOR: usize = u32::MAX as usize;

fn selectors_layout(common: &CommonCircuitData<F, 2>) -> SelectorsLayout {
    let json = serde_json::to_value(&common.selectors_info).expect("SelectorsInfo serializes");
    serde_json::from_value(json).expect("SelectorsInfo has selector_indices and groups")
}

fn ext_constant(x: F) -> GoldilocksExtVar {
    GoldilocksExtVar::constant(E::from(x))
}

/// `a · b · …` of a nonempty slice.
fn product(xs: &[GoldilocksExtVar]) -> Result<GoldilocksExtVar> {
    xs[1..].iter().try_fold(xs[0].clone(), |acc, x| acc.mul(x))
}

/// `x + y·s + t`, one reduction per coordinate, of extension `x`, `y` and base-field `s`, `t`
/// (the permutation argument's `wire + beta·sigma + gamma`; bounds `p + p^2 + p < 2^129`).
fn ext_add_scaled(
    x: &GoldilocksExtVar,
    y: &GoldilocksExtVar,
    s: &GoldilocksVar,
    t: &GoldilocksVar,
) -> Result<GoldilocksExtVar> {
    let c0 = x.0[0].fr() + y.0[0].fr() * s.fr() + t.fr();
    let c1 = x.0[1].fr() + y.0[1].fr() * s.fr();
    Ok(GoldilocksExtVar([GoldilocksVar::reduce(&c0, 129)?, GoldilocksVar::reduce(&c1, 129)?]))
}

/// Constrains the vanishing-polynomial identity at `zeta` for every challenge (module docs).
/// `public_inputs_hash` must be the digest of the public inputs the caller binds, and
/// `challenges` this proof's ([`ProofVar::challenges`]).
///
/// # Panics
/// If the circuit has lookup tables or a gate [`unsupported_gates`] lists.
///
/// # Errors
/// Only [`SynthesisError`]s; openings that do not satisfy the circuit at `zeta` make the
/// system unsatisfied.
pub fn check_vanishing_var(
    proof: &ProofVar,
    challenges: &ProofChallengesVar,
    public_inputs_hash: &[GoldilocksVar; 4],
    common: &CommonCircuitData<F, 2>,
) -> Result<()> {
    assert_eq!(common.num_lookup_polys, 0, "lookup tables are not supported");
    let unsupported = unsupported_gates(common);
    assert!(unsupported.is_empty(), "gates without an R1CS evaluation: {unsupported:?}");
    let layout = selectors_layout(common);
    let o = &proof.openings;
    let one = ext_constant(F::ONE);
    let zeta = &challenges.plonk_zeta;
    let mut zeta_n = zeta.clone();
    for _ in 0..common.degree_bits() {
        zeta_n = zeta_n.mul(&zeta_n)?;
    }
    let z_h = zeta_n.sub(&one)?;
    // L_0(zeta) = (zeta^n − 1) / (n · (zeta − 1)). At zeta = 1 (probability 1/p^2 for a
    // Fiat–Shamir zeta) this is 0/0 and the quotient is free; plonky2 uses 1 there.
    let n = GoldilocksVar::constant(F::from_canonical_usize(common.degree()));
    let l_0 = z_h.div(&zeta.sub(&one)?.scalar_mul(&n)?)?;

    // The Z and partial-product terms, all challenges, in plonky2's order.
    let max_degree = common.quotient_degree_factor;
    let num_prods = common.num_partial_products;
    let num_routed = common.config.num_routed_wires;
    let mut z_1_terms = Vec::new();
    let mut partial_product_terms = Vec::new();
    for i in 0..common.config.num_challenges {
        let (z_x, z_gx) = (&o.plonk_zs[i], &o.plonk_zs_next[i]);
        z_1_terms.push(l_0.mul(&z_x.sub(&one)?)?);
        let (beta, gamma) = (&challenges.plonk_betas[i], &challenges.plonk_gammas[i]);
        let mut numerators = Vec::with_capacity(num_routed);
        let mut denominators = Vec::with_capacity(num_routed);
        for j in 0..num_routed {
            let k_beta = GoldilocksVar::reduce(
                &(beta.fr() * Fr::from(common.k_is[j].to_canonical_u64())),
                128,
            )?;
            numerators.push(ext_add_scaled(&o.wires[j], zeta, &k_beta, gamma)?);
            denominators.push(ext_add_scaled(&o.wires[j], &o.plonk_sigmas[j], beta, gamma)?);
        }
        let partials = &o.partial_products[i * num_prods..(i + 1) * num_prods];
        let accs: Vec<&GoldilocksExtVar> =
            core::iter::once(z_x).chain(partials).chain(core::iter::once(z_gx)).collect();
        let chunks = numerators.chunks(max_degree).zip(denominators.chunks(max_degree));
        assert_eq!(chunks.len(), num_prods + 1, "one chunk per partial-product step");
        for (k, (nums, dens)) in chunks.enumerate() {
            let lhs = accs[k].mul(&product(nums)?)?;
            partial_product_terms.push(lhs.sub(&accs[k + 1].mul(&product(dens)?)?)?);
        }
    }
    let terms: Vec<GoldilocksExtVar> = z_1_terms.into_iter().chain(partial_product_terms).collect();

    // Each gate's filter and unfiltered constraints.
    let num_selectors = layout.groups.len();
    let vars = EvaluationVarsVar {
        local_constants: &o.constants[num_selectors + common.num_lookup_selectors..],
        local_wires: &o.wires,
        public_inputs_hash,
    };
    let mut gates = Vec::with_capacity(common.gates.len());
    for (row, gate) in common.gates.iter().enumerate() {
        let selector = layout.selector_indices[row];
        let s = &o.constants[selector];
        let mut filter = one.clone();
        let others = layout.groups[selector].clone().filter(|&j| j != row);
        for j in others.chain((num_selectors > 1).then_some(UNUSED_SELECTOR)) {
            filter = filter.mul(&ext_constant(F::from_canonical_usize(j)).sub(s)?)?;
        }
        gates.push((filter, eval_unfiltered_var(gate, &vars)?));
    }

    // Σ_j q_{i,j} (zeta^n)^j needs the powers of zeta^n.
    let mut zeta_n_powers = vec![one.clone()];
    while zeta_n_powers.len() < max_degree {
        let next = zeta_n_powers.last().expect("nonempty").mul(&zeta_n)?;
        zeta_n_powers.push(next);
    }
    for i in 0..common.config.num_challenges {
        let alpha = &challenges.plonk_alphas[i];
        let mut powers = vec![GoldilocksVar::constant(F::ONE)];
        while powers.len() < terms.len() + common.num_gate_constraints {
            let next = powers.last().expect("nonempty").mul(alpha)?;
            powers.push(next);
        }
        let mut vanishing = GoldilocksExtVar::inner_product_base(&terms, &powers[..terms.len()])?;
        for (filter, constraints) in &gates {
            if constraints.is_empty() {
                continue;
            }
            let from = terms.len();
            let combined = GoldilocksExtVar::inner_product_base(
                constraints,
                &powers[from..from + constraints.len()],
            )?;
            vanishing = vanishing.add(&filter.mul(&combined)?)?;
        }
        let chunk = &o.quotient_polys[i * max_degree..(i + 1) * max_degree];
        let quotient = GoldilocksExtVar::inner_product(chunk, &zeta_n_powers)?;
        vanishing.enforce_equal(&z_h.mul(&quotient)?)?;
    }
    Ok(())
}

/// The whole R1CS verifier of a proof under [`PoseidonBn254GoldilocksConfig`] (no hiding, no
/// lookups, gates of [`super::gates_var`]): hashes `public_inputs` (Goldilocks Poseidon, as
/// plonky2's `get_public_inputs_hash`), replays the transcript, checks the vanishing identity
/// at `zeta` and the openings by FRI. `verifier` and `common` are constants of the circuit.
///
/// # Panics
/// As [`ProofVar::new_witness`] and [`check_vanishing_var`], and if `public_inputs` is not
/// `common.num_public_inputs` long (the hash would not tell `[a, b]` from `[a, b, 0]`).
///
/// # Errors
/// Only [`SynthesisError`]s; a proof plonky2 rejects makes the system unsatisfied.
pub fn verify_proof_var(
    proof: &ProofVar,
    public_inputs: &[GoldilocksVar],
    verifier: &VerifierOnlyCircuitData<PoseidonBn254GoldilocksConfig, 2>,
    common: &CommonCircuitData<F, 2>,
) -> Result<()> {
    assert_eq!(public_inputs.len(), common.num_public_inputs, "public inputs");
    let public_inputs_hash = goldilocks_hash_no_pad_var(public_inputs)?;
    let challenges = proof.challenges(&public_inputs_hash, &verifier.circuit_digest, common)?;
    check_vanishing_var(proof, &challenges, &public_inputs_hash, common)?;
    proof.verify_openings(&challenges, &verifier.constants_sigmas_cap, common)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
    use plonky2::plonk::proof::ProofWithPublicInputs;

    type C = PoseidonBn254GoldilocksConfig;

    /// A circuit of supported gates only (base and extension arithmetic, constants, a bit
    /// decomposition, an exponentiation; no public inputs, so no Poseidon gate hashes them)
    /// under `config`, and one proof.
    fn prove(config: CircuitConfig) -> (CircuitData<F, C, 2>, ProofWithPublicInputs<F, C, 2>) {
        let mut b = CircuitBuilder::<F, 2>::new(config);
        let x = b.add_virtual_target();
        let y = b.exp_u64(x, 5);
        let expected = b.constant(F::from_canonical_u64(243));
        b.connect(y, expected);
        let bits = b.split_le(x, 8);
        let low = b.le_sum(bits.iter());
        b.connect(low, x);
        let xe = b.convert_to_ext(x);
        let cube = b.mul_many_extension([xe, xe, xe]);
        let sum = b.mul_add_extension(cube, xe, xe);
        let want = b.constant_extension(E::from(F::from_canonical_u64(84)));
        b.connect_extension(sum, want);
        let data = b.build::<C>();
        let mut pw = PartialWitness::new();
        pw.set_target(x, F::from_canonical_u64(3)).unwrap();
        let proof = data.prove(pw).unwrap();
        (data, proof)
    }

    /// The standard recursion config with two FRI queries (22 conjectured bits: a test shape
    /// that keeps the tamper runs small; the gates, wires and permutation argument are the
    /// standard ones).
    fn two_query_config() -> CircuitConfig {
        let mut config = CircuitConfig::standard_recursion_config();
        config.security_bits = 22;
        config.fri_config.num_query_rounds = 2;
        config
    }

    /// The whole verifier on a real standard-config proof: satisfied.
    #[test]
    fn a_real_proof_satisfies_the_whole_verifier() {
        let (data, proof) = prove(CircuitConfig::standard_recursion_config());
        data.verify(proof.clone()).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let p = ProofVar::new_witness(&cs, &proof.proof, &data.common).unwrap();
        verify_proof_var(&p, &[], &data.verifier_only, &data.common).unwrap();
        eprintln!("whole R1CS verifier, standard config: {} constraints", cs.num_constraints());
        assert!(cs.is_satisfied().unwrap(), "the R1CS rejects a proof plonky2 accepts");
    }

    /// With the honest transcript and public-inputs hash fixed, the vanishing identity alone
    /// rejects a changed wire, constant, sigma, `Z`, partial product or quotient opening, and
    /// another public-inputs hash; the honest openings satisfy it.
    #[test]
    fn tampered_openings_break_the_vanishing_identity() {
        let (data, proof) = prove(two_query_config());
        let ids: Vec<String> = data.common.gates.iter().map(|g| g.0.id()).collect();
        assert_eq!(ids.len(), 8, "the gates exercised: {ids:?}");

        let vanishing_holds = |bad: &ProofWithPublicInputs<F, C, 2>, pis_hash: [F; 4]| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let h: [GoldilocksVar; 4] = core::array::from_fn(|i| {
                GoldilocksVar::new_witness(&cs, Some(pis_hash[i])).unwrap()
            });
            let honest = ProofVar::new_witness(&cs, &proof.proof, &data.common).unwrap();
            let ch =
                honest.challenges(&h, &data.verifier_only.circuit_digest, &data.common).unwrap();
            let bad = ProofVar::new_witness(&cs, &bad.proof, &data.common).unwrap();
            check_vanishing_var(&bad, &ch, &h, &data.common).unwrap();
            cs.is_satisfied().unwrap()
        };
        let zero = [F::ZERO; 4];
        assert_eq!(proof.get_public_inputs_hash().elements, zero);
        assert!(vanishing_holds(&proof, zero), "the control");
        type Tamper = fn(&mut ProofWithPublicInputs<F, C, 2>);
        let tampers: [(&str, Tamper); 7] = [
            ("a wire", |p| p.proof.openings.wires[0] += E::ONE),
            ("a routed wire far in", |p| p.proof.openings.wires[70] += E::ONE),
            ("a constant", |p| p.proof.openings.constants[2] += E::ONE),
            ("a sigma", |p| p.proof.openings.plonk_sigmas[5] += E::ONE),
            ("a Z at g·zeta", |p| p.proof.openings.plonk_zs_next[1] += E::ONE),
            ("a partial product", |p| p.proof.openings.partial_products[3] += E::ONE),
            ("a quotient chunk", |p| p.proof.openings.quotient_polys[9] += E::ONE),
        ];
        for (what, tamper) in tampers {
            let mut bad = proof.clone();
            tamper(&mut bad);
            assert!(data.verify(bad.clone()).is_err(), "plonky2 accepts {what}");
            assert!(!vanishing_holds(&bad, zero), "the vanishing identity holds with {what}");
        }
        let mut other = zero;
        other[2] = F::ONE;
        assert!(!vanishing_holds(&proof, other), "another public-inputs hash");
    }
}

//! plonky2 gate constraints evaluated at `zeta` in an R1CS over BN254 `Fr`: each gate's
//! `Gate::eval_unfiltered` (plonky2 1.1, `gates/`), on the openings of the constants and wires,
//! the constraints in plonky2's order (the vanishing polynomial combines them by index).
//!
//! Supported: every gate plonky2's recursive verifier uses under the standard recursion
//! config — [`NoopGate`], [`ConstantGate`], [`PublicInputGate`], [`ArithmeticGate`],
//! [`ArithmeticExtensionGate`], [`MulExtensionGate`], [`BaseSumGate`] with `B = 2`,
//! [`ExponentiationGate`], [`RandomAccessGate`], [`ReducingGate`], [`ReducingExtensionGate`],
//! [`PoseidonMdsGate`], [`PoseidonGate`] and [`CosetInterpolationGate`]. Each is tested equal to
//! plonky2's native evaluation on random points. A circuit with another gate (lookups, U32
//! gates, …) is refused by [`unsupported_gates`] before any constraint is built.
//!
//! Cost: one reduction per extension operation, except Poseidon's linear layers (one
//! reduction per output coordinate); measured per gate in the test (Poseidon 287k, the rest
//! 0.3k–97k). Lazier reduction would cut the S-boxes and algebra products severalfold.

use super::goldilocks::{GoldilocksExtVar, GoldilocksVar, W};
use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::SynthesisError;
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::base_sum::BaseSumGate;
use plonky2::gates::constant::ConstantGate;
use plonky2::gates::coset_interpolation::CosetInterpolationGate;
use plonky2::gates::exponentiation::ExponentiationGate;
use plonky2::gates::gate::GateRef;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::noop::NoopGate;
use plonky2::gates::poseidon::PoseidonGate;
use plonky2::gates::poseidon_mds::PoseidonMdsGate;
use plonky2::gates::public_input::PublicInputGate;
use plonky2::gates::random_access::RandomAccessGate;
use plonky2::gates::reducing::ReducingGate;
use plonky2::gates::reducing_extension::ReducingExtensionGate;
use plonky2::hash::poseidon::{
    Poseidon, ALL_ROUND_CONSTANTS, HALF_N_FULL_ROUNDS, N_PARTIAL_ROUNDS, SPONGE_WIDTH as WIDTH,
};
use plonky2::plonk::circuit_data::CommonCircuitData;

type Result<T> = core::result::Result<T, SynthesisError>;
type F = GoldilocksField;
type E = QuadraticExtension<GoldilocksField>;

/// The openings a gate reads (plonky2's `EvaluationVars`): the constants after the selectors,
/// the wires, and the public-inputs hash.
#[derive(Clone, Copy, Debug)]
pub struct EvaluationVarsVar<'a> {
    /// Constant polynomials at `zeta`, selectors (and lookup selectors) removed.
    pub local_constants: &'a [GoldilocksExtVar],
    /// Wires at `zeta`.
    pub local_wires: &'a [GoldilocksExtVar],
    /// The Goldilocks Poseidon digest of the public inputs.
    pub public_inputs_hash: &'a [GoldilocksVar; 4],
}

/// An element of `(F_p[X]/(X^2 − 7))[Y]/(Y^2 − 7)`, plonky2's `ExtensionAlgebra` for `D = 2`
/// (the extension gates' operands: two consecutive extension wires).
struct Algebra([GoldilocksExtVar; 2]);

impl Algebra {
    fn wires(w: &[GoldilocksExtVar], start: usize) -> Self {
        Self([w[start].clone(), w[start + 1].clone()])
    }

    /// `(a0 + a1 Y)(b0 + b1 Y) = (a0 b0 + 7 a1 b1) + (a0 b1 + a1 b0) Y`.
    fn mul(&self, o: &Self) -> Result<Self> {
        let w = GoldilocksExtVar::constant(E::from(F::from_canonical_u64(W)));
        let c0 = self.0[0].mul(&o.0[0])?.add(&w.mul(&self.0[1])?.mul(&o.0[1])?)?;
        let c1 = self.0[0].mul(&o.0[1])?.add(&self.0[1].mul(&o.0[0])?)?;
        Ok(Self([c0, c1]))
    }

    fn scalar_mul(&self, s: &GoldilocksExtVar) -> Result<Self> {
        Ok(Self([self.0[0].mul(s)?, self.0[1].mul(s)?]))
    }

    fn add(&self, o: &Self) -> Result<Self> {
        Ok(Self([self.0[0].add(&o.0[0])?, self.0[1].add(&o.0[1])?]))
    }

    /// An extension element as `(e, 0)`.
    fn from_ext(e: &GoldilocksExtVar) -> Self {
        Self([e.clone(), ext_constant(F::ZERO)])
    }

    /// `self − o` as its two coordinates (plonky2's `to_basefield_array` of the difference).
    fn sub_coords(&self, o: &Self) -> Result<[GoldilocksExtVar; 2]> {
        Ok([self.0[0].sub(&o.0[0])?, self.0[1].sub(&o.0[1])?])
    }
}

fn ext_constant(x: F) -> GoldilocksExtVar {
    GoldilocksExtVar::constant(E::from(x))
}

/// `Σ c_i · x_i + k` (`k` on the first coordinate) for base-field constants `c_i`, `k` (below
/// `2^64`), one reduction per coordinate (bound `(n + 1) · 2^128`): the linear layers of
/// Poseidon, which act on an extension element coordinate by coordinate.
fn lin_ext(terms: &[(u64, &GoldilocksExtVar)], k: u64) -> Result<GoldilocksExtVar> {
    let mut c0 = FpVar::constant(Fr::from(k));
    let mut c1 = FpVar::zero();
    for (c, x) in terms {
        c0 += x.0[0].fr() * Fr::from(*c);
        c1 += x.0[1].fr() * Fr::from(*c);
    }
    let bits = 128 + (terms.len() + 1).next_power_of_two().trailing_zeros() as usize;
    Ok(GoldilocksExtVar([GoldilocksVar::reduce(&c0, bits)?, GoldilocksVar::reduce(&c1, bits)?]))
}

/// `x^7` (plonky2's `sbox_monomial`: `x^3 · x^4`).
fn sbox(x: &GoldilocksExtVar) -> Result<GoldilocksExtVar> {
    let x2 = x.mul(x)?;
    let x4 = x2.mul(&x2)?;
    x.mul(&x2)?.mul(&x4)
}

/// plonky2's `mds_layer_field`: row `r` is `Σ_i CIRC[i] · v[(i + r) mod 12] + DIAG[r] · v[r]`.
fn mds_layer(v: &[GoldilocksExtVar; WIDTH]) -> Result<[GoldilocksExtVar; WIDTH]> {
    let rows = (0..WIDTH)
        .map(|r| {
            let mut terms: Vec<(u64, &GoldilocksExtVar)> = (0..WIDTH)
                .map(|i| (<F as Poseidon>::MDS_MATRIX_CIRC[i], &v[(i + r) % WIDTH]))
                .collect();
            terms.push((<F as Poseidon>::MDS_MATRIX_DIAG[r], &v[r]));
            lin_ext(&terms, 0)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(rows.try_into().unwrap_or_else(|_| unreachable!("{WIDTH} rows")))
}

/// plonky2's `PoseidonGate::eval_unfiltered` (gates/poseidon.rs): the swap and its deltas, four
/// full rounds (S-box inputs of rounds 1–3 are wires), the 22 partial rounds in plonky2's fast
/// form (first constant layer, initial matrix, then per round an S-box input wire, a constant
/// and the sparse `w_hat`/`v` matrix), four full rounds with S-box input wires, the output.
fn poseidon_gate(w: &[GoldilocksExtVar]) -> Result<Vec<GoldilocksExtVar>> {
    const SWAP: usize = 2 * WIDTH;
    const DELTA: usize = SWAP + 1;
    const FULL_0: usize = DELTA + 4;
    const PARTIAL: usize = FULL_0 + WIDTH * (HALF_N_FULL_ROUNDS - 1);
    const FULL_1: usize = PARTIAL + N_PARTIAL_ROUNDS;
    let one = ext_constant(F::ONE);
    let mut out = Vec::new();
    let swap = &w[SWAP];
    out.push(swap.mul(&swap.sub(&one)?)?);
    for i in 0..4 {
        out.push(swap.mul(&w[i + 4].sub(&w[i])?)?.sub(&w[DELTA + i])?);
    }
    let mut state: [GoldilocksExtVar; WIDTH] = core::array::from_fn(|i| w[i].clone());
    for i in 0..4 {
        state[i] = w[i].add(&w[DELTA + i])?;
        state[i + 4] = w[i + 4].sub(&w[DELTA + i])?;
    }
    let constant_layer = |state: &mut [GoldilocksExtVar; WIDTH], round: usize| -> Result<()> {
        for (i, s) in state.iter_mut().enumerate() {
            *s = lin_ext(&[(1, s)], ALL_ROUND_CONSTANTS[i + WIDTH * round])?;
        }
        Ok(())
    };
    let mut round = 0;
    for r in 0..HALF_N_FULL_ROUNDS {
        constant_layer(&mut state, round)?;
        if r != 0 {
            for (i, s) in state.iter_mut().enumerate() {
                let sbox_in = &w[FULL_0 + WIDTH * (r - 1) + i];
                out.push(s.sub(sbox_in)?);
                *s = sbox_in.clone();
            }
        }
        for s in state.iter_mut() {
            *s = sbox(s)?;
        }
        state = mds_layer(&state)?;
        round += 1;
    }
    // Partial rounds, fast form.
    for (i, s) in state.iter_mut().enumerate() {
        *s = lin_ext(&[(1, s)], <F as Poseidon>::FAST_PARTIAL_FIRST_ROUND_CONSTANT[i])?;
    }
    let m = &<F as Poseidon>::FAST_PARTIAL_ROUND_INITIAL_MATRIX;
    let mut next: [GoldilocksExtVar; WIDTH] = core::array::from_fn(|_| ext_constant(F::ZERO));
    next[0] = state[0].clone();
    for (c, n) in next.iter_mut().enumerate().skip(1) {
        let terms: Vec<(u64, &GoldilocksExtVar)> =
            (1..WIDTH).map(|r| (m[r - 1][c - 1], &state[r])).collect();
        *n = lin_ext(&terms, 0)?;
    }
    state = next;
    for r in 0..N_PARTIAL_ROUNDS {
        let sbox_in = &w[PARTIAL + r];
        out.push(state[0].sub(sbox_in)?);
        state[0] = sbox(sbox_in)?;
        if r < N_PARTIAL_ROUNDS - 1 {
            let k = <F as Poseidon>::FAST_PARTIAL_ROUND_CONSTANTS[r];
            state[0] = lin_ext(&[(1, &state[0])], k)?;
        }
        // mds_partial_layer_fast: d = M00·s0 + Σ w_hat·s_i; s_i' = s0·v_i + s_i.
        let mds00 = <F as Poseidon>::MDS_MATRIX_CIRC[0] + <F as Poseidon>::MDS_MATRIX_DIAG[0];
        let mut terms = vec![(mds00, &state[0])];
        for i in 1..WIDTH {
            terms.push((<F as Poseidon>::FAST_PARTIAL_ROUND_W_HATS[r][i - 1], &state[i]));
        }
        let d = lin_ext(&terms, 0)?;
        let mut next: [GoldilocksExtVar; WIDTH] = core::array::from_fn(|_| d.clone());
        for (i, n) in next.iter_mut().enumerate().skip(1) {
            let v = <F as Poseidon>::FAST_PARTIAL_ROUND_VS[r][i - 1];
            *n = lin_ext(&[(v, &state[0]), (1, &state[i])], 0)?;
        }
        state = next;
    }
    round += N_PARTIAL_ROUNDS;
    for r in 0..HALF_N_FULL_ROUNDS {
        constant_layer(&mut state, round)?;
        for (i, s) in state.iter_mut().enumerate() {
            let sbox_in = &w[FULL_1 + WIDTH * r + i];
            out.push(s.sub(sbox_in)?);
            *s = sbox_in.clone();
        }
        for s in state.iter_mut() {
            *s = sbox(s)?;
        }
        state = mds_layer(&state)?;
        round += 1;
    }
    for (i, s) in state.iter().enumerate() {
        out.push(s.sub(&w[WIDTH + i])?);
    }
    Ok(out)
}

/// The reducing gates' constraints: `acc_i · alpha + coeff_i − acc_{i+1}` from the old
/// accumulator (wires 4..6) with `alpha` at wires 2..4, intermediate accumulators from
/// `accs_start`, the last one being the output (wires 0..2).
fn reducing(
    w: &[GoldilocksExtVar],
    coeffs: &[Algebra],
    accs_start: usize,
) -> Result<Vec<GoldilocksExtVar>> {
    let n = coeffs.len();
    let alpha = Algebra::wires(w, 2);
    let mut acc = Algebra::wires(w, 4);
    let mut out = Vec::with_capacity(2 * n);
    for (i, coeff) in coeffs.iter().enumerate() {
        let next =
            if i == n - 1 { Algebra::wires(w, 0) } else { Algebra::wires(w, accs_start + 2 * i) };
        out.extend(acc.mul(&alpha)?.add(coeff)?.sub_coords(&next)?);
        acc = next;
    }
    Ok(out)
}

/// plonky2's `CosetInterpolationGate::eval_unfiltered` (gates/coset_interpolation.rs): the
/// evaluation point is the shift times the shifted point; barycentric interpolation over the
/// subgroup of `2^subgroup_bits` points in steps of `degree − 1` points, each step's running
/// evaluation and product checked against intermediate wires; the last evaluation is the
/// value. Wires: shift 0, values from 1 (two per point), then the evaluation point, the value,
/// the intermediate evaluations and products, the shifted point.
fn coset_interpolation(
    gate: &CosetInterpolationGate<F, 2>,
    w: &[GoldilocksExtVar],
) -> Result<Vec<GoldilocksExtVar>> {
    let points = 1 << gate.subgroup_bits;
    let degree = gate.degree;
    let intermediates = (points - 2) / (degree - 1);
    let start_point = 1 + 2 * points;
    let start_intermediates = start_point + 4;
    let shifted = Algebra::wires(w, start_intermediates + 4 * intermediates);
    let mut out = Vec::new();
    let point = Algebra::wires(w, start_point);
    out.extend(point.sub_coords(&shifted.scalar_mul(&w[0])?)?);
    let domain = F::two_adic_subgroup(gate.subgroup_bits);
    let values: Vec<Algebra> = (0..points).map(|i| Algebra::wires(w, 1 + 2 * i)).collect();
    let weights = &gate.barycentric_weights;
    // One step of plonky2's `partial_interpolate_ext_algebra`: eval ← eval · (x − x_i) +
    // weight_i · value_i · prod, prod ← prod · (x − x_i).
    let step = |range: core::ops::Range<usize>,
                mut eval: Algebra,
                mut prod: Algebra|
     -> Result<(Algebra, Algebra)> {
        for i in range {
            let term = Algebra([shifted.0[0].sub(&ext_constant(domain[i]))?, shifted.0[1].clone()]);
            let weighted = values[i].scalar_mul(&ext_constant(weights[i]))?;
            eval = eval.mul(&term)?.add(&weighted.mul(&prod)?)?;
            prod = prod.mul(&term)?;
        }
        Ok((eval, prod))
    };
    let zero = Algebra([ext_constant(F::ZERO), ext_constant(F::ZERO)]);
    let one = Algebra([ext_constant(F::ONE), ext_constant(F::ZERO)]);
    let (mut eval, mut prod) = step(0..degree, zero, one)?;
    for i in 0..intermediates {
        let e = Algebra::wires(w, start_intermediates + 2 * i);
        let p = Algebra::wires(w, start_intermediates + 2 * (intermediates + i));
        out.extend(e.sub_coords(&eval)?);
        out.extend(p.sub_coords(&prod)?);
        let start = 1 + (degree - 1) * (i + 1);
        let end = (start + degree - 1).min(points);
        (eval, prod) = step(start..end, e, p)?;
    }
    out.extend(Algebra::wires(w, start_point + 2).sub_coords(&eval)?);
    Ok(out)
}

/// The gates of `common` this module cannot evaluate yet (by plonky2 id).
pub fn unsupported_gates(common: &CommonCircuitData<F, 2>) -> Vec<String> {
    common.gates.iter().filter(|g| !is_supported(g)).map(|g| g.0.id()).collect()
}

fn is_supported(gate: &GateRef<F, 2>) -> bool {
    let g = gate.0.as_any();
    g.is::<NoopGate>()
        || g.is::<ConstantGate>()
        || g.is::<PublicInputGate>()
        || g.is::<ArithmeticGate>()
        || g.is::<ArithmeticExtensionGate<2>>()
        || g.is::<MulExtensionGate<2>>()
        || g.is::<BaseSumGate<2>>()
        || g.is::<ExponentiationGate<F, 2>>()
        || g.is::<RandomAccessGate<F, 2>>()
        || g.is::<ReducingGate<2>>()
        || g.is::<ReducingExtensionGate<2>>()
        || g.is::<PoseidonMdsGate<F, 2>>()
        || g.is::<PoseidonGate<F, 2>>()
        || g.is::<CosetInterpolationGate<F, 2>>()
}

/// `gate.eval_unfiltered(vars)` in R1CS: the gate's constraints, in plonky2's order.
///
/// # Panics
/// For a gate [`unsupported_gates`] lists (callers check first).
///
/// # Errors
/// Only [`SynthesisError`]s of the constraint system.
pub fn eval_unfiltered_var(
    gate: &GateRef<F, 2>,
    vars: &EvaluationVarsVar<'_>,
) -> Result<Vec<GoldilocksExtVar>> {
    let g = gate.0.as_any();
    let (c, w) = (vars.local_constants, vars.local_wires);
    if g.is::<NoopGate>() {
        Ok(vec![])
    } else if g.is::<ConstantGate>() {
        // Constant i is wire i; one constraint per constant (`num_consts` is private).
        (0..gate.0.num_constraints()).map(|i| c[i].sub(&w[i])).collect()
    } else if g.is::<PublicInputGate>() {
        // Wires 0..4 are the public-inputs hash.
        (0..4)
            .map(|i| {
                let h = GoldilocksExtVar([
                    vars.public_inputs_hash[i].clone(),
                    GoldilocksVar::constant(F::ZERO),
                ]);
                w[i].sub(&h)
            })
            .collect()
    } else if let Some(gate) = g.downcast_ref::<ArithmeticGate>() {
        // Op i: wires 4i, 4i + 1 (multiplicands), 4i + 2 (addend), 4i + 3 (output);
        // output = c0 · m0 · m1 + c1 · addend.
        (0..gate.num_ops)
            .map(|i| {
                let product = w[4 * i].mul(&w[4 * i + 1])?.mul(&c[0])?;
                let computed = product.add(&w[4 * i + 2].mul(&c[1])?)?;
                w[4 * i + 3].sub(&computed)
            })
            .collect()
    } else if let Some(gate) = g.downcast_ref::<ArithmeticExtensionGate<2>>() {
        // Op i: algebra elements at wires 8i, 8i + 2 (multiplicands), 8i + 4 (addend),
        // 8i + 6 (output).
        let mut out = Vec::with_capacity(2 * gate.num_ops);
        for i in 0..gate.num_ops {
            let m0 = Algebra::wires(w, 8 * i);
            let m1 = Algebra::wires(w, 8 * i + 2);
            let addend = Algebra::wires(w, 8 * i + 4);
            let output = Algebra::wires(w, 8 * i + 6);
            let computed = m0.mul(&m1)?.scalar_mul(&c[0])?.add(&addend.scalar_mul(&c[1])?)?;
            out.extend(output.sub_coords(&computed)?);
        }
        Ok(out)
    } else if let Some(gate) = g.downcast_ref::<MulExtensionGate<2>>() {
        // Op i: algebra elements at wires 6i, 6i + 2 (multiplicands), 6i + 4 (output).
        let mut out = Vec::with_capacity(2 * gate.num_ops);
        for i in 0..gate.num_ops {
            let m0 = Algebra::wires(w, 6 * i);
            let m1 = Algebra::wires(w, 6 * i + 2);
            let output = Algebra::wires(w, 6 * i + 4);
            out.extend(output.sub_coords(&m0.mul(&m1)?.scalar_mul(&c[0])?)?);
        }
        Ok(out)
    } else if let Some(gate) = g.downcast_ref::<BaseSumGate<2>>() {
        // Wire 0 is the sum, wires 1..=num_limbs the limbs (least significant first): the sum
        // of limb_i · 2^i equals it, and each limb is 0 or 1 (limb · (limb − 1) = 0).
        let limbs = &w[1..1 + gate.num_limbs];
        let mut computed = ext_constant(F::ZERO);
        for limb in limbs.iter().rev() {
            computed = computed.mul(&ext_constant(F::TWO))?.add(limb)?;
        }
        let mut out = vec![computed.sub(&w[0])?];
        for limb in limbs {
            out.push(limb.mul(&limb.sub(&ext_constant(F::ONE))?)?);
        }
        Ok(out)
    } else if let Some(gate) = g.downcast_ref::<ExponentiationGate<F, 2>>() {
        // Wire 0 the base, 1..=k the exponent's bits (least significant first), k + 1 the
        // output, k + 2.. the intermediate values: square-and-multiply from the top bit,
        // `v_i = v_{i−1}^2 · (bit · base + 1 − bit)` with `v_{−1}^2 = 1`, output `= v_{k−1}`.
        let k = gate.num_power_bits;
        let (base, bits, output, values) = (&w[0], &w[1..=k], &w[k + 1], &w[k + 2..2 * k + 2]);
        let base_minus_one = base.sub(&ext_constant(F::ONE))?;
        let mut out = Vec::with_capacity(k + 1);
        for i in 0..k {
            let bit = &bits[k - 1 - i];
            let factor = bit.mul(&base_minus_one)?.add(&ext_constant(F::ONE))?;
            let computed =
                if i == 0 { factor } else { values[i - 1].mul(&values[i - 1])?.mul(&factor)? };
            out.push(computed.sub(&values[i])?);
        }
        out.push(output.sub(&values[k - 1])?);
        Ok(out)
    } else if let Some(gate) = g.downcast_ref::<RandomAccessGate<F, 2>>() {
        // Per copy: the access index, the claimed element and the list (routed), the index's
        // bits (after all routed wires); then the extra constants equal their wires.
        let size = 1 << gate.bits;
        let routed = (2 + size) * gate.num_copies + gate.num_extra_constants;
        let mut out = Vec::new();
        for copy in 0..gate.num_copies {
            let base = (2 + size) * copy;
            let bits = &w[routed + copy * gate.bits..routed + (copy + 1) * gate.bits];
            for b in bits {
                out.push(b.mul(&b.sub(&ext_constant(F::ONE))?)?);
            }
            let mut index = ext_constant(F::ZERO);
            for b in bits.iter().rev() {
                index = index.add(&index)?.add(b)?;
            }
            out.push(index.sub(&w[base])?);
            let mut items: Vec<GoldilocksExtVar> = w[base + 2..base + 2 + size].to_vec();
            for b in bits {
                items = items
                    .chunks(2)
                    .map(|pair| pair[0].add(&b.mul(&pair[1].sub(&pair[0])?)?))
                    .collect::<Result<_>>()?;
            }
            out.push(items[0].sub(&w[base + 1])?);
        }
        for i in 0..gate.num_extra_constants {
            out.push(c[i].sub(&w[(2 + size) * gate.num_copies + i])?);
        }
        Ok(out)
    } else if let Some(gate) = g.downcast_ref::<ReducingGate<2>>() {
        // Wires: output 0..2, alpha 2..4, old accumulator 4..6, base-field coefficients from 6,
        // then the intermediate accumulators (the last is the output):
        // acc_i = acc_{i−1} · alpha + coeff_i.
        let n = gate.num_coeffs;
        let coeffs: Vec<Algebra> = (0..n).map(|i| Algebra::from_ext(&w[6 + i])).collect();
        reducing(w, &coeffs, 6 + n)
    } else if let Some(gate) = g.downcast_ref::<ReducingExtensionGate<2>>() {
        // As `ReducingGate`, with extension coefficients (two wires each).
        let n = gate.num_coeffs;
        let coeffs: Vec<Algebra> = (0..n).map(|i| Algebra::wires(w, 6 + 2 * i)).collect();
        reducing(w, &coeffs, 6 + 2 * n)
    } else if g.is::<PoseidonMdsGate<F, 2>>() {
        // Twelve algebra inputs (wires 2i, 2i + 1), twelve outputs after them: the MDS layer,
        // coordinate by coordinate.
        let inputs: Vec<Algebra> = (0..WIDTH).map(|i| Algebra::wires(w, 2 * i)).collect();
        let coordinate = |j: usize| -> [GoldilocksExtVar; WIDTH] {
            core::array::from_fn(|i| inputs[i].0[j].clone())
        };
        let (m0, m1) = (mds_layer(&coordinate(0))?, mds_layer(&coordinate(1))?);
        let mut out = Vec::with_capacity(2 * WIDTH);
        for i in 0..WIDTH {
            let output = Algebra::wires(w, 2 * (WIDTH + i));
            out.extend(output.sub_coords(&Algebra([m0[i].clone(), m1[i].clone()]))?);
        }
        Ok(out)
    } else if g.is::<PoseidonGate<F, 2>>() {
        poseidon_gate(w)
    } else if let Some(gate) = g.downcast_ref::<CosetInterpolationGate<F, 2>>() {
        coset_interpolation(gate, w)
    } else {
        panic!("gate {} has no R1CS evaluation yet", gate.0.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;
    use plonky2::field::types::Sample;
    use plonky2::hash::hash_types::HashOut;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::vars::EvaluationVars;

    /// Every supported gate, configured as the standard recursion config builds it, evaluated
    /// at random openings: the R1CS values equal plonky2's `eval_unfiltered`, satisfied.
    #[test]
    fn supported_gates_equal_plonky2s_evaluation() {
        let config = CircuitConfig::standard_recursion_config();
        // Arity 16 with degree 6, so two intermediate steps (plonky2's `with_max_degree(4, 6)`,
        // which is crate-private: same weights, the degree it computes).
        let mut coset_gate = CosetInterpolationGate::<F, 2>::new(4);
        coset_gate.degree = 6;
        let gates: Vec<GateRef<F, 2>> = vec![
            GateRef::new(NoopGate),
            GateRef::new(ConstantGate::new(config.num_constants)),
            GateRef::new(PublicInputGate),
            GateRef::new(ArithmeticGate::new_from_config(&config)),
            GateRef::new(ArithmeticExtensionGate::<2>::new_from_config(&config)),
            GateRef::new(MulExtensionGate::<2>::new_from_config(&config)),
            GateRef::new(BaseSumGate::<2>::new_from_config::<F>(&config)),
            GateRef::new(ExponentiationGate::<F, 2>::new_from_config(&config)),
            GateRef::new(RandomAccessGate::<F, 2>::new_from_config(&config, 4)),
            GateRef::new(ReducingGate::<2>::new(43)),
            GateRef::new(ReducingExtensionGate::<2>::new(32)),
            GateRef::new(PoseidonMdsGate::<F, 2>::new()),
            GateRef::new(PoseidonGate::<F, 2>::new()),
            GateRef::new(coset_gate),
        ];
        let constants: Vec<E> = (0..config.num_constants).map(|_| E::rand()).collect();
        let wires: Vec<E> = (0..config.num_wires).map(|_| E::rand()).collect();
        let hash = HashOut::<F>::rand();
        for gate in gates {
            assert!(is_supported(&gate));
            let native = gate.0.eval_unfiltered(EvaluationVars {
                local_constants: &constants,
                local_wires: &wires,
                public_inputs_hash: &hash,
            });
            let cs = ConstraintSystem::<Fr>::new_ref();
            let ext = |v: &[E]| -> Vec<GoldilocksExtVar> {
                v.iter().map(|x| GoldilocksExtVar::new_witness(&cs, Some(*x)).unwrap()).collect()
            };
            let (c, w) = (ext(&constants), ext(&wires));
            let h: [GoldilocksVar; 4] = core::array::from_fn(|i| {
                GoldilocksVar::new_witness(&cs, Some(hash.elements[i])).unwrap()
            });
            let vars =
                EvaluationVarsVar { local_constants: &c, local_wires: &w, public_inputs_hash: &h };
            let before = cs.num_constraints();
            let got: Vec<E> = eval_unfiltered_var(&gate, &vars)
                .unwrap()
                .iter()
                .map(|v| v.value().unwrap())
                .collect();
            assert_eq!(got, native, "{}", gate.0.id());
            assert_eq!(got.len(), gate.0.num_constraints(), "{}", gate.0.id());
            assert!(cs.is_satisfied().unwrap());
            eprintln!("{}: {} constraints", gate.0.id(), cs.num_constraints() - before);
        }
    }
}

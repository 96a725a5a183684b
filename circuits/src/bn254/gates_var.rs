//! plonky2 gate constraints evaluated at `zeta` in an R1CS over BN254 `Fr`: each gate's
//! `Gate::eval_unfiltered` (plonky2 1.1, `gates/`), on the openings of the constants and wires,
//! the constraints in plonky2's order (the vanishing polynomial combines them by index).
//!
//! Supported so far: [`NoopGate`], [`ConstantGate`], [`PublicInputGate`], [`ArithmeticGate`],
//! [`ArithmeticExtensionGate`], [`MulExtensionGate`], [`BaseSumGate`] with `B = 2` and
//! [`ExponentiationGate`]. Each is
//! tested equal to plonky2's native evaluation on random points. A circuit with another gate
//! (the recursive verifier's `PoseidonGate`, `PoseidonMdsGate`, `CosetInterpolationGate`,
//! `RandomAccessGate`, `ReducingGate`s) is refused by
//! [`unsupported_gates`] before any constraint is built.

use super::goldilocks::{GoldilocksExtVar, GoldilocksVar, W};
use ark_relations::r1cs::SynthesisError;
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::gates::arithmetic_base::ArithmeticGate;
use plonky2::gates::arithmetic_extension::ArithmeticExtensionGate;
use plonky2::gates::base_sum::BaseSumGate;
use plonky2::gates::constant::ConstantGate;
use plonky2::gates::exponentiation::ExponentiationGate;
use plonky2::gates::gate::GateRef;
use plonky2::gates::multiplication_extension::MulExtensionGate;
use plonky2::gates::noop::NoopGate;
use plonky2::gates::public_input::PublicInputGate;
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

    /// `self − o` as its two coordinates (plonky2's `to_basefield_array` of the difference).
    fn sub_coords(&self, o: &Self) -> Result<[GoldilocksExtVar; 2]> {
        Ok([self.0[0].sub(&o.0[0])?, self.0[1].sub(&o.0[1])?])
    }
}

fn ext_constant(x: F) -> GoldilocksExtVar {
    GoldilocksExtVar::constant(E::from(x))
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
    } else {
        panic!("gate {} has no R1CS evaluation yet", gate.0.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
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
        let gates: Vec<GateRef<F, 2>> = vec![
            GateRef::new(NoopGate),
            GateRef::new(ConstantGate::new(config.num_constants)),
            GateRef::new(PublicInputGate),
            GateRef::new(ArithmeticGate::new_from_config(&config)),
            GateRef::new(ArithmeticExtensionGate::<2>::new_from_config(&config)),
            GateRef::new(MulExtensionGate::<2>::new_from_config(&config)),
            GateRef::new(BaseSumGate::<2>::new_from_config::<F>(&config)),
            GateRef::new(ExponentiationGate::<F, 2>::new_from_config(&config)),
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

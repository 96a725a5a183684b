//! [`KeccakSliceGate`]: one z-slice of one keccak-f\[1600\] round per row (θ's `A ⊕ D`, χ, ι)
//! plus the next round's column parities.
//!
//! For output slice `z` of a round, the 25 χ inputs are `B[x][y] = (A ⊕ D)[sx][sy][sz]` with
//! `(sx, sy) = ((x + 3y) mod 5, x)` (π) and `sz = z − r[sx][sy] mod 64` (ρ) — ρ and π are only
//! the wiring the gadget chooses for the routed inputs. The row then constrains
//! (FIPS 202 §3.2.1–3.2.5):
//!
//! - `b_i = a_i + d_i − 2·a_i·d_i` (θ: `B = A ⊕ D`, advice wires; degree 2),
//! - `out[x][y] = b[x][y] ⊕ (¬b[x+1][y] ∧ b[x+2][y])` (χ; degree 3), with lane (0, 0) first in
//!   an advice wire `pre` and `out[0][0] = pre + rc − 2·rc·pre` (ι, `rc` the round constant's
//!   bit `z`, a gate constant; degree 3),
//! - `c[x] = ⊕_y out[x][y]` for the *next* round's θ: `c·(c − 1) = 0` and
//!   `k·(k − 2)·(k − 4) = 0` with `k = Σ_y out[x][y] − c` (degree 3).
//!
//! For boolean `a`, `d` every other wire of the row is a uniquely determined boolean. 61
//! constraints, 106 wires (80 routed), 1 constant, degree 3.
//!
//! WARNING: `a` and `d` must be boolean; the gate does not check it (the gadget wires in only
//! boolean values: its callers' input bits and outputs of the keccak gates).

use anyhow::Result;
use plonky2::field::extension::Extendable;
use plonky2::field::packed::PackedField;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::gates::packed_util::PackedEvaluableBase;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::vars::{
    EvaluationTargets, EvaluationVars, EvaluationVarsBase, EvaluationVarsBaseBatch,
    EvaluationVarsBasePacked,
};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::gates::{parity_poly, parity_poly_circuit, xor_circuit};

/// One z-slice of a keccak-f round; see the module docs for the constraints.
///
/// Wires (lane index `i = x + 5y` of the *output* position): `a_i = i`, `d_i = 25 + i`,
/// `out_i = 50 + i`, `c_x = 75 + x` (routed), `b_i = 80 + i`, `pre = 105` (advice).
/// Constant 0: the round constant's bit `z` (0 or 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeccakSliceGate;

impl KeccakSliceGate {
    /// Routed wires the gate needs.
    pub const NUM_ROUTED_WIRES: usize = 80;
    /// Wires the gate needs.
    pub const NUM_WIRES: usize = 106;
    /// Wire of χ-input lane `i`'s state bit `A` (before θ).
    pub const fn wire_a(i: usize) -> usize {
        i
    }
    /// Wire of χ-input lane `i`'s θ term `D`.
    pub const fn wire_d(i: usize) -> usize {
        25 + i
    }
    /// Wire of output bit of lane `i`.
    pub const fn wire_out(i: usize) -> usize {
        50 + i
    }
    /// Wire of the next round's column parity `C[x]` at this slice.
    pub const fn wire_c(x: usize) -> usize {
        75 + x
    }
    /// Advice wire `B = A ⊕ D` of lane `i`.
    pub const fn wire_b(i: usize) -> usize {
        80 + i
    }
    /// Advice wire: χ output of lane 0 before ι.
    pub const WIRE_PRE_IOTA: usize = 105;

    fn eval<P: PackedField>(w: impl Fn(usize) -> P, rc: P, mut yield_constr: impl FnMut(P)) {
        let two = P::Scalar::TWO;
        for i in 0..25 {
            let (a, d) = (w(Self::wire_a(i)), w(Self::wire_d(i)));
            yield_constr(w(Self::wire_b(i)) - (a + d - a * d * two));
        }
        for y in 0..5 {
            for x in 0..5 {
                let b0 = w(Self::wire_b(x + 5 * y));
                let b1 = w(Self::wire_b((x + 1) % 5 + 5 * y));
                let b2 = w(Self::wire_b((x + 2) % 5 + 5 * y));
                let t = b2 - b1 * b2;
                let chi = b0 + t - b0 * t * two;
                if x + 5 * y == 0 {
                    let pre = w(Self::WIRE_PRE_IOTA);
                    yield_constr(pre - chi);
                    yield_constr(w(Self::wire_out(0)) - (pre + rc - pre * rc * two));
                } else {
                    yield_constr(w(Self::wire_out(x + 5 * y)) - chi);
                }
            }
        }
        for x in 0..5 {
            let s: P = (0..5).map(|y| w(Self::wire_out(x + 5 * y))).sum();
            let c = w(Self::wire_c(x));
            yield_constr(c * c - c);
            yield_constr(parity_poly(s - c));
        }
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for KeccakSliceGate {
    fn id(&self) -> String {
        format!("{self:?}")
    }

    fn serialize(
        &self,
        _dst: &mut Vec<u8>,
        _common_data: &CommonCircuitData<F, D>,
    ) -> IoResult<()> {
        Ok(())
    }

    fn deserialize(_src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self)
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        let mut out = Vec::with_capacity(61);
        Self::eval(|i| vars.local_wires[i], vars.local_constants[0], |c| out.push(c));
        out
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<F>,
        mut yield_constr: StridedConstraintConsumer<F>,
    ) {
        Self::eval(|i| vars.local_wires[i], vars.local_constants[0], |c| yield_constr.one(c));
    }

    fn eval_unfiltered_base_batch(&self, vars_base: EvaluationVarsBaseBatch<F>) -> Vec<F> {
        self.eval_unfiltered_base_batch_packed(vars_base)
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<D>,
    ) -> Vec<ExtensionTarget<D>> {
        let w = |i: usize| vars.local_wires[i];
        let rc = vars.local_constants[0];
        let mut constraints = Vec::with_capacity(61);
        for i in 0..25 {
            let xor = xor_circuit(builder, w(Self::wire_a(i)), w(Self::wire_d(i)));
            constraints.push(builder.sub_extension(w(Self::wire_b(i)), xor));
        }
        for y in 0..5 {
            for x in 0..5 {
                let b0 = w(Self::wire_b(x + 5 * y));
                let b1 = w(Self::wire_b((x + 1) % 5 + 5 * y));
                let b2 = w(Self::wire_b((x + 2) % 5 + 5 * y));
                // neg_t = b1·b2 − b2 = −(¬b1 ∧ b2); chi = b0 + t − 2·b0·t = b0 − neg_t + 2·b0·neg_t
                let neg_t = builder.mul_sub_extension(b1, b2, b2);
                let u = builder.arithmetic_extension(F::TWO, F::ONE, b0, neg_t, b0);
                let chi = builder.sub_extension(u, neg_t);
                if x + 5 * y == 0 {
                    let pre = w(Self::WIRE_PRE_IOTA);
                    constraints.push(builder.sub_extension(pre, chi));
                    let v = builder.arithmetic_extension(-F::TWO, F::ONE, pre, rc, pre);
                    let iota = builder.add_extension(v, rc);
                    constraints.push(builder.sub_extension(w(Self::wire_out(0)), iota));
                } else {
                    constraints.push(builder.sub_extension(w(Self::wire_out(x + 5 * y)), chi));
                }
            }
        }
        for x in 0..5 {
            let outs: Vec<_> = (0..5).map(|y| w(Self::wire_out(x + 5 * y))).collect();
            let s = builder.add_many_extension(outs);
            let c = w(Self::wire_c(x));
            constraints.push(builder.mul_sub_extension(c, c, c));
            let k = builder.sub_extension(s, c);
            constraints.push(parity_poly_circuit(builder, k));
        }
        constraints
    }

    fn generators(&self, row: usize, local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(
            KeccakSliceGenerator { row, rc: local_constants[0] == F::ONE }.adapter(),
        )]
    }

    fn num_wires(&self) -> usize {
        Self::NUM_WIRES
    }

    fn num_constants(&self) -> usize {
        1
    }

    fn degree(&self) -> usize {
        3
    }

    fn num_constraints(&self) -> usize {
        61
    }
}

impl<F: RichField + Extendable<D>, const D: usize> PackedEvaluableBase<F, D> for KeccakSliceGate {
    fn eval_unfiltered_base_packed<P: PackedField<Scalar = F>>(
        &self,
        vars: EvaluationVarsBasePacked<P>,
        mut yield_constr: StridedConstraintConsumer<P>,
    ) {
        Self::eval(|i| vars.local_wires[i], vars.local_constants[0], |c| yield_constr.one(c));
    }
}

/// Witness generator of a [`KeccakSliceGate`] row: reads `a`, `d`, writes `b`, `pre`, `out`,
/// `c`, each one a value the row's constraints determine.
#[derive(Debug, Clone, Default)]
pub struct KeccakSliceGenerator {
    row: usize,
    rc: bool,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for KeccakSliceGenerator {
    fn id(&self) -> String {
        "KeccakSliceGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..25)
            .flat_map(|i| [KeccakSliceGate::wire_a(i), KeccakSliceGate::wire_d(i)])
            .map(|c| Target::wire(self.row, c))
            .collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> Result<()> {
        let get = |c| witness.get_target(Target::wire(self.row, c));
        let wire = |c| Target::wire(self.row, c);
        let two = F::TWO;
        let mut b = [F::ZERO; 25];
        for i in 0..25 {
            let (a, d) = (get(KeccakSliceGate::wire_a(i)), get(KeccakSliceGate::wire_d(i)));
            b[i] = a + d - a * d * two;
            out.set_target(wire(KeccakSliceGate::wire_b(i)), b[i])?;
        }
        let mut o = [F::ZERO; 25];
        for y in 0..5 {
            for x in 0..5 {
                let (b0, b1, b2) = (b[x + 5 * y], b[(x + 1) % 5 + 5 * y], b[(x + 2) % 5 + 5 * y]);
                let t = b2 - b1 * b2;
                o[x + 5 * y] = b0 + t - b0 * t * two;
            }
        }
        let pre = o[0];
        out.set_target(wire(KeccakSliceGate::WIRE_PRE_IOTA), pre)?;
        if self.rc {
            o[0] = F::ONE - pre;
        }
        for i in 0..25 {
            out.set_target(wire(KeccakSliceGate::wire_out(i)), o[i])?;
        }
        for x in 0..5 {
            let s: u64 = (0..5).map(|y| o[x + 5 * y].to_canonical_u64() & 1).sum();
            out.set_target(wire(KeccakSliceGate::wire_c(x)), F::from_canonical_u64(s & 1))?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_bool(self.rc)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, rc: src.read_bool()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::field::extension::FieldExtension;
    use plonky2::field::goldilocks_field::GoldilocksField;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use plonky2::hash::hash_types::HashOut;
    use plonky2::plonk::config::PoseidonGoldilocksConfig;
    use rand::{Rng, SeedableRng};

    type F = GoldilocksField;
    type FE = <F as Extendable<2>>::Extension;

    #[test]
    fn low_degree() {
        test_low_degree::<F, _, 2>(KeccakSliceGate);
    }

    #[test]
    fn eval_fns() -> Result<()> {
        test_eval_fns::<F, PoseidonGoldilocksConfig, _, 2>(KeccakSliceGate)
    }

    /// An honest row (computed like the generator) satisfies all constraints; changing any
    /// single non-input wire of it violates one.
    #[test]
    fn honest_row_satisfies_and_any_tampered_wire_fails() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for rc in [false, true] {
            let mut wires = vec![F::ZERO; KeccakSliceGate::NUM_WIRES];
            for i in 0..50 {
                wires[i] = F::from_bool(rng.gen());
            }
            // Honest witness: reuse the generator's arithmetic.
            let mut b = [F::ZERO; 25];
            for i in 0..25 {
                let (a, d) = (wires[i], wires[25 + i]);
                b[i] = a + d - a * d * F::TWO;
                wires[KeccakSliceGate::wire_b(i)] = b[i];
            }
            for y in 0..5 {
                for x in 0..5 {
                    let (b0, b1, b2) =
                        (b[x + 5 * y], b[(x + 1) % 5 + 5 * y], b[(x + 2) % 5 + 5 * y]);
                    let bit = |v: F| v == F::ONE;
                    let chi = bit(b0) ^ (!bit(b1) & bit(b2));
                    wires[KeccakSliceGate::wire_out(x + 5 * y)] = F::from_bool(chi);
                }
            }
            wires[KeccakSliceGate::WIRE_PRE_IOTA] = wires[KeccakSliceGate::wire_out(0)];
            if rc {
                wires[KeccakSliceGate::wire_out(0)] = F::ONE - wires[KeccakSliceGate::wire_out(0)];
            }
            for x in 0..5 {
                let p = (0..5)
                    .filter(|y| wires[KeccakSliceGate::wire_out(x + 5 * y)] == F::ONE)
                    .count();
                wires[KeccakSliceGate::wire_c(x)] = F::from_bool(p % 2 == 1);
            }
            let eval = |wires: &[F]| -> bool {
                let wires_ext: Vec<FE> =
                    wires.iter().map(|&w| <FE as FieldExtension<2>>::from_basefield(w)).collect();
                let consts = [FE::from_bool(rc)];
                let hash = HashOut::<F>::ZERO;
                Gate::<F, 2>::eval_unfiltered(
                    &KeccakSliceGate,
                    EvaluationVars {
                        local_constants: &consts,
                        local_wires: &wires_ext,
                        public_inputs_hash: &hash,
                    },
                )
                .iter()
                .all(|c| *c == FE::ZERO)
            };
            assert!(eval(&wires));
            for w in 50..KeccakSliceGate::NUM_WIRES {
                let mut bad = wires.clone();
                bad[w] = F::ONE - bad[w];
                assert!(!eval(&bad), "flipping wire {w} went unnoticed (rc {rc})");
            }
        }
    }
}

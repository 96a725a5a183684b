//! Small packed bit gates of the keccak gadget: 2-input XOR, 5-input parity and byte ⇄ bits.
//!
//! Each gate packs as many independent operations in one row as the config's routed wires
//! allow, and is filled through [`CircuitBuilder::find_slot`], so operations of different
//! permutations share rows. Unused operations of a partly filled row keep all-zero wires,
//! which satisfy every constraint below. They implement plonky2 1.1's
//! [`Gate`] API (constraints in `eval_unfiltered*`, one
//! [`SimpleGenerator`] per operation).
//!
//! WARNING: the XOR and parity gates only compute XOR for *boolean* inputs: they do not
//! range-check their inputs (the keccak gadget only feeds them gate outputs that are boolean by
//! construction). The byte gate does constrain its 8 bits to be boolean.

use anyhow::{ensure, Result};
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
use plonky2::plonk::circuit_data::{CircuitConfig, CommonCircuitData};
use plonky2::plonk::vars::{
    EvaluationTargets, EvaluationVars, EvaluationVarsBase, EvaluationVarsBaseBatch,
    EvaluationVarsBasePacked,
};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

// ---------------------------------------------------------------------------------------------
// Xor2Gate
// ---------------------------------------------------------------------------------------------

/// `num_ops` XORs of two bits per row: `out = a + b − 2ab` (degree 2).
///
/// Wires of operation `i`: `a = 3i`, `b = 3i + 1`, `out = 3i + 2`, all routed
/// (26 operations with 80 routed wires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xor2Gate {
    /// Operations per row.
    pub num_ops: usize,
}

impl Xor2Gate {
    /// As many operations as the config's routed wires allow.
    pub const fn new_from_config(config: &CircuitConfig) -> Self {
        Self { num_ops: config.num_routed_wires / 3 }
    }
    /// Wire of input `a` of operation `i`.
    pub const fn wire_a(i: usize) -> usize {
        3 * i
    }
    /// Wire of input `b` of operation `i`.
    pub const fn wire_b(i: usize) -> usize {
        3 * i + 1
    }
    /// Wire of the output of operation `i`.
    pub const fn wire_out(i: usize) -> usize {
        3 * i + 2
    }

    fn eval<P: PackedField>(&self, w: impl Fn(usize) -> P, mut yield_constr: impl FnMut(P)) {
        for i in 0..self.num_ops {
            let (a, b) = (w(Self::wire_a(i)), w(Self::wire_b(i)));
            yield_constr(w(Self::wire_out(i)) - (a + b - a * b * P::Scalar::TWO));
        }
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for Xor2Gate {
    fn id(&self) -> String {
        format!("{self:?}")
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.num_ops)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { num_ops: src.read_usize()? })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        let mut out = Vec::with_capacity(self.num_ops);
        self.eval(|i| vars.local_wires[i], |c| out.push(c));
        out
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<F>,
        mut yield_constr: StridedConstraintConsumer<F>,
    ) {
        self.eval(|i| vars.local_wires[i], |c| yield_constr.one(c));
    }

    fn eval_unfiltered_base_batch(&self, vars_base: EvaluationVarsBaseBatch<F>) -> Vec<F> {
        self.eval_unfiltered_base_batch_packed(vars_base)
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<D>,
    ) -> Vec<ExtensionTarget<D>> {
        (0..self.num_ops)
            .map(|i| {
                let a = vars.local_wires[Self::wire_a(i)];
                let b = vars.local_wires[Self::wire_b(i)];
                let out = vars.local_wires[Self::wire_out(i)];
                let xor = xor_circuit(builder, a, b);
                builder.sub_extension(out, xor)
            })
            .collect()
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        (0..self.num_ops)
            .map(|i| WitnessGeneratorRef::new(Xor2Generator { row, i }.adapter()))
            .collect()
    }

    fn num_wires(&self) -> usize {
        3 * self.num_ops
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        2
    }

    fn num_constraints(&self) -> usize {
        self.num_ops
    }
}

impl<F: RichField + Extendable<D>, const D: usize> PackedEvaluableBase<F, D> for Xor2Gate {
    fn eval_unfiltered_base_packed<P: PackedField<Scalar = F>>(
        &self,
        vars: EvaluationVarsBasePacked<P>,
        mut yield_constr: StridedConstraintConsumer<P>,
    ) {
        self.eval(|i| vars.local_wires[i], |c| yield_constr.one(c));
    }
}

/// `a + b − 2ab` on extension targets.
pub(crate) fn xor_circuit<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    a: ExtensionTarget<D>,
    b: ExtensionTarget<D>,
) -> ExtensionTarget<D> {
    let sum = builder.add_extension(a, b);
    builder.arithmetic_extension(-F::TWO, F::ONE, a, b, sum)
}

/// Witness generator of one [`Xor2Gate`] operation.
#[derive(Debug, Clone, Default)]
pub struct Xor2Generator {
    row: usize,
    i: usize,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for Xor2Generator {
    fn id(&self) -> String {
        "KeccakXor2Generator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        vec![
            Target::wire(self.row, Xor2Gate::wire_a(self.i)),
            Target::wire(self.row, Xor2Gate::wire_b(self.i)),
        ]
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> Result<()> {
        let a = witness.get_target(Target::wire(self.row, Xor2Gate::wire_a(self.i)));
        let b = witness.get_target(Target::wire(self.row, Xor2Gate::wire_b(self.i)));
        out.set_target(Target::wire(self.row, Xor2Gate::wire_out(self.i)), a + b - a * b * F::TWO)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.i)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, i: src.read_usize()? })
    }
}

// ---------------------------------------------------------------------------------------------
// Xor5Gate
// ---------------------------------------------------------------------------------------------

/// `num_ops` parities of five bits per row (θ's column parity `C[x][z]`).
///
/// With `s` the sum of the five inputs, each operation constrains `out·(out − 1) = 0` and
/// `k·(k − 2)·(k − 4) = 0` with `k = s − out` (degree 3): for boolean inputs `s ∈ [0, 5]`, so
/// `out` is the only boolean with `s − out ∈ {0, 2, 4}`, i.e. `out = s mod 2`.
///
/// Wires of operation `i`: inputs `6i .. 6i + 5`, output `6i + 5`, all routed
/// (13 operations with 80 routed wires).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Xor5Gate {
    /// Operations per row.
    pub num_ops: usize,
}

impl Xor5Gate {
    /// As many operations as the config's routed wires allow.
    pub const fn new_from_config(config: &CircuitConfig) -> Self {
        Self { num_ops: config.num_routed_wires / 6 }
    }
    /// Wire of input `j` (`0..5`) of operation `i`.
    pub const fn wire_input(i: usize, j: usize) -> usize {
        6 * i + j
    }
    /// Wire of the output of operation `i`.
    pub const fn wire_out(i: usize) -> usize {
        6 * i + 5
    }

    fn eval<P: PackedField>(&self, w: impl Fn(usize) -> P, mut yield_constr: impl FnMut(P)) {
        for i in 0..self.num_ops {
            let s: P = (0..5).map(|j| w(Self::wire_input(i, j))).sum();
            let out = w(Self::wire_out(i));
            yield_constr(out * out - out);
            yield_constr(parity_poly(s - out));
        }
    }
}

/// `k·(k − 2)·(k − 4)`: zero iff `k ∈ {0, 2, 4}`.
pub(crate) fn parity_poly<P: PackedField>(k: P) -> P {
    let two = P::Scalar::TWO;
    k * (k - two) * (k - two.double())
}

/// `k·(k − 2)·(k − 4)` on extension targets.
pub(crate) fn parity_poly_circuit<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    k: ExtensionTarget<D>,
) -> ExtensionTarget<D> {
    let two = builder.constant_extension(F::Extension::TWO);
    let four = builder.constant_extension(F::Extension::from_canonical_u64(4));
    let k2 = builder.sub_extension(k, two);
    let k4 = builder.sub_extension(k, four);
    builder.mul_many_extension([k, k2, k4])
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for Xor5Gate {
    fn id(&self) -> String {
        format!("{self:?}")
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.num_ops)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { num_ops: src.read_usize()? })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        let mut out = Vec::with_capacity(2 * self.num_ops);
        self.eval(|i| vars.local_wires[i], |c| out.push(c));
        out
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<F>,
        mut yield_constr: StridedConstraintConsumer<F>,
    ) {
        self.eval(|i| vars.local_wires[i], |c| yield_constr.one(c));
    }

    fn eval_unfiltered_base_batch(&self, vars_base: EvaluationVarsBaseBatch<F>) -> Vec<F> {
        self.eval_unfiltered_base_batch_packed(vars_base)
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<D>,
    ) -> Vec<ExtensionTarget<D>> {
        let mut constraints = Vec::with_capacity(2 * self.num_ops);
        for i in 0..self.num_ops {
            let inputs: Vec<_> = (0..5).map(|j| vars.local_wires[Self::wire_input(i, j)]).collect();
            let s = builder.add_many_extension(inputs);
            let out = vars.local_wires[Self::wire_out(i)];
            constraints.push(builder.mul_sub_extension(out, out, out));
            let k = builder.sub_extension(s, out);
            constraints.push(parity_poly_circuit(builder, k));
        }
        constraints
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        (0..self.num_ops)
            .map(|i| WitnessGeneratorRef::new(Xor5Generator { row, i }.adapter()))
            .collect()
    }

    fn num_wires(&self) -> usize {
        6 * self.num_ops
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        3
    }

    fn num_constraints(&self) -> usize {
        2 * self.num_ops
    }
}

impl<F: RichField + Extendable<D>, const D: usize> PackedEvaluableBase<F, D> for Xor5Gate {
    fn eval_unfiltered_base_packed<P: PackedField<Scalar = F>>(
        &self,
        vars: EvaluationVarsBasePacked<P>,
        mut yield_constr: StridedConstraintConsumer<P>,
    ) {
        self.eval(|i| vars.local_wires[i], |c| yield_constr.one(c));
    }
}

/// Witness generator of one [`Xor5Gate`] operation.
#[derive(Debug, Clone, Default)]
pub struct Xor5Generator {
    row: usize,
    i: usize,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for Xor5Generator {
    fn id(&self) -> String {
        "KeccakXor5Generator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..5).map(|j| Target::wire(self.row, Xor5Gate::wire_input(self.i, j))).collect()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> Result<()> {
        let s: u64 = (0..5)
            .map(|j| {
                witness
                    .get_target(Target::wire(self.row, Xor5Gate::wire_input(self.i, j)))
                    .to_canonical_u64()
                    & 1
            })
            .sum();
        out.set_target(
            Target::wire(self.row, Xor5Gate::wire_out(self.i)),
            F::from_canonical_u64(s & 1),
        )
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.i)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, i: src.read_usize()? })
    }
}

// ---------------------------------------------------------------------------------------------
// ByteDecompositionGate
// ---------------------------------------------------------------------------------------------

/// `num_ops` byte ⇄ 8 bits relations per row: every bit is boolean (`b·(b − 1) = 0`) and
/// `byte = Σ_k 2^k · bit_k` (bit 0 least significant), which range-checks `byte` to `[0, 256)`.
/// Degree 2.
///
/// Wires of operation `i`: `byte = 9i`, `bit_k = 9i + 1 + k`, all routed (8 operations with 80
/// routed wires). The constraints are the same in both directions; `recompose` only picks the
/// witness generator: bits from the byte (`false`) or the byte from the bits (`true`). Both
/// directions are distinct gate types (the id includes the flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteDecompositionGate {
    /// Operations per row.
    pub num_ops: usize,
    /// Generator direction: `false` splits bytes, `true` recomposes bytes from bits.
    pub recompose: bool,
}

impl ByteDecompositionGate {
    /// As many operations as the config's routed wires allow.
    pub const fn new_from_config(config: &CircuitConfig, recompose: bool) -> Self {
        Self { num_ops: config.num_routed_wires / 9, recompose }
    }
    /// Wire of the byte of operation `i`.
    pub const fn wire_byte(i: usize) -> usize {
        9 * i
    }
    /// Wire of bit `k` (`0..8`, LSB first) of operation `i`.
    pub const fn wire_bit(i: usize, k: usize) -> usize {
        9 * i + 1 + k
    }

    fn eval<P: PackedField>(&self, w: impl Fn(usize) -> P, mut yield_constr: impl FnMut(P)) {
        for i in 0..self.num_ops {
            let mut sum = P::ZEROS;
            for k in (0..8).rev() {
                let b = w(Self::wire_bit(i, k));
                yield_constr(b * b - b);
                sum = sum * P::Scalar::TWO + b;
            }
            yield_constr(w(Self::wire_byte(i)) - sum);
        }
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Gate<F, D> for ByteDecompositionGate {
    fn id(&self) -> String {
        format!("{self:?}")
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.num_ops)?;
        dst.write_bool(self.recompose)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { num_ops: src.read_usize()?, recompose: src.read_bool()? })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<F, D>) -> Vec<F::Extension> {
        let mut out = Vec::with_capacity(9 * self.num_ops);
        self.eval(|i| vars.local_wires[i], |c| out.push(c));
        out
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<F>,
        mut yield_constr: StridedConstraintConsumer<F>,
    ) {
        self.eval(|i| vars.local_wires[i], |c| yield_constr.one(c));
    }

    fn eval_unfiltered_base_batch(&self, vars_base: EvaluationVarsBaseBatch<F>) -> Vec<F> {
        self.eval_unfiltered_base_batch_packed(vars_base)
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<D>,
    ) -> Vec<ExtensionTarget<D>> {
        let mut constraints = Vec::with_capacity(9 * self.num_ops);
        for i in 0..self.num_ops {
            let mut sum = builder.zero_extension();
            for k in (0..8).rev() {
                let b = vars.local_wires[Self::wire_bit(i, k)];
                constraints.push(builder.mul_sub_extension(b, b, b));
                sum = builder.mul_const_add_extension(F::TWO, sum, b);
            }
            constraints.push(builder.sub_extension(vars.local_wires[Self::wire_byte(i)], sum));
        }
        constraints
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        (0..self.num_ops)
            .map(|i| {
                WitnessGeneratorRef::new(
                    ByteGenerator { row, i, recompose: self.recompose }.adapter(),
                )
            })
            .collect()
    }

    fn num_wires(&self) -> usize {
        9 * self.num_ops
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        2
    }

    fn num_constraints(&self) -> usize {
        9 * self.num_ops
    }
}

impl<F: RichField + Extendable<D>, const D: usize> PackedEvaluableBase<F, D>
    for ByteDecompositionGate
{
    fn eval_unfiltered_base_packed<P: PackedField<Scalar = F>>(
        &self,
        vars: EvaluationVarsBasePacked<P>,
        mut yield_constr: StridedConstraintConsumer<P>,
    ) {
        self.eval(|i| vars.local_wires[i], |c| yield_constr.one(c));
    }
}

/// Witness generator of one [`ByteDecompositionGate`] operation, in either direction.
///
/// Splitting fails (so proving returns `Err`) when the byte is not below 256.
#[derive(Debug, Clone, Default)]
pub struct ByteGenerator {
    row: usize,
    i: usize,
    recompose: bool,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for ByteGenerator {
    fn id(&self) -> String {
        "KeccakByteGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        if self.recompose {
            (0..8)
                .map(|k| Target::wire(self.row, ByteDecompositionGate::wire_bit(self.i, k)))
                .collect()
        } else {
            vec![Target::wire(self.row, ByteDecompositionGate::wire_byte(self.i))]
        }
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> Result<()> {
        let byte_wire = Target::wire(self.row, ByteDecompositionGate::wire_byte(self.i));
        let bit_wire = |k| Target::wire(self.row, ByteDecompositionGate::wire_bit(self.i, k));
        if self.recompose {
            let mut sum = F::ZERO;
            for k in (0..8).rev() {
                sum = sum * F::TWO + witness.get_target(bit_wire(k));
            }
            out.set_target(byte_wire, sum)
        } else {
            let byte = witness.get_target(byte_wire).to_canonical_u64();
            ensure!(byte < 256, "keccak input byte out of range: {byte}");
            for k in 0..8 {
                out.set_target(bit_wire(k), F::from_canonical_u64((byte >> k) & 1))?;
            }
            Ok(())
        }
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.i)?;
        dst.write_bool(self.recompose)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { row: src.read_usize()?, i: src.read_usize()?, recompose: src.read_bool()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::field::goldilocks_field::GoldilocksField;
    use plonky2::field::types::Field64;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use plonky2::hash::hash_types::HashOut;
    use plonky2::plonk::config::PoseidonGoldilocksConfig;

    type F = GoldilocksField;
    type C = PoseidonGoldilocksConfig;
    const D: usize = 2;

    fn config() -> CircuitConfig {
        CircuitConfig::standard_recursion_config()
    }

    #[test]
    fn xor2_low_degree_and_eval_fns() -> Result<()> {
        let gate = Xor2Gate::new_from_config(&config());
        assert_eq!(gate.num_ops, 26);
        test_low_degree::<F, _, D>(gate);
        test_eval_fns::<F, C, _, D>(gate)
    }

    #[test]
    fn xor5_low_degree_and_eval_fns() -> Result<()> {
        let gate = Xor5Gate::new_from_config(&config());
        assert_eq!(gate.num_ops, 13);
        test_low_degree::<F, _, D>(gate);
        test_eval_fns::<F, C, _, D>(gate)
    }

    #[test]
    fn byte_low_degree_and_eval_fns() -> Result<()> {
        for recompose in [false, true] {
            let gate = ByteDecompositionGate::new_from_config(&config(), recompose);
            assert_eq!(gate.num_ops, 8);
            test_low_degree::<F, _, D>(gate);
            test_eval_fns::<F, C, _, D>(gate)?;
        }
        Ok(())
    }

    /// Evaluates a gate's constraints on one row of base-field wires.
    fn constraints<G: Gate<F, D>>(gate: &G, wires: &[F]) -> Vec<F> {
        use plonky2::field::extension::FieldExtension;
        type FE = <F as Extendable<D>>::Extension;
        let wires: Vec<FE> =
            wires.iter().map(|&w| <FE as FieldExtension<D>>::from_basefield(w)).collect();
        let hash = HashOut::<F>::ZERO;
        gate.eval_unfiltered(EvaluationVars {
            local_constants: &[],
            local_wires: &wires,
            public_inputs_hash: &hash,
        })
        .into_iter()
        .map(|c| <FE as FieldExtension<D>>::to_basefield_array(&c)[0])
        .collect()
    }

    /// Exhaustive soundness of one parity operation: for every boolean input and candidate output
    /// (both booleans and a few non-booleans), the constraints hold iff the output is the parity.
    #[test]
    fn xor5_constraints_accept_only_the_parity() {
        let gate = Xor5Gate { num_ops: 1 };
        for bits in 0u64..32 {
            for out in [0u64, 1, 2, 3, 5, F::ORDER - 1] {
                let mut wires: Vec<F> =
                    (0..5).map(|j| F::from_canonical_u64((bits >> j) & 1)).collect();
                wires.push(F::from_canonical_u64(out));
                let ok = constraints(&gate, &wires).iter().all(|c| *c == F::ZERO);
                assert_eq!(
                    ok,
                    out == u64::from(bits.count_ones() % 2),
                    "bits {bits:05b} out {out}"
                );
            }
        }
    }

    /// For boolean inputs, the XOR constraint accepts exactly the XOR.
    #[test]
    fn xor2_constraints_accept_only_the_xor() {
        let gate = Xor2Gate { num_ops: 1 };
        for a in 0u64..2 {
            for b in 0u64..2 {
                for out in [0u64, 1, 2] {
                    let wires = [a, b, out].map(F::from_canonical_u64);
                    let ok = constraints(&gate, &wires)[0] == F::ZERO;
                    assert_eq!(ok, out == a ^ b);
                }
            }
        }
    }

    /// A byte of 256 (or more) has no boolean decomposition satisfying the constraints.
    #[test]
    fn byte_constraints_reject_out_of_range() {
        let gate = ByteDecompositionGate { num_ops: 1, recompose: false };
        for byte in [0u64, 37, 255, 256, 511, F::ORDER - 1] {
            let accepted = (0u64..256).any(|bits| {
                let mut wires = vec![F::from_canonical_u64(byte)];
                wires.extend((0..8).map(|k| F::from_canonical_u64((bits >> k) & 1)));
                constraints(&gate, &wires).iter().all(|c| *c == F::ZERO)
            });
            assert_eq!(accepted, byte < 256, "byte {byte}");
        }
    }
}

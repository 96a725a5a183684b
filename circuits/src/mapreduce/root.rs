//! The root circuit: verifies the top proof of the tree and exposes exactly the statement of
//! DESIGN.md §1 as its public inputs:
//!
//! | offset | len | value |
//! |---|---|---|
//! | 0 | 8 | `query_hash` = keccak256(plan bytes), big-endian u32 words |
//! | 8 | 1 | `from_block` |
//! | 9 | 1 | `to_block` |
//! | 10 | 8 | `anchor_hash` = hash of `to_block` |
//! | 18 | 8 | `result_hash` = keccak256(ABI result rows) |
//!
//! Constrained: the child is a wrap proof of either leaf kind (verifier data constants) or a
//! reduce proof whose
//! `vd_self` equals the real reduce verifier data (constant); the plan bytes hash (Poseidon) to
//! the child's `program_hash`; every output slot in use is an aggregate; no SUM/AVG slot's sum
//! overflowed; the finalized row (COUNT, SUM, MIN, MAX, AVG = floor(sum/count), NULL when no
//! rows) is ABI-encoded as one `(nullMask, v_0..v_{n-1})` row and hashed.

use alloy_primitives::{B256, U256};
use annals_query_lang::plan::{encode_result_rows, Aggregate, Program, MAX_OUTPUTS};
use anyhow::{anyhow, Result};
use plonky2::field::types::{Field, PrimeField64};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::header_map::bytes_to_words;
use super::merge::finalize_partial_aggregate;
use super::plan::{add_plan, set_plan, PlanTargets};
use super::recursion::{vd_elements, vd_from_elements, ChildKind, ChildTargets, ShapeCircuits};
use super::statement::{words_to_b256, Statement, STATEMENT_LEN};
use super::{Cfg, Proof, D, F};
use crate::keccak::CircuitBuilderKeccak;
use crate::uint256::U256Target;
use crate::vm::{finalize_native, AggregateTargets, CircuitBuilderVm, NativeAggregate};

/// Number of root public inputs.
pub const ROOT_PUBLIC_INPUTS: usize = 26;
/// Capacity of the in-circuit result encoding: offset, row count, null mask, 4 values.
const RESULT_ABI_MAX_BYTES: usize = 32 * (3 + MAX_OUTPUTS);

/// The root statement (DESIGN.md §1), read from root public inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootStatement {
    /// keccak256 of the plan encoding.
    pub query_hash: B256,
    /// First block.
    pub from_block: u64,
    /// Last block.
    pub to_block: u64,
    /// Hash of `to_block`.
    pub anchor_hash: B256,
    /// keccak256 of the ABI-encoded result rows.
    pub result_hash: B256,
}

impl RootStatement {
    /// Parses the [`ROOT_PUBLIC_INPUTS`] public inputs.
    pub fn from_public_inputs(pis: &[F]) -> Self {
        Self {
            query_hash: words_to_b256(&pis[0..8]),
            from_block: pis[8].to_canonical_u64(),
            to_block: pis[9].to_canonical_u64(),
            anchor_hash: words_to_b256(&pis[10..18]),
            result_hash: words_to_b256(&pis[18..26]),
        }
    }
}

/// The root circuit.
pub struct RootCircuit {
    /// Circuit data.
    pub data: CircuitData<F, Cfg, D>,
    child: ChildTargets,
    plan: PlanTargets,
}

/// Big-endian bytes of a canonical uint256 (32 range-checked targets).
fn u256_to_be_bytes(b: &mut CircuitBuilder<F, D>, x: &U256Target) -> [Target; 32] {
    let mut out = [b.zero(); 32];
    for (l, limb) in x.limbs.iter().enumerate() {
        let bits = b.split_le(*limb, 16);
        out[31 - 2 * l] = b.le_sum(bits[..8].iter());
        out[30 - 2 * l] = b.le_sum(bits[8..].iter());
    }
    out
}

fn wire_root(shape: &ShapeCircuits) -> (CircuitBuilder<F, D>, RootTargetsInner) {
    let common = &shape.common;
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let child = ChildTargets::add(&mut b, common);
    let wrap_elems = child.wrap_vd(&mut b, &shape.wrap_verifier_data());
    let reduce_vd = b.constant_verifier_data(&shape.reduce.data.verifier_only);
    let reduce_elems = vd_elements(&reduce_vd);
    let vd_elems: Vec<Target> = wrap_elems
        .iter()
        .zip(&reduce_elems)
        .map(|(&w, &r)| b.select(child.is_leaf, w, r))
        .collect();
    b.verify_proof::<Cfg>(&child.proof, &vd_from_elements(&vd_elems), common);
    let not_leaf = b.not(child.is_leaf);
    for (x, y) in child.proof.public_inputs[STATEMENT_LEN..].iter().zip(&reduce_elems) {
        b.conditional_assert_eq(not_leaf.target, *x, *y);
    }
    let s = super::statement::StatementTargets::from_slice(&child.proof.public_inputs);

    let plan = add_plan(&mut b);
    b.connect_hashes(plan.program_hash, s.program_hash);
    let query_hash = b.keccak256_fixed(&plan.bytes);

    // Output slots in use must be aggregates; SUM/AVG sums must not have overflowed.
    let p = &plan.program;
    let mut active = b.one();
    for j in 0..MAX_OUTPUTS {
        let jt = b.constant(F::from_canonical_usize(j));
        let ends_here = b.is_equal(p.n_outputs, jt);
        active = b.sub(active, ends_here.target);
        b.assert_bool(BoolTarget::new_unsafe(active));
        let plain = p.outputs[j].flag(Aggregate::None);
        let bad = b.mul(active, plain.target);
        b.assert_zero(bad);
    }
    let aggs: [AggregateTargets; MAX_OUTPUTS] = core::array::from_fn(|j| {
        finalize_partial_aggregate(&mut b, &p.outputs[j], &s.aggregates[j])
    });
    let values = b.finalize_aggregates(p, &aggs);

    // abi.encode(Row[]) with one row: 0x20, 1, nullMask, v_0..v_{n-1}.
    let zero = b.zero();
    let mut abi = vec![zero; RESULT_ABI_MAX_BYTES];
    abi[31] = b.constant(F::from_canonical_u8(0x20));
    abi[63] = b.one();
    let mut mask = zero;
    for (j, (v, null)) in values.iter().enumerate() {
        mask = b.mul_const_add(F::from_canonical_u32(1 << j), null.target, mask);
        let bytes = u256_to_be_bytes(&mut b, v);
        abi[96 + 32 * j..128 + 32 * j].copy_from_slice(&bytes);
    }
    abi[95] = mask;
    let base = b.constant(F::from_canonical_u32(96));
    let len = b.mul_const_add(F::from_canonical_u32(32), p.n_outputs, base);
    let result_hash = b.keccak256_var(&abi, len);

    let query_words = bytes_to_words(&mut b, &query_hash);
    let result_words = bytes_to_words(&mut b, &result_hash);
    b.register_public_inputs(&query_words);
    b.register_public_input(s.from_block);
    b.register_public_input(s.to_block);
    b.register_public_inputs(&s.last_hash);
    b.register_public_inputs(&result_words);
    (b, RootTargetsInner { child, plan })
}

struct RootTargetsInner {
    child: ChildTargets,
    plan: PlanTargets,
}

impl RootCircuit {
    /// Builds the root for a shape.
    pub fn build(shape: &ShapeCircuits) -> Self {
        let (b, t) = wire_root(shape);
        Self { data: b.build::<Cfg>(), child: t.child, plan: t.plan }
    }

    /// Pairs cached circuit data with freshly wired targets (see
    /// [`super::header_map::HeaderMapCircuit::from_data`]).
    pub fn from_data(shape: &ShapeCircuits, data: CircuitData<F, Cfg, D>) -> Self {
        let (_, t) = wire_root(shape);
        Self { data, child: t.child, plan: t.plan }
    }

    /// The root circuit digest as 0x-hex (see [`super::circuit_digest_hex`]).
    pub fn digest_hex(&self) -> String {
        super::circuit_digest_hex(&self.data.verifier_only)
    }

    /// Proves the root over the top proof of the tree; returns the proof and the result rows
    /// (computed natively from the child's statement, equal to what the circuit hashed).
    ///
    /// # Errors
    /// When the child does not verify, the plan does not match the child's, the plan is not an
    /// aggregate, or a SUM/AVG overflowed.
    pub fn prove(
        &self,
        child: &Proof,
        child_kind: ChildKind,
        program: &Program,
    ) -> Result<(Proof, Vec<Vec<Option<U256>>>)> {
        let s = Statement::from_public_inputs(&child.public_inputs);
        for (j, (a, o)) in s.aggregates.iter().zip(&program.outputs).enumerate() {
            if a.sum_overflow && matches!(o.aggregate, Aggregate::Sum | Aggregate::Avg) {
                return Err(anyhow!("overflow: SUM of output {j} exceeds 2^256 - 1"));
            }
        }
        self.prove_without_native_checks(child, child_kind, program)
    }

    /// [`Self::prove`] without its native overflow check, so that the circuit alone decides:
    /// for negative tests, which must see the circuit reject what the check would.
    ///
    /// # Errors
    /// When the circuit is not satisfied or the plan is not an aggregate.
    pub fn prove_without_native_checks(
        &self,
        child: &Proof,
        child_kind: ChildKind,
        program: &Program,
    ) -> Result<(Proof, Vec<Vec<Option<U256>>>)> {
        let s = Statement::from_public_inputs(&child.public_inputs);
        let aggs: [NativeAggregate; MAX_OUTPUTS] = core::array::from_fn(|j| {
            let a = &s.aggregates[j];
            NativeAggregate { count: a.count, sum: a.sum, min: a.min, max: a.max }
        });
        let row = finalize_native(program, &aggs)?;
        let rows = vec![row[..program.outputs.len()].to_vec()];
        let mut pw = PartialWitness::new();
        self.child.set(&mut pw, child, child_kind)?;
        set_plan(&mut pw, &self.plan, program)?;
        let proof = self.data.prove(pw)?;
        debug_assert_eq!(
            RootStatement::from_public_inputs(&proof.public_inputs).result_hash,
            alloy_primitives::keccak256(encode_result_rows(&rows))
        );
        Ok((proof, rows))
    }
}

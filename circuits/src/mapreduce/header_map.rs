//! The `header_map` leaf: one block header → its block hash, decoded fields, the plan run on
//! its `headers` row, and the statement (DESIGN.md §4 "block map" for `headers`).
//!
//! Constrained: keccak256 of the header bytes is the block hash (`last_hash`); the RLP decoding
//! gives the row (NULL for fork fields the header lacks); the plan bytes give the program and
//! `program_hash`; the VM's per-slot partial aggregate of this row. `from_block = to_block =
//! number` with `number < 2^32`; `first_parent_hash = parent_hash`.

use annals_query_lang::columns::NUM_HEADER_COLUMNS;
use annals_query_lang::plan::{Program, MAX_OUTPUTS};
use anyhow::Result;
use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::plan::{add_plan, set_plan, PlanTargets};
use super::statement::{PartialAggregateTargets, StatementTargets};
use super::{Cfg, Proof, D, F};
use crate::header::{
    decode_header_native, set_header_presence, CircuitBuilderHeader, MAX_HEADER_BYTES,
};
use crate::keccak::CircuitBuilderKeccak;
use crate::uint256::{CircuitBuilderU256, U256Target};
use crate::vm::{CircuitBuilderVm, ColumnTargets, RowTargets};

/// 32 big-endian bytes → 8 big-endian u32 words (bytes must be range-checked).
pub fn bytes_to_words(b: &mut CircuitBuilder<F, D>, bytes: &[Target; 32]) -> [Target; 8] {
    core::array::from_fn(|i| {
        let mut acc = bytes[4 * i];
        for k in 1..4 {
            acc = b.mul_const_add(F::from_canonical_u32(256), acc, bytes[4 * i + k]);
        }
        acc
    })
}

/// Targets of the leaf.
pub struct HeaderMapTargets {
    /// Raw header bytes (zero-padded to [`MAX_HEADER_BYTES`]).
    pub raw: Vec<Target>,
    /// Header length in bytes.
    pub len: Target,
    /// Presence flags and decoded fields.
    pub fields: crate::header::HeaderFieldsTargets,
    /// The plan.
    pub plan: PlanTargets,
}

/// The `header_map` circuit.
pub struct HeaderMapCircuit {
    /// Circuit data.
    pub data: CircuitData<F, Cfg, D>,
    /// Targets.
    pub targets: HeaderMapTargets,
}

fn column(value: U256Target, is_null: BoolTarget) -> ColumnTargets {
    ColumnTargets { value, is_null }
}

/// Wires the leaf; returns the builder and its targets.
pub fn wire_header_map() -> (CircuitBuilder<F, D>, HeaderMapTargets) {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let raw = b.add_virtual_targets(MAX_HEADER_BYTES);
    let len = b.add_virtual_target();
    let hash = b.keccak256_var(&raw, len);
    let mask = b.prefix_mask(len, MAX_HEADER_BYTES);
    let masked: Vec<Target> = raw.iter().zip(&mask).map(|(x, m)| b.mul(*x, m.target)).collect();
    let f = b.decode_header(&masked, len);
    let plan = add_plan(&mut b);

    let zero = b.zero();
    let not_null = b._false();
    let b32 = |b: &mut CircuitBuilder<F, D>, x: &[Target; 32]| b.u256_from_be_bytes(x);
    let mut beneficiary = [zero; 32];
    beneficiary[12..].copy_from_slice(&f.beneficiary);
    let no_base_fee = b.not(f.has_base_fee_per_gas);
    let no_withdrawals = b.not(f.has_withdrawals_root);
    let no_cancun = b.not(f.has_cancun_fields);
    let no_requests = b.not(f.has_requests_hash);
    let cols: [ColumnTargets; NUM_HEADER_COLUMNS] = [
        column(f.number, not_null),
        column(b32(&mut b, &hash), not_null),
        column(b32(&mut b, &f.parent_hash), not_null),
        column(f.timestamp, not_null),
        column(b32(&mut b, &beneficiary), not_null),
        column(b32(&mut b, &f.state_root), not_null),
        column(b32(&mut b, &f.transactions_root), not_null),
        column(b32(&mut b, &f.receipts_root), not_null),
        column(f.difficulty, not_null),
        column(f.gas_limit, not_null),
        column(f.gas_used, not_null),
        column(f.base_fee_per_gas, no_base_fee),
        column(b32(&mut b, &f.withdrawals_root), no_withdrawals),
        column(f.blob_gas_used, no_cancun),
        column(f.excess_blob_gas, no_cancun),
        column(b32(&mut b, &f.parent_beacon_block_root), no_cancun),
        column(b32(&mut b, &f.requests_hash), no_requests),
    ];
    let row = RowTargets { columns: cols };
    let result = b.eval_program(&plan.program, &row);

    // Block numbers are < 2^32 so range arithmetic in the reduce circuit cannot wrap.
    for l in &f.number.limbs[2..] {
        b.assert_zero(*l);
    }
    let number =
        b.mul_const_add(F::from_canonical_u32(1 << 16), f.number.limbs[1], f.number.limbs[0]);
    let aggregates: [PartialAggregateTargets; MAX_OUTPUTS] =
        core::array::from_fn(|j| PartialAggregateTargets::from_row(&result.outputs[j].aggregate));
    let statement = StatementTargets {
        program_hash: plan.program_hash,
        from_block: number,
        to_block: number,
        first_parent_hash: bytes_to_words(&mut b, &f.parent_hash),
        last_hash: bytes_to_words(&mut b, &hash),
        aggregates,
    };
    statement.register(&mut b);
    (b, HeaderMapTargets { raw, len, fields: f, plan })
}

impl HeaderMapCircuit {
    /// Builds the circuit (a few seconds).
    pub fn build() -> Self {
        let (b, targets) = wire_header_map();
        Self { data: b.build::<Cfg>(), targets }
    }

    /// Pairs cached circuit data with freshly wired targets.
    ///
    /// WARNING: `data` must come from [`HeaderMapCircuit::build`] of the same source (the
    /// cache is keyed by the circuits' source hash).
    pub fn from_data(data: CircuitData<F, Cfg, D>) -> Self {
        let (_, targets) = wire_header_map();
        Self { data, targets }
    }

    /// Proves `program` on the header `rlp`.
    ///
    /// # Errors
    /// A header that is not decodable or longer than [`MAX_HEADER_BYTES`], a plan error on the
    /// row (overflow, division by zero), or any unsatisfied constraint.
    pub fn prove(&self, program: &Program, rlp: &[u8]) -> Result<Proof> {
        let native = decode_header_native(rlp)?;
        let t = &self.targets;
        let mut pw = PartialWitness::new();
        for (i, x) in t.raw.iter().enumerate() {
            pw.set_target(*x, F::from_canonical_u8(rlp.get(i).copied().unwrap_or(0)))?;
        }
        pw.set_target(t.len, F::from_canonical_usize(rlp.len()))?;
        set_header_presence(&mut pw, &t.fields, native.presence())?;
        set_plan(&mut pw, &t.plan, program)?;
        self.data.prove(pw)
    }
}

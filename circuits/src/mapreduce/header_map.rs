//! The `header_map` leaf: one block header → its block hash, decoded fields, the plan run on
//! its `headers` row, and the statement (DESIGN.md §4 "block map" for `headers`). It also
//! stands for the blocks a sampled `accounts`/`storage` query skips (see [`wire_header_map`]).
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

use super::plan::{
    add_plan, add_points_prelude, set_plan, set_points_prelude, PlanTargets, PointsPreludeTargets,
};
use super::statement::{PartialAggregateTargets, StatementTargets};
use super::{Cfg, Proof, D, F};
use crate::header::{
    decode_header_native, set_header_presence, CircuitBuilderHeader, MAX_HEADER_BYTES,
};
use crate::keccak::CircuitBuilderKeccak;
use crate::uint256::CircuitBuilderU256Arith;
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
    /// The header bytes, hash and fields.
    pub header: HeaderLinkTargets,
    /// The plan.
    pub plan: PlanTargets,
    /// The points prelude (checked for the skipped blocks of a sampled points query).
    pub prelude: PointsPreludeTargets,
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

/// The header part every block-map leaf shares: the header bytes, their keccak256 (the block
/// hash) and the decoded fields.
pub struct HeaderLinkTargets {
    /// Raw header bytes (zero-padded to [`MAX_HEADER_BYTES`]).
    pub raw: Vec<Target>,
    /// Header length in bytes.
    pub len: Target,
    /// keccak256 of the header: the block hash, 32 bytes.
    pub hash: [Target; 32],
    /// Presence flags and decoded fields.
    pub fields: crate::header::HeaderFieldsTargets,
}

/// Adds the header bytes, hashes and decodes them (the bytes past `len` are constrained zero
/// before decoding).
pub fn add_header_link(b: &mut CircuitBuilder<F, D>) -> HeaderLinkTargets {
    let raw = b.add_virtual_targets(MAX_HEADER_BYTES);
    let len = b.add_virtual_target();
    let hash = b.keccak256_var(&raw, len);
    let mask = b.prefix_mask(len, MAX_HEADER_BYTES);
    let masked: Vec<Target> = raw.iter().zip(&mask).map(|(x, m)| b.mul(*x, m.target)).collect();
    let fields = b.decode_header(&masked, len);
    HeaderLinkTargets { raw, len, hash, fields }
}

/// Sets the header witness of [`add_header_link`].
///
/// # Errors
/// A header that is not decodable or longer than [`MAX_HEADER_BYTES`].
pub fn set_header_link(
    pw: &mut PartialWitness<F>,
    t: &HeaderLinkTargets,
    rlp: &[u8],
) -> Result<()> {
    let native = decode_header_native(rlp)?;
    for (i, x) in t.raw.iter().enumerate() {
        pw.set_target(*x, F::from_canonical_u8(rlp.get(i).copied().unwrap_or(0)))?;
    }
    pw.set_target(t.len, F::from_canonical_usize(rlp.len()))?;
    set_header_presence(pw, &t.fields, native.presence())?;
    Ok(())
}

/// Registers the statement of a one-block leaf: `from_block = to_block = number` (constrained
/// `< 2^32`), `first_parent_hash` = the header's parent hash, `last_hash` = its hash, and the
/// VM's per-slot partial aggregates of the block's rows.
pub fn register_block_statement(
    b: &mut CircuitBuilder<F, D>,
    plan: &PlanTargets,
    header: &HeaderLinkTargets,
    aggregates: [PartialAggregateTargets; MAX_OUTPUTS],
) {
    let f = &header.fields;
    // Block numbers are < 2^32 so range arithmetic in the reduce circuit cannot wrap.
    for l in &f.number.limbs[2..] {
        b.assert_zero(*l);
    }
    let number =
        b.mul_const_add(F::from_canonical_u32(1 << 16), f.number.limbs[1], f.number.limbs[0]);
    let statement = StatementTargets {
        program_hash: plan.program_hash,
        from_block: number,
        to_block: number,
        first_parent_hash: bytes_to_words(b, &f.parent_hash),
        last_hash: bytes_to_words(b, &header.hash),
        aggregates,
    };
    statement.register(b);
}

/// Wires the leaf; returns the builder and its targets.
///
/// The plan's table is `headers`, or `accounts`/`storage` for a block that a sampled points
/// query skips: then the program must start with the sampled [`PointsPreludeTargets`] prelude
/// and `number mod k ≠ r` for its constants `k = constants[0]`, `r = constants[1]` (a
/// witnessed division, `k = 0` unsatisfiable). The sampling conjunct is a top-level conjunct of
/// the filter, so every row of the block would be rejected: the VM runs disabled (no row, no
/// error, empty aggregates), as the native evaluator reads no rows of a skipped block.
pub fn wire_header_map() -> (CircuitBuilder<F, D>, HeaderMapTargets) {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let header = add_header_link(&mut b);
    let plan = add_plan(&mut b);
    let prelude = add_points_prelude(&mut b, &plan);
    // table ∈ {headers, accounts, storage}: table · (1 − is_points) == 0.
    let not_points = b.not(prelude.is_points);
    let t = b.mul(plan.bytes[1], not_points.target);
    b.assert_zero(t);
    let f = &header.fields;

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
        column(b32(&mut b, &header.hash), not_null),
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
    let result = b.eval_program_enabled(&plan.program, &row, not_points);

    // A skipped block of a points query: sampled, and number mod k ≠ r.
    let unsampled = b.not(prelude.sampled);
    let t = b.mul(prelude.is_points.target, unsampled.target);
    b.assert_zero(t);
    let (k, r) = (&plan.program.constants[0], &plan.program.constants[1]);
    let (_, residue) = b.div_rem_u256(&f.number, k, prelude.is_points);
    let sampled_here = b.is_equal_u256(&residue, r);
    let t = b.mul(prelude.is_points.target, sampled_here.target);
    b.assert_zero(t);

    let aggregates: [PartialAggregateTargets; MAX_OUTPUTS] =
        core::array::from_fn(|j| PartialAggregateTargets::from_row(&result.outputs[j].aggregate));
    register_block_statement(&mut b, &plan, &header, aggregates);
    let targets = HeaderMapTargets { header, plan, prelude };
    (b, targets)
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
        let t = &self.targets;
        let mut pw = PartialWitness::new();
        set_header_link(&mut pw, &t.header, rlp)?;
        set_plan(&mut pw, &t.plan, program)?;
        set_points_prelude(&mut pw, &t.prelude, program)?;
        self.data.prove(pw)
    }
}

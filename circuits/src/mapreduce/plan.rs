//! Binding the plan VM's program targets to the 319 bytes of the canonical plan encoding
//! (`annals_query_lang::plan::Program::encode`), so that the map leaves and the root read the
//! program from the very bytes that `program_hash` (Poseidon) and `query_hash` (keccak256)
//! commit to.

use annals_query_lang::plan::{
    Opcode, PointsPrelude, Program, Table, MAX_CONSTANTS, MAX_OPS, MAX_OUTPUTS, MAX_SLOT_KEYS,
    PLAN_ENCODING_VERSION,
};
use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::config::Hasher;

use super::{D, F};
use crate::keccak::CircuitBuilderKeccak;
use crate::vm::{CircuitBuilderVm, ProgramTargets, NUM_AGGREGATES};
use annals_query_lang::plan::NUM_OPCODES;

/// Length of the plan encoding.
pub const PLAN_BYTES: usize = Program::ENCODED_LEN;

/// The plan bytes and the program targets read from them.
#[derive(Clone, Debug)]
pub struct PlanTargets {
    /// The encoding, one range-checked byte per target.
    pub bytes: Vec<Target>,
    /// The program, every field connected to its bytes.
    pub program: ProgramTargets,
    /// Poseidon hash of `bytes` (one field element per byte).
    pub program_hash: HashOutTarget,
}

/// Adds the plan bytes, range-checks them, checks the version byte, and connects a VM program
/// to them: constants' 16-bit limbs are `256 · hi + lo` of their big-endian bytes; the filter
/// byte 0xff means no filter.
///
/// Op slots past `n_ops` are zero bytes, i.e. `Column 0`, which cannot fail: the circuits run
/// them and no output reads them in a plan from the planner.
pub fn add_plan(b: &mut CircuitBuilder<F, D>) -> PlanTargets {
    let bytes = b.add_virtual_targets(PLAN_BYTES);
    for &x in &bytes {
        b.range_check(x, 8);
    }
    let version = b.constant(F::from_canonical_u8(PLAN_ENCODING_VERSION));
    b.connect(bytes[0], version);
    let program = b.add_virtual_program();
    b.connect(program.table, bytes[1]);
    b.connect(program.n_constants, bytes[2]);
    let k256 = F::from_canonical_u32(256);
    for i in 0..MAX_CONSTANTS {
        let word =
            &bytes[Program::CONSTANTS_OFFSET + 32 * i..Program::CONSTANTS_OFFSET + 32 * (i + 1)];
        for l in 0..16 {
            let limb = b.mul_const_add(k256, word[30 - 2 * l], word[31 - 2 * l]);
            b.connect(program.constants[i].limbs[l], limb);
        }
    }
    b.connect(program.n_ops, bytes[Program::N_OPS_OFFSET]);
    for i in 0..MAX_OPS {
        let o = Program::OPS_OFFSET + 3 * i;
        b.connect(program.ops[i].opcode, bytes[o]);
        b.connect(program.ops[i].a, bytes[o + 1]);
        b.connect(program.ops[i].b, bytes[o + 2]);
    }
    let filter_byte = bytes[Program::FILTER_OFFSET];
    let ff = b.constant(F::from_canonical_u8(0xff));
    let none = b.is_equal(filter_byte, ff);
    let has = b.not(none);
    b.connect(program.has_filter.target, has.target);
    let filter = b.mul(has.target, filter_byte);
    b.connect(program.filter, filter);
    b.connect(program.n_outputs, bytes[Program::N_OUTPUTS_OFFSET]);
    for j in 0..MAX_OUTPUTS {
        let o = Program::OUTPUTS_OFFSET + 2 * j;
        b.connect(program.outputs[j].aggregate, bytes[o]);
        b.connect(program.outputs[j].reg, bytes[o + 1]);
    }
    let program_hash = b.hash_n_to_hash_no_pad::<PoseidonHash>(bytes.clone());
    PlanTargets { bytes, program, program_hash }
}

/// Sets the plan witness: the bytes and the one-hot flags of every opcode and aggregate.
///
/// # Errors
/// A target set twice inconsistently (a bug).
pub fn set_plan(
    pw: &mut PartialWitness<F>,
    t: &PlanTargets,
    program: &Program,
) -> anyhow::Result<()> {
    let enc = program.encode();
    for (x, v) in t.bytes.iter().zip(&enc) {
        pw.set_target(*x, F::from_canonical_u8(*v))?;
    }
    for i in 0..MAX_OPS {
        let code = enc[Program::OPS_OFFSET + 3 * i] as usize;
        for k in 0..NUM_OPCODES {
            pw.set_bool_target(t.program.ops[i].flags[k], k == code)?;
        }
    }
    for j in 0..MAX_OUTPUTS {
        let code = enc[Program::OUTPUTS_OFFSET + 2 * j] as usize;
        for k in 0..NUM_AGGREGATES {
            pw.set_bool_target(t.program.outputs[j].flags[k], k == code)?;
        }
    }
    Ok(())
}

/// Native twin of `program_hash`.
pub fn program_hash_native(program: &Program) -> [u64; 4] {
    use plonky2::field::types::PrimeField64;
    let elems: Vec<F> = program.encode().iter().map(|b| F::from_canonical_u8(*b)).collect();
    PoseidonHash::hash_no_pad(&elems).elements.map(|e| e.to_canonical_u64())
}

/// What [`add_points_prelude`] reads from the plan bytes of an `accounts`/`storage` program.
#[derive(Clone, Debug)]
pub struct PointsPreludeTargets {
    /// The table byte is 3 (`accounts`) or 4 (`storage`).
    pub is_points: BoolTarget,
    /// The table byte is 4.
    pub is_storage: BoolTarget,
    /// The program starts with the sampled prelude (witness, fixed by the op bytes when
    /// `is_points`).
    pub sampled: BoolTarget,
    /// The address constant's low 20 bytes, big-endian (its high 12 bytes are zero when
    /// `is_points`).
    pub address: [Target; 20],
    /// The slot constant's 32 bytes, big-endian, for `storage`; zeros for other tables.
    pub slot: [Target; 32],
    /// One-hot flags of the `slot_keys` byte (`slot_keys[n]` is set for `n` keys), which is
    /// constrained to `0..=MAX_SLOT_KEYS`, and to 0 unless the table is `storage`.
    pub slot_keys: [BoolTarget; MAX_SLOT_KEYS + 1],
}

/// Checks, when the plan's table is `accounts` or `storage`, that the program starts with the
/// [`PointsPrelude`] (sampled or not, as the witness `sampled` says) and that its filter is the
/// prelude's register or `And(prelude register, x)`; reads the point from the prelude's
/// constants. For other tables nothing is checked (the flags are 0) but that `slot_keys` is 0;
/// for every table `slot_keys <= MAX_SLOT_KEYS` (one-hot flags). [`add_slot_derivation`]
/// checks the derivation itself.
///
/// Every byte of the prelude's ops is compared with the layout of `annals_query_lang`, so the
/// op bytes decide `sampled`: a sampled prelude starts with `Column 0`, an unsampled one with
/// `Column 1`.
pub fn add_points_prelude(
    b: &mut CircuitBuilder<F, D>,
    plan: &PlanTargets,
) -> PointsPreludeTargets {
    let table = plan.bytes[1];
    let accounts = b.constant(F::from_canonical_u8(Table::Accounts as u8));
    let storage = b.constant(F::from_canonical_u8(Table::Storage as u8));
    let is_accounts = b.is_equal(table, accounts);
    let is_storage = b.is_equal(table, storage);
    let is_points = BoolTarget::new_unsafe(b.add(is_accounts.target, is_storage.target));
    let sampled = b.add_virtual_bool_target_safe();
    let not_sampled = b.not(sampled);

    let mut reg = b.zero();
    for (table_flag, storage_layout) in [(is_accounts, false), (is_storage, true)] {
        for (sample_flag, sampled_layout) in [(sampled, true), (not_sampled, false)] {
            let flag = b.and(table_flag, sample_flag);
            let prelude = PointsPrelude::new(storage_layout, sampled_layout);
            for (i, op) in prelude.ops.iter().enumerate() {
                let o = Program::OPS_OFFSET + 3 * i;
                for (k, expected) in [op.opcode as u8, op.a, op.b].into_iter().enumerate() {
                    // flag · (byte − expected) == 0
                    let e = -F::from_canonical_u8(expected);
                    let t = b.arithmetic(F::ONE, e, flag.target, plan.bytes[o + k], flag.target);
                    b.assert_zero(t);
                }
            }
            reg = b.mul_const_add(F::from_canonical_u8(prelude.reg), flag.target, reg);
        }
    }

    // The filter is `reg` or `And(reg, x)`.
    let p = &plan.program;
    let not_filter = b.not(p.has_filter);
    let t = b.mul(is_points.target, not_filter.target);
    b.assert_zero(t);
    let is_reg = b.is_equal(p.filter, reg);
    let opcodes: Vec<Target> = p.ops.iter().map(|o| o.opcode).collect();
    let operands: Vec<Target> = p.ops.iter().map(|o| o.a).collect();
    let filter_opcode = b.random_access(p.filter, opcodes);
    let filter_a = b.random_access(p.filter, operands);
    let and = b.constant(F::from_canonical_u8(Opcode::And as u8));
    let is_and = b.is_equal(filter_opcode, and);
    let reads_reg = b.is_equal(filter_a, reg);
    let and_reg = b.and(is_and, reads_reg);
    let ok = b.or(is_reg, and_reg);
    let not_ok = b.not(ok);
    let t = b.mul(is_points.target, not_ok.target);
    b.assert_zero(t);

    // The point: constants 0 and 1, or 2 and 3 after k and r.
    let word = |i: usize| &plan.bytes[Program::CONSTANTS_OFFSET + 32 * i..][..32];
    let (addr_sampled, addr_plain) = (word(2), word(0));
    let (slot_sampled, slot_plain) = (word(3), word(1));
    let pick = |b: &mut CircuitBuilder<F, D>, x: &[Target], y: &[Target]| -> Vec<Target> {
        x.iter().zip(y).map(|(&s, &u)| b.select(sampled, s, u)).collect()
    };
    let address_word = pick(b, addr_sampled, addr_plain);
    for &x in &address_word[..12] {
        let t = b.mul(is_points.target, x);
        b.assert_zero(t);
    }
    // Zero unless `storage`: an `accounts` program has no slot, and whatever constant sits
    // there (a filter's) must not become the key of its (empty-trie) storage path.
    let slot: Vec<Target> = pick(b, slot_sampled, slot_plain)
        .into_iter()
        .map(|x| b.mul(is_storage.target, x))
        .collect();

    // slot_keys: n = Σ i·flag_i with one flag set, and n = 0 unless `storage`.
    let n = plan.bytes[Program::SLOT_KEYS_OFFSET];
    let slot_keys: [BoolTarget; MAX_SLOT_KEYS + 1] =
        core::array::from_fn(|_| b.add_virtual_bool_target_safe());
    let one = b.one();
    let flags: Vec<Target> = slot_keys.iter().map(|f| f.target).collect();
    let sum = b.add_many(&flags);
    b.connect(sum, one);
    let mut weighted = b.zero();
    for (i, f) in slot_keys.iter().enumerate() {
        weighted = b.mul_const_add(F::from_canonical_usize(i), f.target, weighted);
    }
    b.connect(weighted, n);
    let not_storage = b.not(is_storage);
    let t = b.mul(not_storage.target, n);
    b.assert_zero(t);
    PointsPreludeTargets {
        is_points,
        is_storage,
        sampled,
        address: core::array::from_fn(|i| address_word[12 + i]),
        slot: core::array::from_fn(|i| slot[i]),
        slot_keys,
    }
}

/// Checks that the slot constant of a `storage` program with `slot_keys = n > 0` is the
/// mapping slot of its base and keys: `d_0 = base`, `d_j = keccak256(key_j ‖ d_{j−1})` (the
/// Solidity layout, both 32-byte big-endian words; `annals_query_lang::columns::mapping_slot`)
/// and `slot = d_n`. One keccak-f permutation per possible key ([`MAX_SLOT_KEYS`]), computed
/// whatever `n` is; nothing is checked when `n = 0`. The base and keys are the constant words
/// after the prelude's ([`PointsPrelude::mapping_base_constant`]): from index 4 when sampled,
/// 2 otherwise. Only the leaf that proves a slot needs this.
pub fn add_slot_derivation(
    b: &mut CircuitBuilder<F, D>,
    plan: &PlanTargets,
    prelude: &PointsPreludeTargets,
) {
    let word = |j: usize| &plan.bytes[Program::CONSTANTS_OFFSET + 32 * j..][..32];
    let derivation: Vec<Vec<Target>> = (0..=MAX_SLOT_KEYS)
        .map(|j| {
            word(4 + j)
                .iter()
                .zip(word(2 + j))
                .map(|(&s, &u)| b.select(prelude.sampled, s, u))
                .collect()
        })
        .collect();
    let mut d: [Target; 32] = core::array::from_fn(|i| derivation[0][i]);
    let mut diff = [b.zero(); 32];
    for j in 1..=MAX_SLOT_KEYS {
        let mut preimage = derivation[j].clone();
        preimage.extend_from_slice(&d);
        d = b.keccak256_fixed(&preimage);
        for i in 0..32 {
            // diff += flag_j · (slot − d_j)
            let delta = b.sub(prelude.slot[i], d[i]);
            diff[i] = b.mul_add(prelude.slot_keys[j].target, delta, diff[i]);
        }
    }
    for x in diff {
        b.assert_zero(x);
    }
}

/// Sets the `sampled` witness of [`add_points_prelude`] from the program (false for programs
/// without a prelude, whose table flags are 0).
///
/// # Errors
/// A target set twice inconsistently (a bug).
pub fn set_points_prelude(
    pw: &mut PartialWitness<F>,
    t: &PointsPreludeTargets,
    program: &Program,
) -> anyhow::Result<()> {
    let sampled = program.points_prelude().is_some_and(|p| p.sample_reg.is_some());
    pw.set_bool_target(t.sampled, sampled)?;
    for (i, f) in t.slot_keys.iter().enumerate() {
        pw.set_bool_target(*f, i == program.slot_keys as usize)?;
    }
    Ok(())
}

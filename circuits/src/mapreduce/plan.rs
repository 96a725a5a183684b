//! Binding the plan VM's program targets to the 318 bytes of the canonical plan encoding
//! (`annals_query_lang::plan::Program::encode`), so that the map leaves and the root read the
//! program from the very bytes that `program_hash` (Poseidon) and `query_hash` (keccak256)
//! commit to.

use annals_query_lang::plan::{
    Program, MAX_CONSTANTS, MAX_OPS, MAX_OUTPUTS, PLAN_ENCODING_VERSION,
};
use plonky2::field::types::Field;
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::config::Hasher;

use super::{D, F};
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

//! The plan VM: runs a [`Program`] (query-lang's bytecode) on one row inside a circuit,
//! and finalizes the merged partial aggregates into a result row (DESIGN.md §3, §4).
//!
//! The program is a *witness* ([`ProgramTargets`]), so one circuit serves every query; the
//! circuits that use the VM bind it to the query by hashing [`program_field_elements`] (native
//! twin: [`program_to_field_elements`]). Execution semantics are the ones of
//! `annals_query_lang::plan` (NULL flags, Kleene logic, errors); [`native`] holds the twins.
//!
//! # Layout
//! Every program is padded to [`MAX_OPS`] ops (`Const 0`), [`MAX_CONSTANTS`] constants (0) and
//! [`MAX_OUTPUTS`] outputs (`Aggregate::None`, register 0); the VM runs all [`MAX_OPS`] steps.
//! Step `s` reads its operands `regs[a]`, `regs[b]` by random access over the 16-entry register
//! file (registers `>= s` read as 0, non-NULL), and its load (`Column a` / `Const a`) by random
//! access over a 32-entry vector: columns at `0..17`, zeros at `17..24`, constants at
//! `24..32` ([`CONST_BASE`]). Each step computes every opcode's result from one shared
//! multiply-add unit (`x · y + z`: Add, Sub, Mul, Div, Mod), one comparator (Lt, Le, Sub
//! underflow, remainder bound), an equality test and the Kleene truth table, and selects by the
//! opcode's one-hot flags. A NULL result's value is normalized to 0.
//!
//! # What is constrained
//! * Opcode and aggregate flags are one-hot (booleans, sum 1) and `sum(i · flag_i)` equals the
//!   code, so an opcode `>= 14` or aggregate `>= 7` is unsatisfiable.
//! * Constants are range-checked (canonical); operand indices are bounded by the random-access
//!   gates (`a, b < 16` for register reads, `a + 24 · [Const] < 32` for loads; the filter and
//!   output registers `< 16`).
//! * Errors (Add/Mul overflow, Sub underflow, Div/Mod by zero) of a step are constraints
//!   `enabled · (1 - null) · flag · error == 0`: an error on an enabled row makes the circuit
//!   unsatisfiable, whether the row is selected or not (the plan semantics: an error on any row
//!   fails the query). An op with a NULL operand is NULL and never errs.
//! * Sub, Div, Mod results are witnessed and bound to the operands (`d + b = a`;
//!   `q · b + r = a`, no overflow, `r < b`) only on an enabled, non-NULL step of that opcode; the
//!   witnessed limbs are range-checked on every step.
//!
//! # What is assumed
//! * WARNING: the caller's [`RowTargets`] must be canonical (limbs range-checked to 16 bits,
//!   `is_null` boolean); the header decoder guarantees it. A non-canonical column breaks the
//!   multiplication and comparison bounds.
//! * WARNING: `n_constants`, `n_ops`, `n_outputs` and the padding of [`ProgramTargets`] are not
//!   constrained here; they are bound only through the hash of [`program_field_elements`], which
//!   the enclosing circuit must expose (and the verifier must compare with the query's).
//! * Invalid programs (reading a register `>= i`, a column `>= 17`, a constant `>= n_constants`)
//!   are rejected by the native twin ([`VmError`]); the circuit then reads 0 / the padding, or is
//!   unsatisfiable for indices beyond the random-access vectors.
//!
//! # Cost
//! Measured by the `vm_row_count` test (standard recursion config): 1,838 rows for
//! [`eval_program`](CircuitBuilderVm::eval_program) (≈ 110 per step: 62 of range checks on the
//! witnessed limbs, 17 of random access, the rest arithmetic), 164 for
//! [`add_virtual_program`](CircuitBuilderVm::add_virtual_program), 232 for
//! [`finalize_aggregates`](CircuitBuilderVm::finalize_aggregates). Merging two blocks' partial
//! aggregates is the reduce circuit's ([`crate::mapreduce::merge`]); it needs no program.

pub mod native;
#[cfg(test)]
mod tests;

use crate::uint256::{
    set_u256, CircuitBuilderU256, CircuitBuilderU256Arith, GenKind, U256Generator,
};
use crate::uint256::{U256Target, NUM_CHUNKS, U256_LIMBS};
use alloy_primitives::U256;
use annals_query_lang::columns::{HeaderRow, NUM_HEADER_COLUMNS};
use annals_query_lang::plan::{
    Aggregate, Opcode, Program, MAX_CONSTANTS, MAX_OPS, MAX_OUTPUTS, NUM_OPCODES,
};
use plonky2::field::extension::Extendable;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;

pub use native::{
    eval_program_native, finalize_native, merge_native, NativeAggregate, NativeOutput,
    NativeRowResult, PaddedProgram,
};

/// Number of aggregate kinds (`Aggregate::None ..= Aggregate::Avg`).
pub const NUM_AGGREGATES: usize = 7;
/// Entries of the register file seen by random access (a power of two `>= MAX_OPS`).
pub const REGISTER_FILE_SIZE: usize = 16;
/// Entries of the load vector (columns, zero padding, constants; a power of two).
pub const LOAD_VECTOR_SIZE: usize = 32;
/// Index of constant 0 in the load vector.
pub const CONST_BASE: usize = 24;
/// Number of field elements of [`program_field_elements`]:
/// `table, n_constants, 8 × 16 constant limbs, n_ops, 16 × (opcode, a, b), has_filter, filter,
/// n_outputs, 4 × (aggregate, reg)`.
pub const PROGRAM_NUM_FIELD_ELEMENTS: usize =
    2 + MAX_CONSTANTS * U256_LIMBS + 1 + 3 * MAX_OPS + 3 + 2 * MAX_OUTPUTS;
/// Largest count a merged aggregate may reach ([`CircuitBuilderVm::finalize_aggregates`] needs
/// counts `< 2^32`; block ranges of fewer than 2^32 blocks keep them there).
pub const MAX_COUNT: u64 = u32::MAX as u64;

const _: () = assert!(MAX_OPS <= REGISTER_FILE_SIZE);
const _: () =
    assert!(NUM_HEADER_COLUMNS <= CONST_BASE && CONST_BASE + MAX_CONSTANTS <= LOAD_VECTOR_SIZE);

/// Errors of the native VM (the circuit is unsatisfiable in the same cases).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    /// The program exceeds a size limit.
    #[error("program has {got} {what}, at most {max} supported")]
    TooMany {
        /// `"ops"`, `"constants"` or `"outputs"`.
        what: &'static str,
        /// Actual count.
        got: usize,
        /// Limit.
        max: usize,
    },
    /// An operand, filter or output register is out of range.
    #[error("{what} of op {op} is {got}, must be < {limit}")]
    OperandOutOfRange {
        /// Which operand (`"register a"`, `"column"`, `"filter"`, ...).
        what: &'static str,
        /// Op (or output slot) index.
        op: usize,
        /// Operand value.
        got: u8,
        /// Exclusive bound.
        limit: usize,
    },
    /// A uint256 Add or Mul overflowed.
    #[error("op {op}: uint256 overflow")]
    Overflow {
        /// Op index.
        op: usize,
    },
    /// A uint256 Sub underflowed.
    #[error("op {op}: uint256 underflow")]
    Underflow {
        /// Op index.
        op: usize,
    },
    /// Div or Mod by zero.
    #[error("op {op}: division by zero")]
    DivisionByZero {
        /// Op index.
        op: usize,
    },
    /// A SUM or AVG aggregate exceeded 2^256 - 1.
    #[error("output {output}: SUM exceeds 2^256 - 1")]
    SumOverflow {
        /// Output slot.
        output: usize,
    },
    /// A count exceeded [`MAX_COUNT`].
    #[error("output {output}: count exceeds 2^32 - 1")]
    CountOverflow {
        /// Output slot.
        output: usize,
    },
}

/// One op of a [`ProgramTargets`].
#[derive(Clone, Copy, Debug)]
pub struct OpTargets {
    /// Opcode byte (`Opcode as u8`).
    pub opcode: Target,
    /// First operand.
    pub a: Target,
    /// Second operand.
    pub b: Target,
    /// One-hot flags, `flags[i]` = `opcode == i` (constrained).
    pub flags: [BoolTarget; NUM_OPCODES],
}

/// One output of a [`ProgramTargets`].
#[derive(Clone, Copy, Debug)]
pub struct OutputSpecTargets {
    /// Aggregate byte (`Aggregate as u8`).
    pub aggregate: Target,
    /// Register read (`< 16`, constrained by random access).
    pub reg: Target,
    /// One-hot flags, `flags[i]` = `aggregate == i` (constrained).
    pub flags: [BoolTarget; NUM_AGGREGATES],
}

impl OutputSpecTargets {
    /// The flag of `kind`.
    pub fn flag(&self, kind: Aggregate) -> BoolTarget {
        self.flags[kind as usize]
    }
}

/// A padded [`Program`] as circuit witness (from
/// [`add_virtual_program`](CircuitBuilderVm::add_virtual_program), set by [`set_program`]).
#[derive(Clone, Debug)]
pub struct ProgramTargets {
    /// Table byte. Not constrained here: each map leaf constrains the tables it reads
    /// (`header_map`: `headers`, or a skipped block of a sampled points query; `state_map`:
    /// `accounts`, `storage`), and the row it hands the VM has that table's columns.
    pub table: Target,
    /// Number of real constants (bound by the hash only).
    pub n_constants: Target,
    /// Constant pool, range-checked, zero-padded.
    pub constants: [U256Target; MAX_CONSTANTS],
    /// Number of real ops (bound by the hash only).
    pub n_ops: Target,
    /// Ops, padded with `Const 0`.
    pub ops: [OpTargets; MAX_OPS],
    /// Whether there is a WHERE filter.
    pub has_filter: BoolTarget,
    /// Filter register (0 when there is none).
    pub filter: Target,
    /// Number of real outputs (bound by the hash only).
    pub n_outputs: Target,
    /// Outputs, padded with `(None, 0)`.
    pub outputs: [OutputSpecTargets; MAX_OUTPUTS],
}

/// One column of a row: its value (0 when NULL by convention, not required) and NULL flag.
#[derive(Clone, Copy, Debug)]
pub struct ColumnTargets {
    /// Canonical value.
    pub value: U256Target,
    /// NULL flag (boolean).
    pub is_null: BoolTarget,
}

/// A row of 17 columns, column ids as in `annals_query_lang::columns` (`HeaderColumn` for
/// `headers`; the point tables' columns first, then NULL padding, for `accounts`/`storage`).
///
/// WARNING: must be canonical (see the module doc); [`add_virtual_row`](CircuitBuilderVm::add_virtual_row)
/// makes a checked one for tests and standalone use.
#[derive(Clone, Copy, Debug)]
pub struct RowTargets {
    /// The 17 columns.
    pub columns: [ColumnTargets; NUM_HEADER_COLUMNS],
}

/// A partial aggregate of one output slot over a set of rows.
///
/// Empty: `count = 0, sum = 0, min = 2^256 - 1, max = 0`.
#[derive(Clone, Copy, Debug)]
pub struct AggregateTargets {
    /// Contributing rows (`COUNT(*)`: selected rows; others: selected rows with a non-NULL
    /// input), `< 2^32`.
    pub count: Target,
    /// Sum of contributing inputs (mod 2^256 unless the slot is SUM or AVG, where overflow is
    /// unsatisfiable).
    pub sum: U256Target,
    /// Minimum of contributing inputs.
    pub min: U256Target,
    /// Maximum of contributing inputs.
    pub max: U256Target,
}

/// One output slot of a row.
#[derive(Clone, Copy, Debug)]
pub struct OutputTargets {
    /// The output register's value (0 when NULL).
    pub value: U256Target,
    /// The output register's NULL flag.
    pub is_null: BoolTarget,
    /// This row's partial aggregate (empty unless the row contributes).
    pub aggregate: AggregateTargets,
}

/// The VM's result on one row.
#[derive(Clone, Copy, Debug)]
pub struct RowResultTargets {
    /// `enabled` and (no filter, or the filter register is non-NULL and non-zero).
    pub selected: BoolTarget,
    /// Per output slot (padded slots read register 0).
    pub outputs: [OutputTargets; MAX_OUTPUTS],
    /// Every register after the run: `(value, is_null)`.
    pub registers: [(U256Target, BoolTarget); MAX_OPS],
}

/// Builder extension for the plan VM.
pub trait CircuitBuilderVm<F: RichField + Extendable<D>, const D: usize> {
    /// A program witness with one-hot flags constrained (≈ 160 rows, mostly the constants'
    /// range checks).
    fn add_virtual_program(&mut self) -> ProgramTargets;
    /// A canonical virtual row (limbs range-checked, NULL flags boolean): 272 rows.
    fn add_virtual_row(&mut self) -> RowTargets;
    /// Runs `program` on `row` (always enabled). See [`Self::eval_program_enabled`].
    fn eval_program(&mut self, program: &ProgramTargets, row: &RowTargets) -> RowResultTargets;
    /// Runs all [`MAX_OPS`] steps of `program` on `row`.
    ///
    /// When `enabled` is 0 (a padding row) no error is enforced, `selected` is 0 and every
    /// partial aggregate is empty; the other outputs are then meaningless.
    fn eval_program_enabled(
        &mut self,
        program: &ProgramTargets,
        row: &RowTargets,
        enabled: BoolTarget,
    ) -> RowResultTargets;
    /// The result row of an aggregate program: per slot `(value, is_null)`, value 0 when NULL.
    ///
    /// COUNT/COUNT(*) → count (never NULL); SUM, MIN, MAX → sum, min, max, NULL when the count
    /// is 0; AVG → floor(sum / count) (witnessed `q · count + r = sum`, `r < count`), NULL when
    /// the count is 0; `None` (padding) → `(0, false)`.
    ///
    /// WARNING: counts must be `< 2^32` (true of merged aggregates); otherwise unsatisfiable.
    fn finalize_aggregates(
        &mut self,
        program: &ProgramTargets,
        aggregates: &[AggregateTargets; MAX_OUTPUTS],
    ) -> [(U256Target, BoolTarget); MAX_OUTPUTS];
    /// The empty aggregate (constants).
    fn empty_aggregate(&mut self) -> AggregateTargets;
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderVm<F, D> for CircuitBuilder<F, D> {
    fn add_virtual_program(&mut self) -> ProgramTargets {
        let table = self.add_virtual_target();
        let n_constants = self.add_virtual_target();
        let constants = core::array::from_fn(|_| self.add_virtual_u256());
        let n_ops = self.add_virtual_target();
        let ops = core::array::from_fn(|_| {
            let opcode = self.add_virtual_target();
            let flags = one_hot(self, opcode);
            OpTargets { opcode, a: self.add_virtual_target(), b: self.add_virtual_target(), flags }
        });
        let has_filter = self.add_virtual_bool_target_safe();
        let filter = self.add_virtual_target();
        let n_outputs = self.add_virtual_target();
        let outputs = core::array::from_fn(|_| {
            let aggregate = self.add_virtual_target();
            let flags = one_hot(self, aggregate);
            OutputSpecTargets { aggregate, reg: self.add_virtual_target(), flags }
        });
        ProgramTargets {
            table,
            n_constants,
            constants,
            n_ops,
            ops,
            has_filter,
            filter,
            n_outputs,
            outputs,
        }
    }

    fn add_virtual_row(&mut self) -> RowTargets {
        RowTargets {
            columns: core::array::from_fn(|_| ColumnTargets {
                value: self.add_virtual_u256(),
                is_null: self.add_virtual_bool_target_safe(),
            }),
        }
    }

    fn eval_program(&mut self, program: &ProgramTargets, row: &RowTargets) -> RowResultTargets {
        let enabled = self._true();
        self.eval_program_enabled(program, row, enabled)
    }

    fn eval_program_enabled(
        &mut self,
        program: &ProgramTargets,
        row: &RowTargets,
        enabled: BoolTarget,
    ) -> RowResultTargets {
        let zero = self.zero();
        // Load vector, limb-major: load[i][k] = limb i of entry k; load_null[k].
        let entry = |k: usize| -> Option<&ColumnTargets> { row.columns.get(k) };
        let load: [Vec<Target>; U256_LIMBS] = core::array::from_fn(|i| {
            (0..LOAD_VECTOR_SIZE)
                .map(|k| match entry(k) {
                    Some(c) => c.value.limbs[i],
                    None if k >= CONST_BASE => program.constants[k - CONST_BASE].limbs[i],
                    None => zero,
                })
                .collect()
        });
        let load_null: Vec<Target> =
            (0..LOAD_VECTOR_SIZE).map(|k| entry(k).map_or(zero, |c| c.is_null.target)).collect();
        let zero_u = self.constant_u256(U256::ZERO);
        let mut regs = vec![(zero_u, zero); REGISTER_FILE_SIZE];
        for (s, op) in program.ops.iter().enumerate() {
            regs[s] = vm_step(self, op, &regs, &load, &load_null, enabled);
        }

        // Selection.
        let (filter_value, _) = fetch(self, &regs, program.filter);
        let filter_false = self.is_zero_u256(&filter_value);
        let rejected = self.and(program.has_filter, filter_false);
        let selected =
            self.arithmetic(-F::ONE, F::ONE, enabled.target, rejected.target, enabled.target);
        let selected = BoolTarget::new_unsafe(selected);

        let max_limb = F::from_canonical_u64(0xffff);
        let one = self.one();
        let outputs = core::array::from_fn(|j| {
            let spec = &program.outputs[j];
            let (value, null) = fetch(self, &regs, spec.reg);
            let contributes =
                self.arithmetic(-F::ONE, F::ONE, selected.target, null, selected.target);
            // count = contributes + [COUNT(*)] · (selected - contributes).
            let diff = self.sub(selected.target, contributes);
            let count = self.mul_add(spec.flag(Aggregate::CountStar).target, diff, contributes);
            let sum = U256Target { limbs: value.limbs.map(|l| self.mul(contributes, l)) };
            // min = contributes ? value : 2^256 - 1.
            let min = U256Target {
                limbs: sum.limbs.map(|l| {
                    let t = self.arithmetic(-max_limb, F::ONE, contributes, one, l);
                    self.add_const(t, max_limb)
                }),
            };
            OutputTargets {
                value,
                is_null: BoolTarget::new_unsafe(null),
                aggregate: AggregateTargets { count, sum, min, max: sum },
            }
        });
        let registers = core::array::from_fn(|s| (regs[s].0, BoolTarget::new_unsafe(regs[s].1)));
        RowResultTargets { selected, outputs, registers }
    }

    fn finalize_aggregates(
        &mut self,
        program: &ProgramTargets,
        aggregates: &[AggregateTargets; MAX_OUTPUTS],
    ) -> [(U256Target, BoolTarget); MAX_OUTPUTS] {
        let one = self.one();
        core::array::from_fn(|j| {
            let spec = &program.outputs[j];
            let agg = &aggregates[j];
            let flag = |k: Aggregate| spec.flag(k).target;
            let count = self.u256_from_u32_target(agg.count);
            let empty = self.is_zero_target(agg.count);
            let nonempty = self.not(empty);
            let (avg, _) = self.div_rem_u256(&agg.sum, &count, nonempty);
            let nullable = self.add_many([
                flag(Aggregate::Sum),
                flag(Aggregate::Min),
                flag(Aggregate::Max),
                flag(Aggregate::Avg),
            ]);
            let null = self.mul(nullable, empty.target);
            let keep = self.sub(one, null);
            let counting = self.add(flag(Aggregate::Count), flag(Aggregate::CountStar));
            let sources = [
                (counting, count),
                (flag(Aggregate::Sum), agg.sum),
                (flag(Aggregate::Min), agg.min),
                (flag(Aggregate::Max), agg.max),
                (flag(Aggregate::Avg), avg),
            ];
            let gates = sources.map(|(f, v)| (self.mul(keep, f), v));
            let value = U256Target {
                limbs: core::array::from_fn(|i| {
                    let mut acc = self.zero();
                    for (g, v) in &gates {
                        acc = self.mul_add(*g, v.limbs[i], acc);
                    }
                    acc
                }),
            };
            (value, BoolTarget::new_unsafe(null))
        })
    }

    fn empty_aggregate(&mut self) -> AggregateTargets {
        AggregateTargets {
            count: self.zero(),
            sum: self.constant_u256(U256::ZERO),
            min: self.constant_u256(U256::MAX),
            max: self.constant_u256(U256::ZERO),
        }
    }
}

/// `N` boolean flags with `sum = 1` and `sum(i · flag_i) = code` (set by [`set_program`]).
fn one_hot<F: RichField + Extendable<D>, const D: usize, const N: usize>(
    b: &mut CircuitBuilder<F, D>,
    code: Target,
) -> [BoolTarget; N] {
    let flags: [BoolTarget; N] = core::array::from_fn(|_| b.add_virtual_bool_target_safe());
    let sum = b.add_many(flags.iter().map(|f| f.target));
    b.assert_one(sum);
    let mut weighted = b.zero();
    for (i, f) in flags.iter().enumerate().skip(1) {
        weighted = b.mul_const_add(F::from_canonical_usize(i), f.target, weighted);
    }
    b.connect(weighted, code);
    flags
}

/// Reads register `idx` (`< 16`, constrained): 17 random accesses.
fn fetch<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    regs: &[(U256Target, Target)],
    idx: Target,
) -> (U256Target, Target) {
    let value = U256Target {
        limbs: core::array::from_fn(|i| {
            b.random_access(idx, regs.iter().map(|r| r.0.limbs[i]).collect())
        }),
    };
    let null = b.random_access(idx, regs.iter().map(|r| r.1).collect());
    (value, null)
}

/// One VM step; returns the written register `(value, is_null)`, value 0 when NULL.
fn vm_step<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    op: &OpTargets,
    regs: &[(U256Target, Target)],
    load: &[Vec<Target>; U256_LIMBS],
    load_null: &[Target],
    enabled: BoolTarget,
) -> (U256Target, Target) {
    let f = |o: Opcode| op.flags[o as usize].target;
    let one = b.one();
    let f_load = b.add(f(Opcode::Column), f(Opcode::Const));
    let f_sub = f(Opcode::Sub);
    let f_dm = b.add(f(Opcode::Div), f(Opcode::Mod));
    let f_le = f(Opcode::Le);

    // Operands.
    let idx_load = b.mul_const_add(F::from_canonical_usize(CONST_BASE), f(Opcode::Const), op.a);
    let idx_a = b.arithmetic(-F::ONE, F::ONE, f_load, op.a, op.a);
    let (va, na) = fetch(b, regs, idx_a);
    let (vb, nb) = fetch(b, regs, op.b);
    let vl =
        U256Target { limbs: core::array::from_fn(|i| b.random_access(idx_load, load[i].clone())) };
    let nl = b.random_access(idx_load, load_null.to_vec());

    // Witnessed Sub difference or Div/Mod quotient (w) and remainder (r).
    let w = b.add_virtual_u256();
    let r = b.add_virtual_u256();
    let mut inputs = vec![f_sub, f_dm];
    inputs.extend_from_slice(&va.limbs);
    inputs.extend_from_slice(&vb.limbs);
    let mut outputs = w.limbs.to_vec();
    outputs.extend_from_slice(&r.limbs);
    b.add_simple_generator(U256Generator { kind: GenKind::SubDivRem, inputs, outputs });

    // Multiply-add unit: Add a·1+b, Sub w·1+b (= a), Mul a·b+0, Div/Mod w·b+r (= a).
    let f_xa = b.add(f(Opcode::Add), f(Opcode::Mul));
    let f_yb = b.add(f(Opcode::Mul), f_dm);
    let f_zb = b.add(f(Opcode::Add), f_sub);
    let not_yb = b.sub(one, f_yb);
    let x = U256Target {
        limbs: core::array::from_fn(|i| {
            let d = b.sub(va.limbs[i], w.limbs[i]);
            b.mul_add(f_xa, d, w.limbs[i])
        }),
    };
    let y = U256Target {
        limbs: core::array::from_fn(|i| {
            if i == 0 {
                b.mul_add(f_yb, vb.limbs[0], not_yb)
            } else {
                b.mul(f_yb, vb.limbs[i])
            }
        }),
    };
    let z = U256Target {
        limbs: core::array::from_fn(|i| {
            let t = b.mul(f_dm, r.limbs[i]);
            b.mul_add(f_zb, vb.limbs[i], t)
        }),
    };
    let p = b.add_virtual_u256();
    let mut inputs = x.limbs.to_vec();
    inputs.extend_from_slice(&y.limbs);
    inputs.extend_from_slice(&z.limbs);
    b.add_simple_generator(U256Generator {
        kind: GenKind::MulAddLow,
        inputs,
        outputs: p.limbs.to_vec(),
    });
    let high = b.mul_add_u256_into(&x, &y, &z, &p);
    let fits = b.is_zero_target(high);
    let overflow = b.not(fits);

    // Comparator: Lt/Sub a < b, Le b < a, Div/Mod r < b.
    let ca = b.pack_u256_chunks(&va);
    let cb = b.pack_u256_chunks(&vb);
    let cr = b.pack_u256_chunks(&r);
    let u: [Target; NUM_CHUNKS] = core::array::from_fn(|k| {
        let d_ba = b.sub(cb[k], ca[k]);
        let t = b.mul_add(f_le, d_ba, ca[k]);
        let d_ra = b.sub(cr[k], ca[k]);
        b.mul_add(f_dm, d_ra, t)
    });
    let v: [Target; NUM_CHUNKS] = core::array::from_fn(|k| {
        let d_ab = b.sub(ca[k], cb[k]);
        b.mul_add(f_le, d_ab, cb[k])
    });
    let lt = b.lt_u256_chunks(&u, &v).target;

    // Truth values and equality.
    let sum_a = b.add_many(ca);
    let a_false_or_null = b.is_zero_target(sum_a).target;
    let ta = b.sub(one, a_false_or_null);
    let sum_b = b.add_many(cb);
    let b_zero = b.is_zero_target(sum_b).target;
    let tb = b.sub(one, b_zero);
    let eq = b.is_equal_u256(&va, &vb).target;

    // Kleene logic: definitely-false = 1 - null - true (values of NULL registers are 0).
    let fa = b.sub(a_false_or_null, na);
    let fb = b.sub(b_zero, nb);
    let n_ab = b.arithmetic(-F::ONE, F::ONE, na, nb, na);
    let n_ab = b.add(n_ab, nb);
    let and_true = b.mul(ta, tb);
    let and_false = b.arithmetic(-F::ONE, F::ONE, fa, fb, fa);
    let and_false = b.add(and_false, fb);
    let and_null = b.sub(one, and_true);
    let and_null = b.sub(and_null, and_false);
    let or_true = b.arithmetic(-F::ONE, F::ONE, ta, tb, ta);
    let or_true = b.add(or_true, tb);
    let or_false = b.mul(fa, fb);
    let or_null = b.sub(one, or_true);
    let or_null = b.sub(or_null, or_false);

    // Result NULL flag.
    let strict = b.add_many([
        f(Opcode::Add),
        f(Opcode::Sub),
        f(Opcode::Mul),
        f_dm,
        f(Opcode::Eq),
        f(Opcode::Lt),
        f_le,
    ]);
    let null = b.mul(f_load, nl);
    let null = b.mul_add(strict, n_ab, null);
    let null = b.mul_add(f(Opcode::And), and_null, null);
    let null = b.mul_add(f(Opcode::Or), or_null, null);
    let null = b.mul_add(f(Opcode::Not), na, null);
    let keep = b.sub(one, null);

    // Boolean results (limb 0).
    let not_lt = b.sub(one, lt);
    let bool_value = b.mul(f(Opcode::Eq), eq);
    let bool_value = b.mul_add(f(Opcode::Lt), lt, bool_value);
    let bool_value = b.mul_add(f_le, not_lt, bool_value);
    let bool_value = b.mul_add(f(Opcode::And), and_true, bool_value);
    let bool_value = b.mul_add(f(Opcode::Or), or_true, bool_value);
    let bool_value = b.mul_add(f(Opcode::Not), fa, bool_value);
    let bool_value = b.mul_add(f(Opcode::IsNull), na, bool_value);

    // Value, normalized to 0 when NULL.
    let f_w = b.add(f_sub, f(Opcode::Div));
    let g_load = b.mul(keep, f_load);
    let g_p = b.mul(keep, f_xa);
    let g_w = b.mul(keep, f_w);
    let g_r = b.mul(keep, f(Opcode::Mod));
    let g_bool = b.mul(keep, bool_value);
    let value = U256Target {
        limbs: core::array::from_fn(|i| {
            let acc = if i == 0 { g_bool } else { b.zero() };
            let acc = b.mul_add(g_load, vl.limbs[i], acc);
            let acc = b.mul_add(g_p, p.limbs[i], acc);
            let acc = b.mul_add(g_w, w.limbs[i], acc);
            b.mul_add(g_r, r.limbs[i], acc)
        }),
    };

    // Errors and witness bindings, only on an enabled non-NULL step.
    let live = b.mul(enabled.target, keep);
    let err = b.mul(f_xa, overflow.target);
    let err = b.mul_add(f_sub, lt, err);
    let err = b.mul_add(f_dm, b_zero, err);
    let bad = b.mul(live, err);
    b.assert_zero(bad);
    let bound = b.add(f_sub, f_dm);
    let bound = b.mul(live, bound);
    for i in 0..U256_LIMBS {
        let m = b.mul(bound, va.limbs[i]);
        let d = b.arithmetic(F::ONE, -F::ONE, bound, p.limbs[i], m);
        b.assert_zero(d);
    }
    let bad = b.mul(bound, overflow.target);
    b.assert_zero(bad);
    let dividing = b.mul(live, f_dm);
    let bad = b.mul(dividing, not_lt);
    b.assert_zero(bad);

    (value, null)
}

/// Sets a program witness; pads as described in the module doc.
pub fn set_program<F: RichField>(
    pw: &mut PartialWitness<F>,
    targets: &ProgramTargets,
    program: &Program,
) -> Result<(), VmError> {
    let padded = PaddedProgram::new(program)?;
    set_padded(pw, targets, &padded, |code| one_hot_values(code as usize));
    Ok(())
}

fn one_hot_values<const N: usize>(code: usize) -> [bool; N] {
    core::array::from_fn(|i| i == code)
}

/// Sets a padded program with opcode flags from `op_flags` (tests pass non-one-hot ones).
fn set_padded<F: RichField>(
    pw: &mut PartialWitness<F>,
    t: &ProgramTargets,
    p: &PaddedProgram,
    op_flags: impl Fn(u8) -> [bool; NUM_OPCODES],
) {
    let elements = padded_to_field_elements::<F>(p);
    for (&target, &value) in program_field_elements(t).iter().zip(&elements) {
        pw.set_target(target, value).expect("program target set once");
    }
    for (op_t, op) in t.ops.iter().zip(&p.ops) {
        let code = op.opcode as u8;
        for (flag, v) in op_t.flags.iter().zip(op_flags(code)) {
            pw.set_bool_target(*flag, v).expect("flag set once");
        }
    }
    for (out_t, (agg, _)) in t.outputs.iter().zip(&p.outputs) {
        for (flag, v) in out_t.flags.iter().zip(one_hot_values::<NUM_AGGREGATES>(*agg as usize)) {
            pw.set_bool_target(*flag, v).expect("flag set once");
        }
    }
}

/// Every target of a program in the fixed hashing order ([`PROGRAM_NUM_FIELD_ELEMENTS`] of
/// them): `table, n_constants, constants (8 × 16 limbs, least significant first), n_ops,
/// ops (16 × opcode, a, b), has_filter, filter, n_outputs, outputs (4 × aggregate, reg)`.
/// The flags are not listed (they are determined by the codes).
pub fn program_field_elements(t: &ProgramTargets) -> Vec<Target> {
    let mut out = Vec::with_capacity(PROGRAM_NUM_FIELD_ELEMENTS);
    out.push(t.table);
    out.push(t.n_constants);
    for c in &t.constants {
        out.extend_from_slice(&c.limbs);
    }
    out.push(t.n_ops);
    for op in &t.ops {
        out.extend_from_slice(&[op.opcode, op.a, op.b]);
    }
    out.extend_from_slice(&[t.has_filter.target, t.filter, t.n_outputs]);
    for o in &t.outputs {
        out.extend_from_slice(&[o.aggregate, o.reg]);
    }
    debug_assert_eq!(out.len(), PROGRAM_NUM_FIELD_ELEMENTS);
    out
}

/// Native twin of [`program_field_elements`]: the values [`set_program`] assigns, in order.
pub fn program_to_field_elements<F: Field>(program: &Program) -> Result<Vec<F>, VmError> {
    Ok(padded_to_field_elements(&PaddedProgram::new(program)?))
}

fn padded_to_field_elements<F: Field>(p: &PaddedProgram) -> Vec<F> {
    let n = |x: usize| F::from_canonical_usize(x);
    let mut out = Vec::with_capacity(PROGRAM_NUM_FIELD_ELEMENTS);
    out.push(n(p.table as usize));
    out.push(n(p.n_constants));
    for c in &p.constants {
        out.extend(crate::uint256::u256_to_limbs(*c).map(F::from_canonical_u64));
    }
    out.push(n(p.n_ops));
    for op in &p.ops {
        out.extend([n(op.opcode as usize), n(op.a as usize), n(op.b as usize)]);
    }
    out.extend([n(p.filter.is_some() as usize), n(p.filter.unwrap_or(0) as usize), n(p.n_outputs)]);
    for (agg, reg) in &p.outputs {
        out.extend([n(*agg as usize), n(*reg as usize)]);
    }
    out
}

/// Sets a row witness: value 0 and `is_null = 1` for NULL columns.
pub fn set_row<F: RichField>(pw: &mut PartialWitness<F>, targets: &RowTargets, row: &HeaderRow) {
    for (c, v) in targets.columns.iter().zip(row) {
        set_u256(pw, &c.value, v.unwrap_or_default());
        pw.set_bool_target(c.is_null, v.is_none()).expect("row target set once");
    }
}

/// Sets an [`AggregateTargets`] made of virtual targets (e.g. a reduce circuit's inputs).
pub fn set_aggregate<F: RichField>(
    pw: &mut PartialWitness<F>,
    targets: &AggregateTargets,
    agg: &NativeAggregate,
) {
    pw.set_target(targets.count, F::from_canonical_u64(agg.count)).expect("count set once");
    set_u256(pw, &targets.sum, agg.sum);
    set_u256(pw, &targets.min, agg.min);
    set_u256(pw, &targets.max, agg.max);
}

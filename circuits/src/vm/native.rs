//! Native twins of the VM gadgets: the exact values the circuit computes, on `alloy` `U256`.
//!
//! They follow `annals_query_lang::plan`'s semantics and additionally mirror the circuit's
//! padding: padded ops are `Const 0`, padded output slots are `(Aggregate::None, register 0)`
//! and are evaluated too. A NULL register's value is 0. An op with a NULL operand is NULL and
//! never errs (e.g. `NULL / 0` is NULL).

use super::{VmError, MAX_COUNT};
use alloy_primitives::U256;
use annals_query_lang::columns::{HeaderRow, NUM_HEADER_COLUMNS};
use annals_query_lang::plan::{
    Aggregate, Op, Opcode, Program, Table, MAX_CONSTANTS, MAX_OPS, MAX_OUTPUTS,
};

/// A validated [`Program`] padded to the circuit's fixed shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaddedProgram {
    /// Table byte (0 = `headers`).
    pub table: u8,
    /// Number of real constants.
    pub n_constants: usize,
    /// Constants, zero-padded.
    pub constants: [U256; MAX_CONSTANTS],
    /// Number of real ops.
    pub n_ops: usize,
    /// Ops, padded with `Const 0`.
    pub ops: [Op; MAX_OPS],
    /// Filter register.
    pub filter: Option<u8>,
    /// Number of real outputs.
    pub n_outputs: usize,
    /// `(aggregate, register)` per slot, padded with `(None, 0)`.
    pub outputs: [(Aggregate, u8); MAX_OUTPUTS],
}

impl PaddedProgram {
    /// Validates (sizes; op `i` reads registers `< i`, columns `< 17`, constants
    /// `< n_constants`; filter and output registers `< n_ops`) and pads.
    pub fn new(p: &Program) -> Result<Self, VmError> {
        let too_many = |what, got, max| VmError::TooMany { what, got, max };
        if p.ops.len() > MAX_OPS {
            return Err(too_many("ops", p.ops.len(), MAX_OPS));
        }
        if p.constants.len() > MAX_CONSTANTS {
            return Err(too_many("constants", p.constants.len(), MAX_CONSTANTS));
        }
        if p.outputs.len() > MAX_OUTPUTS {
            return Err(too_many("outputs", p.outputs.len(), MAX_OUTPUTS));
        }
        let check = |what, op, got: u8, limit: usize| {
            if (got as usize) < limit {
                Ok(())
            } else {
                Err(VmError::OperandOutOfRange { what, op, got, limit })
            }
        };
        for (i, op) in p.ops.iter().enumerate() {
            match op.opcode {
                Opcode::Column => check("column", i, op.a, NUM_HEADER_COLUMNS)?,
                Opcode::Const => check("constant", i, op.a, p.constants.len())?,
                Opcode::Not | Opcode::IsNull => check("register a", i, op.a, i)?,
                _ => {
                    check("register a", i, op.a, i)?;
                    check("register b", i, op.b, i)?;
                }
            }
            // The circuit reads an unused `b` as a register index too (plan.rs emits 0).
            check("unused operand b", i, op.b, super::REGISTER_FILE_SIZE)?;
        }
        if let Some(f) = p.filter {
            check("filter", 0, f, p.ops.len())?;
        }
        for (j, o) in p.outputs.iter().enumerate() {
            check("output register", j, o.reg, p.ops.len())?;
        }
        let pad_op = Op { opcode: Opcode::Const, a: 0, b: 0 };
        Ok(Self {
            table: Table::Headers as u8,
            n_constants: p.constants.len(),
            constants: core::array::from_fn(|k| p.constants.get(k).copied().unwrap_or_default()),
            n_ops: p.ops.len(),
            ops: core::array::from_fn(|i| p.ops.get(i).copied().unwrap_or(pad_op)),
            filter: p.filter,
            n_outputs: p.outputs.len(),
            outputs: core::array::from_fn(|j| {
                p.outputs.get(j).map_or((Aggregate::None, 0), |o| (o.aggregate, o.reg))
            }),
        })
    }
}

/// A partial aggregate of one output slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeAggregate {
    /// Contributing rows.
    pub count: u64,
    /// Sum of contributing inputs (wrapping unless the slot is SUM or AVG).
    pub sum: U256,
    /// Minimum (`U256::MAX` when empty).
    pub min: U256,
    /// Maximum (0 when empty).
    pub max: U256,
}

impl NativeAggregate {
    /// The aggregate of no rows.
    pub const EMPTY: Self = Self { count: 0, sum: U256::ZERO, min: U256::MAX, max: U256::ZERO };
}

/// One output slot of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeOutput {
    /// The output register (`None` = NULL).
    pub value: Option<U256>,
    /// This row's partial aggregate.
    pub aggregate: NativeAggregate,
}

/// The VM's result on one row (the native twin of `RowResultTargets`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeRowResult {
    /// Whether the filter selects the row.
    pub selected: bool,
    /// Per output slot, padding included.
    pub outputs: [NativeOutput; MAX_OUTPUTS],
    /// Every register (padding ops included).
    pub registers: [Option<U256>; MAX_OPS],
}

fn truth(v: Option<U256>) -> Option<bool> {
    v.map(|x| !x.is_zero())
}

fn from_bool(b: bool) -> U256 {
    U256::from(b as u64)
}

/// Runs `program` on `row` (an enabled row). Errors: invalid program, or an arithmetic error
/// of any op (the circuit is then unsatisfiable).
pub fn eval_program_native(program: &Program, row: &HeaderRow) -> Result<NativeRowResult, VmError> {
    let p = PaddedProgram::new(program)?;
    let mut regs: [Option<U256>; MAX_OPS] = [Some(U256::ZERO); MAX_OPS];
    for (i, op) in p.ops.iter().enumerate() {
        let (a, b) = (regs[op.a as usize % MAX_OPS], regs[op.b as usize % MAX_OPS]);
        let both = a.zip(b);
        regs[i] = match op.opcode {
            Opcode::Column => row[op.a as usize],
            Opcode::Const => Some(p.constants[op.a as usize]),
            Opcode::Add => match both {
                Some((x, y)) => Some(x.checked_add(y).ok_or(VmError::Overflow { op: i })?),
                None => None,
            },
            Opcode::Sub => match both {
                Some((x, y)) => Some(x.checked_sub(y).ok_or(VmError::Underflow { op: i })?),
                None => None,
            },
            Opcode::Mul => match both {
                Some((x, y)) => Some(x.checked_mul(y).ok_or(VmError::Overflow { op: i })?),
                None => None,
            },
            Opcode::Div => match both {
                Some((x, y)) => Some(x.checked_div(y).ok_or(VmError::DivisionByZero { op: i })?),
                None => None,
            },
            Opcode::Mod => match both {
                Some((x, y)) => Some(x.checked_rem(y).ok_or(VmError::DivisionByZero { op: i })?),
                None => None,
            },
            Opcode::Eq => both.map(|(x, y)| from_bool(x == y)),
            Opcode::Lt => both.map(|(x, y)| from_bool(x < y)),
            Opcode::Le => both.map(|(x, y)| from_bool(x <= y)),
            Opcode::And => match (truth(a), truth(b)) {
                (Some(false), _) | (_, Some(false)) => Some(U256::ZERO),
                (Some(true), Some(true)) => Some(from_bool(true)),
                _ => None,
            },
            Opcode::Or => match (truth(a), truth(b)) {
                (Some(true), _) | (_, Some(true)) => Some(from_bool(true)),
                (Some(false), Some(false)) => Some(U256::ZERO),
                _ => None,
            },
            Opcode::Not => truth(a).map(|t| from_bool(!t)),
            Opcode::IsNull => Some(from_bool(a.is_none())),
        };
    }
    let selected = match p.filter {
        None => true,
        Some(f) => truth(regs[f as usize]) == Some(true),
    };
    let outputs = p.outputs.map(|(agg, reg)| {
        let value = regs[reg as usize];
        let contributes = selected && value.is_some();
        let v = if contributes { value.unwrap_or_default() } else { U256::ZERO };
        NativeOutput {
            value,
            aggregate: NativeAggregate {
                count: if agg == Aggregate::CountStar { selected } else { contributes } as u64,
                sum: v,
                min: if contributes { v } else { U256::MAX },
                max: v,
            },
        }
    });
    Ok(NativeRowResult { selected, outputs, registers: regs })
}

/// Merges two partial aggregates per slot. Errors: a SUM/AVG slot's sum overflows, or a count
/// exceeds [`MAX_COUNT`].
pub fn merge_native(
    program: &Program,
    left: &[NativeAggregate; MAX_OUTPUTS],
    right: &[NativeAggregate; MAX_OUTPUTS],
) -> Result<[NativeAggregate; MAX_OUTPUTS], VmError> {
    let p = PaddedProgram::new(program)?;
    let mut out = [NativeAggregate::EMPTY; MAX_OUTPUTS];
    for j in 0..MAX_OUTPUTS {
        let (l, r) = (&left[j], &right[j]);
        let count = l.count + r.count;
        if count > MAX_COUNT {
            return Err(VmError::CountOverflow { output: j });
        }
        let (sum, overflow) = l.sum.overflowing_add(r.sum);
        if overflow && matches!(p.outputs[j].0, Aggregate::Sum | Aggregate::Avg) {
            return Err(VmError::SumOverflow { output: j });
        }
        out[j] = NativeAggregate { count, sum, min: l.min.min(r.min), max: l.max.max(r.max) };
    }
    Ok(out)
}

/// The result row of an aggregate program, `None` = NULL (padding slots give `Some(0)`).
pub fn finalize_native(
    program: &Program,
    aggregates: &[NativeAggregate; MAX_OUTPUTS],
) -> Result<[Option<U256>; MAX_OUTPUTS], VmError> {
    let p = PaddedProgram::new(program)?;
    Ok(core::array::from_fn(|j| {
        let a = &aggregates[j];
        let nonempty = |v: U256| (a.count != 0).then_some(v);
        match p.outputs[j].0 {
            Aggregate::None => Some(U256::ZERO),
            Aggregate::CountStar | Aggregate::Count => Some(U256::from(a.count)),
            Aggregate::Sum => nonempty(a.sum),
            Aggregate::Min => nonempty(a.min),
            Aggregate::Max => nonempty(a.max),
            Aggregate::Avg => nonempty(a.sum).map(|s| s / U256::from(a.count.max(1))),
        }
    }))
}

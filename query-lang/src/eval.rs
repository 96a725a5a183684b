//! Native evaluator: runs a [`Program`] over `headers` rows with exactly the semantics of the
//! [`crate::plan`] module doc. Its result is the reference every proof must match.

use crate::columns::HeaderRow;
use crate::error::{Error, Result};
use crate::plan::{Aggregate, Opcode, Program, MAX_RESULT_ROWS};
use alloy_primitives::U256;

/// A value of a register: `None` is NULL.
type Value = Option<U256>;

const TRUE: U256 = U256::from_limbs([1, 0, 0, 0]);

/// Truth value of a register for Kleene logic: `None` = unknown, else `value != 0`.
fn truth(v: Value) -> Option<bool> {
    v.map(|x| !x.is_zero())
}

fn from_bool(b: bool) -> U256 {
    if b {
        TRUE
    } else {
        U256::ZERO
    }
}

/// Block number of a row (its `number` column), for error messages.
fn block_of(row: &HeaderRow) -> u64 {
    row[0].map_or(0, |n| u64::try_from(n).unwrap_or(u64::MAX))
}

/// Evaluates every op of `program` on one row, in SSA order; returns the registers.
///
/// Errors: [`Error::Overflow`], [`Error::Underflow`], [`Error::DivisionByZero`] naming the op,
/// its register and the row's block. A NULL operand gives NULL, never an error.
pub fn eval_row(program: &Program, row: &HeaderRow) -> Result<Vec<Value>> {
    let mut regs: Vec<Value> = Vec::with_capacity(program.ops.len());
    for (i, op) in program.ops.iter().enumerate() {
        let (a, b) = (op.a as usize, op.b as usize);
        let err = |kind: fn(Opcode, u8, u64) -> Error| kind(op.opcode, i as u8, block_of(row));
        let v = match op.opcode {
            Opcode::Column => row[a],
            Opcode::Const => Some(program.constants[a]),
            Opcode::Add | Opcode::Sub | Opcode::Mul | Opcode::Div | Opcode::Mod => {
                match (regs[a], regs[b]) {
                    (Some(x), Some(y)) => Some(match op.opcode {
                        Opcode::Add => x.checked_add(y).ok_or_else(|| {
                            err(|op, reg, block| Error::Overflow { op, reg, block })
                        })?,
                        Opcode::Sub => x.checked_sub(y).ok_or_else(|| {
                            err(|op, reg, block| Error::Underflow { op, reg, block })
                        })?,
                        Opcode::Mul => x.checked_mul(y).ok_or_else(|| {
                            err(|op, reg, block| Error::Overflow { op, reg, block })
                        })?,
                        Opcode::Div => x.checked_div(y).ok_or_else(|| {
                            err(|op, reg, block| Error::DivisionByZero { op, reg, block })
                        })?,
                        _ => x.checked_rem(y).ok_or_else(|| {
                            err(|op, reg, block| Error::DivisionByZero { op, reg, block })
                        })?,
                    }),
                    _ => None,
                }
            }
            Opcode::Eq | Opcode::Lt | Opcode::Le => match (regs[a], regs[b]) {
                (Some(x), Some(y)) => Some(from_bool(match op.opcode {
                    Opcode::Eq => x == y,
                    Opcode::Lt => x < y,
                    _ => x <= y,
                })),
                _ => None,
            },
            Opcode::And => match (truth(regs[a]), truth(regs[b])) {
                (Some(false), _) | (_, Some(false)) => Some(U256::ZERO),
                (Some(true), Some(true)) => Some(TRUE),
                _ => None,
            },
            Opcode::Or => match (truth(regs[a]), truth(regs[b])) {
                (Some(true), _) | (_, Some(true)) => Some(TRUE),
                (Some(false), Some(false)) => Some(U256::ZERO),
                _ => None,
            },
            Opcode::Not => truth(regs[a]).map(|t| from_bool(!t)),
            Opcode::IsNull => Some(from_bool(regs[a].is_none())),
        };
        regs.push(v);
    }
    Ok(regs)
}

/// Running state of one aggregate output.
#[derive(Clone, Copy, Default)]
struct Acc {
    count: u64,
    sum: U256,
    min: Option<U256>,
    max: Option<U256>,
}

/// Evaluates `program` over `rows` (the range's rows in block order).
///
/// Returns, for a non-aggregate program, one row per selected input row in input order (each
/// with one value per output); for an aggregate program exactly one row. `COUNT`s are never NULL;
/// `SUM`, `MIN`, `MAX`, `AVG` of no rows are NULL; `AVG` is `floor(SUM / COUNT)`.
///
/// Errors: [`Error::InvalidProgram`] if [`Program::validate`] fails; arithmetic errors of any
/// row, selected or not (see [`eval_row`]); [`Error::SumOverflow`];
/// [`Error::TooManyResultRows`] when a non-aggregate program selects more than
/// [`MAX_RESULT_ROWS`] rows (reported after all rows are evaluated, so arithmetic errors win).
pub fn evaluate(program: &Program, rows: &[HeaderRow]) -> Result<Vec<Vec<Option<U256>>>> {
    program.validate()?;
    let aggregate = program.is_aggregate();
    let mut accs = vec![Acc::default(); program.outputs.len()];
    let mut out = Vec::new();
    let mut selected = 0usize;
    let mut first_beyond = None;
    for row in rows {
        let regs = eval_row(program, row)?;
        let keep = program.filter.is_none_or(|f| truth(regs[f as usize]) == Some(true));
        if !keep {
            continue;
        }
        selected += 1;
        if !aggregate {
            if selected > MAX_RESULT_ROWS {
                first_beyond.get_or_insert(block_of(row));
            } else {
                out.push(program.outputs.iter().map(|o| regs[o.reg as usize]).collect());
            }
            continue;
        }
        for (j, (o, acc)) in program.outputs.iter().zip(accs.iter_mut()).enumerate() {
            if o.aggregate == Aggregate::CountStar {
                acc.count += 1;
                continue;
            }
            let Some(v) = regs[o.reg as usize] else { continue };
            acc.count += 1;
            if matches!(o.aggregate, Aggregate::Sum | Aggregate::Avg) {
                acc.sum = acc.sum.checked_add(v).ok_or_else(|| Error::SumOverflow {
                    aggregate: o.aggregate.to_string(),
                    output: j,
                    name: o.name.clone(),
                    block: block_of(row),
                })?;
            }
            acc.min = Some(acc.min.map_or(v, |m| m.min(v)));
            acc.max = Some(acc.max.map_or(v, |m| m.max(v)));
        }
    }
    if let Some(block) = first_beyond {
        return Err(Error::TooManyResultRows { got: selected, max: MAX_RESULT_ROWS, block });
    }
    if !aggregate {
        return Ok(out);
    }
    let row = program
        .outputs
        .iter()
        .zip(&accs)
        .map(|(o, acc)| {
            let any = acc.count > 0;
            match o.aggregate {
                Aggregate::CountStar | Aggregate::Count => Some(U256::from(acc.count)),
                Aggregate::Sum => any.then_some(acc.sum),
                Aggregate::Avg => any.then(|| acc.sum / U256::from(acc.count)),
                Aggregate::Min => acc.min,
                Aggregate::Max => acc.max,
                Aggregate::None => unreachable!("aggregate program"),
            }
        })
        .collect();
    Ok(vec![row])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;
    use crate::plan::{Op, Output, Table, ValueType};

    /// A synthetic row of block `n`: gas_limit 0, gas_used `gas`, base fee NULL.
    fn row(n: u64, gas: u64) -> HeaderRow {
        let mut r: HeaderRow = [Some(U256::ZERO); crate::columns::NUM_HEADER_COLUMNS];
        r[0] = Some(U256::from(n));
        r[9] = Some(U256::ZERO);
        r[10] = Some(U256::from(gas));
        r[11] = None;
        r
    }

    fn op(opcode: Opcode, a: u8, b: u8) -> Op {
        Op { opcode, a, b }
    }

    #[test]
    fn kleene_truth_tables() {
        // r0 = true (5, any non-zero), r1 = false, r2 = NULL.
        let mut ops =
            vec![op(Opcode::Column, 10, 0), op(Opcode::Column, 9, 0), op(Opcode::Column, 11, 0)];
        for a in 0..3 {
            for b in 0..3 {
                ops.push(op(Opcode::And, a, b));
                ops.push(op(Opcode::Or, a, b));
            }
        }
        for a in 0..3 {
            ops.push(op(Opcode::Not, a, 0));
            ops.push(op(Opcode::IsNull, a, 0));
        }
        let p = Program {
            table: Table::Headers,
            constants: vec![],
            ops,
            filter: None,
            outputs: vec![],
        };
        let regs = eval_row(&p, &row(1, 5)).unwrap();
        let (t, f, n) = (Some(TRUE), Some(U256::ZERO), None);
        let vals = [t, f, n];
        let mut i = 3;
        for a in 0..3 {
            for b in 0..3 {
                let and = match (vals[a], vals[b]) {
                    (x, y) if x == f || y == f => f,
                    (x, y) if x == t && y == t => t,
                    _ => n,
                };
                let or = match (vals[a], vals[b]) {
                    (x, y) if x == t || y == t => t,
                    (x, y) if x == f && y == f => f,
                    _ => n,
                };
                assert_eq!((regs[i], regs[i + 1]), (and, or), "{a} {b}");
                i += 2;
            }
        }
        assert_eq!(&regs[i..], &[f, f, t, f, n, t]);
    }

    #[test]
    fn aggregates_of_no_rows_and_floor_average() {
        let q = compile(
            "SELECT COUNT(*), SUM(gas_used), AVG(gas_used), MIN(gas_used) FROM headers \
             WHERE number BETWEEN 1 AND 3 AND gas_used > 100",
        )
        .unwrap();
        let rows = [row(1, 1), row(2, 2), row(3, 4)];
        assert_eq!(
            evaluate(&q.program, &rows).unwrap(),
            vec![vec![Some(U256::ZERO), None, None, None]]
        );
        let q = compile(
            "SELECT COUNT(gas_used), SUM(gas_used), AVG(gas_used), MAX(gas_used) FROM headers \
             WHERE number BETWEEN 1 AND 3",
        )
        .unwrap();
        let u = |v: u64| Some(U256::from(v));
        assert_eq!(evaluate(&q.program, &rows).unwrap(), vec![vec![u(3), u(7), u(2), u(4)]]);
    }

    #[test]
    fn too_many_result_rows() {
        let q =
            compile("SELECT number FROM headers WHERE number BETWEEN 1 AND 20 AND gas_used > 0")
                .unwrap();
        let mut rows: Vec<HeaderRow> = (1..=20).map(|n| row(n, 1)).collect();
        let err = evaluate(&q.program, &rows).unwrap_err();
        assert_eq!(err, Error::TooManyResultRows { got: 20, max: MAX_RESULT_ROWS, block: 17 });
        assert!(err.to_string().contains("narrow the block range"), "{err}");
        for r in &mut rows[..4] {
            r[10] = Some(U256::ZERO);
        }
        let got = evaluate(&q.program, &rows).unwrap();
        assert_eq!(got.len(), MAX_RESULT_ROWS);
        assert_eq!(got[0], vec![Some(U256::from(5u64))]);
    }

    #[test]
    fn invalid_program_is_rejected_before_running() {
        let p = Program {
            table: Table::Headers,
            constants: vec![],
            ops: vec![op(Opcode::Add, 0, 0)],
            filter: None,
            outputs: vec![Output {
                aggregate: Aggregate::None,
                reg: 0,
                name: "x".into(),
                value_type: ValueType::Uint256,
            }],
        };
        assert!(matches!(
            evaluate(&p, &[row(1, 1)]),
            Err(Error::InvalidProgram { op: Some(0), .. })
        ));
    }
}

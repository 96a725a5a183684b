//! Native evaluator: runs a [`Program`] over the rows of its table with exactly the semantics of
//! the [`crate::plan`] module doc. Its result is the reference every proof must match.
//!
//! Rows are slices of column values in id order ([`crate::columns`]); column 0 is the block
//! number.

use crate::error::{Error, Result};
use crate::plan::{Aggregate, Opcode, Program, MAX_GROUPS, MAX_RESULT_ROWS};
use alloy_primitives::U256;
use std::collections::BTreeMap;

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

/// Block number of a row (its column 0), for error messages.
fn block_of(row: &[Value]) -> u64 {
    row[0].map_or(0, |n| u64::try_from(n).unwrap_or(u64::MAX))
}

/// Evaluates every op of `program` on one row, in SSA order; returns the registers.
///
/// Errors: [`Error::Overflow`], [`Error::Underflow`], [`Error::DivisionByZero`] naming the op,
/// its register and the row's block. A NULL operand gives NULL, never an error.
///
/// # Panics
/// When the row has fewer columns than a `Column` op reads (rows come from [`crate::columns`]
/// builders, which give every column of the table).
pub fn eval_row(program: &Program, row: &[Value]) -> Result<Vec<Value>> {
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

impl Acc {
    /// The aggregate's value: `COUNT`s are never NULL; the others are NULL over no values.
    fn finish(&self, aggregate: Aggregate) -> Value {
        let any = self.count > 0;
        match aggregate {
            Aggregate::CountStar | Aggregate::Count => Some(U256::from(self.count)),
            Aggregate::Sum => any.then_some(self.sum),
            Aggregate::Avg => any.then(|| self.sum / U256::from(self.count)),
            Aggregate::Min => self.min,
            Aggregate::Max => self.max,
            Aggregate::None => None,
        }
    }
}

/// Evaluates `program` over `rows` (the range's rows in block order).
///
/// Returns, for a non-aggregate program, one row per selected input row in input order (each
/// with one value per output); for an aggregate program exactly one row; for a grouped program
/// ([`Program::is_grouped`]) one row per group of selected rows with equal group-key values,
/// ordered by the keys (ascending in output order, NULL first), with the keys in their output
/// columns (no rows at all when nothing is selected). `COUNT`s are never NULL; `SUM`, `MIN`,
/// `MAX`, `AVG` of no values are NULL; `AVG` is `floor(SUM / COUNT)`.
///
/// Errors: [`Error::InvalidProgram`] if [`Program::validate`] fails; arithmetic errors of any
/// row, selected or not (see [`eval_row`]); [`Error::SumOverflow`];
/// [`Error::TooManyResultRows`] when a non-aggregate program selects more than
/// [`MAX_RESULT_ROWS`] rows, [`Error::TooManyGroups`] when a grouped one has more than
/// [`MAX_GROUPS`] groups (both reported after all rows are evaluated, so arithmetic errors win).
pub fn evaluate<R: AsRef<[Value]>>(program: &Program, rows: &[R]) -> Result<Vec<Vec<Value>>> {
    program.validate()?;
    let aggregate = program.is_aggregate();
    let grouped = program.is_grouped();
    let key_regs: Vec<usize> = program
        .outputs
        .iter()
        .filter(|o| o.aggregate == Aggregate::None)
        .map(|o| o.reg as usize)
        .collect();
    let mut groups: BTreeMap<Vec<Value>, Vec<Acc>> = BTreeMap::new();
    let mut out = Vec::new();
    let mut selected = 0usize;
    let mut first_beyond = None;
    for row in rows {
        let row = row.as_ref();
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
        let key: Vec<Value> = key_regs.iter().map(|&r| regs[r]).collect();
        if !groups.contains_key(&key) && groups.len() == MAX_GROUPS {
            first_beyond.get_or_insert(block_of(row));
            continue;
        }
        let accs = groups.entry(key).or_insert_with(|| vec![Acc::default(); program.outputs.len()]);
        for (j, (o, acc)) in program.outputs.iter().zip(accs.iter_mut()).enumerate() {
            match o.aggregate {
                Aggregate::None => continue,
                Aggregate::CountStar => {
                    acc.count += 1;
                    continue;
                }
                _ => {}
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
        return Err(if aggregate {
            Error::TooManyGroups { max: MAX_GROUPS, block }
        } else {
            Error::TooManyResultRows { got: selected, max: MAX_RESULT_ROWS, block }
        });
    }
    if !aggregate {
        return Ok(out);
    }
    if !grouped && groups.is_empty() {
        groups.insert(Vec::new(), vec![Acc::default(); program.outputs.len()]);
    }
    Ok(groups
        .into_iter()
        .map(|(key, accs)| {
            let mut keys = key.into_iter();
            program
                .outputs
                .iter()
                .zip(&accs)
                .map(|(o, acc)| match o.aggregate {
                    Aggregate::None => keys.next().flatten(),
                    a => acc.finish(a),
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile;
    use crate::plan::{Op, Output, Table, ValueType};

    /// A synthetic row of block `n`: gas_limit 0, gas_used `gas`, base fee NULL.
    fn row(n: u64, gas: u64) -> crate::columns::HeaderRow {
        let mut r: crate::columns::HeaderRow =
            [Some(U256::ZERO); crate::columns::NUM_HEADER_COLUMNS];
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
            slot_keys: 0,
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
        let mut rows: Vec<crate::columns::HeaderRow> = (1..=20).map(|n| row(n, 1)).collect();
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
            slot_keys: 0,
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

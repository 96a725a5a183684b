//! The physical plan: the query's bytecode and its canonical encoding.
//!
//! A [`Program`] is what the circuits execute on every row of every block in the range and what
//! `query_hash` commits to (DESIGN.md §1, §3). The block range is *not* part of the program: it is
//! a separate public value of the proof (`from_block`, `to_block`).
//!
//! # Execution model (shared by the native evaluator and the circuits)
//! Registers are SSA: op `i` writes register `i` and may only read registers `< i`.
//! Every register holds a uint256 value and a NULL flag. Every op is evaluated on every row
//! of the range (no short-circuiting): an arithmetic error on any row fails the whole query.
//!
//! | op | result |
//! |---|---|
//! | `Column(c)` | the row's column `c` (NULL where the block's fork lacks the field) |
//! | `Const(k)` | `constants[k]`, never NULL |
//! | `Add/Sub/Mul/Div/Mod(a, b)` | uint256 arithmetic; NULL if an operand is NULL (then never an error); otherwise overflow, underflow and division by zero are errors |
//! | `Eq/Lt/Le(a, b)` | 1 or 0; NULL if an operand is NULL |
//! | `And/Or(a, b)`, `Not(a)` | Kleene three-valued logic on truth values (`value != 0`) |
//! | `IsNull(a)` | 1 if `a` is NULL else 0, never NULL |
//!
//! A row is *selected* when there is no filter, or the filter register is non-NULL and non-zero.
//! Aggregates run over selected rows whose input register is non-NULL (`COUNT(*)` over all
//! selected rows); `SUM`, `MIN`, `MAX`, `AVG` of no rows are NULL; `AVG` is `floor(sum / count)`;
//! a `SUM` that exceeds 2^256 - 1 is an error.

use crate::columns::MappingPath;
use crate::error::{Error, Result};
use alloy_primitives::{keccak256, B256, U256};
use serde::{Deserialize, Serialize};
use std::fmt::{self, Write as _};

/// Version byte that starts the canonical encoding.
pub const PLAN_ENCODING_VERSION: u8 = 2;
/// Maximum number of ops (registers) in a program; the circuits are built for exactly this many.
pub const MAX_OPS: usize = 16;
/// Maximum number of constants in a program's constant pool.
pub const MAX_CONSTANTS: usize = 8;
/// Maximum number of output columns (select-list items).
pub const MAX_OUTPUTS: usize = 4;
/// Maximum number of result rows a non-aggregate query may return over its range.
pub const MAX_RESULT_ROWS: usize = 16;
/// Maximum number of groups (result rows) of a `GROUP BY` query over its range.
pub const MAX_GROUPS: usize = 16;
/// Most nested mapping keys a `storage` program's slot may be derived from
/// ([`Program::slot_keys`]); deeper `mapping_slot` nests are folded to a plain slot constant.
pub const MAX_SLOT_KEYS: usize = 3;
/// Encoding of "no filter" in the `filter` byte.
pub const NO_FILTER: u8 = 0xff;

/// The table a program reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Table {
    /// One row per block header.
    Headers = 0,
    /// One row per transaction receipt.
    Receipts = 1,
    /// One row per log.
    Logs = 2,
    /// Point rows at `(block_number, address)`.
    Accounts = 3,
    /// Point rows at `(block_number, address, slot)`.
    Storage = 4,
}

/// The fixed op prefix of an `accounts`/`storage` program that names a single point: the
/// circuits read the point (and, for a sampled query, the sampling) from it at constant
/// offsets, and check that it is a top-level conjunct of the filter (the filter is
/// [`PointsPrelude::reg`] or `And(reg, x)`), so every other point's row is rejected.
///
/// ```text
/// sampled only:  0 Column 0   1 Const k   2 Mod 0 1   3 Const r   4 Eq 2 3     (k = constants[0], r = constants[1])
/// then, at o:    o Column 1 (address)   o+1 Const c   o+2 Eq o o+1             (c = 2 if sampled else 0)
/// sampled:       And 4 (o+2)
/// storage:       Column 2 (slot)   Const c+1   Eq   And(previous, that Eq)
/// ```
///
/// The planner emits exactly these ops and constants first ([`Program::points_prelude`] is the
/// check); a query naming several addresses or slots has no prelude and is not provable yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PointsPrelude {
    /// The prefix ops.
    pub ops: Vec<Op>,
    /// Register of `block_number % k = r` (sampled programs).
    pub sample_reg: Option<u8>,
    /// Constant index of the address (a uint256 below 2^160).
    pub address_constant: u8,
    /// Constant index of the slot (`storage`).
    pub slot_constant: Option<u8>,
    /// Register holding the conjunction of the prelude (its last op).
    pub reg: u8,
}

impl PointsPrelude {
    /// Most ops of a prelude (sampled `storage`).
    pub const MAX_OPS: usize = 13;

    /// The prelude of a `storage` (else `accounts`) program, sampled or not.
    pub fn new(storage: bool, sampled: bool) -> Self {
        let op = |opcode, a: usize, b: usize| Op { opcode, a: a as u8, b: b as u8 };
        let mut ops = Vec::with_capacity(Self::MAX_OPS);
        let mut constants = 0;
        let mut sample_reg = None;
        if sampled {
            ops.push(op(Opcode::Column, 0, 0));
            ops.push(op(Opcode::Const, 0, 0));
            ops.push(op(Opcode::Mod, 0, 1));
            ops.push(op(Opcode::Const, 1, 0));
            ops.push(op(Opcode::Eq, 2, 3));
            sample_reg = Some(4);
            constants = 2;
        }
        let pin = |ops: &mut Vec<Op>, column: usize, constant: usize, prev: Option<usize>| {
            let o = ops.len();
            ops.push(op(Opcode::Column, column, 0));
            ops.push(op(Opcode::Const, constant, 0));
            ops.push(op(Opcode::Eq, o, o + 1));
            if let Some(p) = prev {
                ops.push(op(Opcode::And, p, o + 2));
            }
            ops.len() - 1
        };
        let address_constant = constants;
        let mut reg = pin(&mut ops, 1, address_constant, sample_reg.map(usize::from));
        let slot_constant = storage.then(|| {
            reg = pin(&mut ops, 2, address_constant + 1, Some(reg));
            (address_constant + 1) as u8
        });
        Self {
            ops,
            sample_reg,
            address_constant: address_constant as u8,
            slot_constant,
            reg: reg as u8,
        }
    }

    /// Constants the prelude reads (`constants[..n]`).
    pub fn num_constants(&self) -> usize {
        self.address_constant as usize + 1 + usize::from(self.slot_constant.is_some())
    }

    /// Constant index of a mapping slot's base slot (`storage` only), the first of the
    /// derivation constants [`Program::slot_keys`] describes: the base, then the keys,
    /// outermost mapping first, right after the prelude's own constants.
    pub fn mapping_base_constant(&self) -> Option<u8> {
        self.slot_constant.map(|c| c + 1)
    }
}

/// Opcodes, with their byte in the canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Opcode {
    /// `a` = column id.
    Column = 0,
    /// `a` = constant index.
    Const = 1,
    /// uint256 addition, overflow is an error.
    Add = 2,
    /// uint256 subtraction, underflow is an error.
    Sub = 3,
    /// uint256 multiplication, overflow is an error.
    Mul = 4,
    /// uint256 floor division, division by zero is an error.
    Div = 5,
    /// uint256 remainder, division by zero is an error.
    Mod = 6,
    /// `a == b`.
    Eq = 7,
    /// `a < b`.
    Lt = 8,
    /// `a <= b`.
    Le = 9,
    /// Kleene AND.
    And = 10,
    /// Kleene OR.
    Or = 11,
    /// Kleene NOT of `a`.
    Not = 12,
    /// `a IS NULL`.
    IsNull = 13,
}

/// Number of opcodes (the circuits select among this many results).
pub const NUM_OPCODES: usize = 14;

impl Opcode {
    /// Decodes an opcode byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        use Opcode::*;
        Some(match b {
            0 => Column,
            1 => Const,
            2 => Add,
            3 => Sub,
            4 => Mul,
            5 => Div,
            6 => Mod,
            7 => Eq,
            8 => Lt,
            9 => Le,
            10 => And,
            11 => Or,
            12 => Not,
            13 => IsNull,
            _ => return None,
        })
    }
}

/// One fixed-width op: `opcode`, operands `a` and `b` (register indices, or a column id /
/// constant index for `Column`/`Const`; unused operands are 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Op {
    /// What the op computes.
    pub opcode: Opcode,
    /// First operand.
    pub a: u8,
    /// Second operand.
    pub b: u8,
}

/// Aggregate applied to an output column, with its byte in the canonical encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Aggregate {
    /// Not an aggregate: the register's value on each selected row.
    None = 0,
    /// `COUNT(*)`: selected rows.
    CountStar = 1,
    /// `COUNT(expr)`: selected rows where the register is non-NULL.
    Count = 2,
    /// `SUM(expr)`.
    Sum = 3,
    /// `MIN(expr)`.
    Min = 4,
    /// `MAX(expr)`.
    Max = 5,
    /// `AVG(expr)` = floor(SUM / COUNT).
    Avg = 6,
}

impl Aggregate {
    /// Decodes an aggregate byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        use Aggregate::*;
        Some(match b {
            0 => None,
            1 => CountStar,
            2 => Count,
            3 => Sum,
            4 => Min,
            5 => Max,
            6 => Avg,
            _ => return Option::None,
        })
    }
}

/// Static type of a value, for validation and display (not part of the encoding: every value
/// is a uint256 word in the circuits and in the ABI result).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Unsigned 256-bit integer.
    Uint256,
    /// 32-byte hash, big-endian in the word.
    Bytes32,
    /// 20-byte address, right-aligned in the word.
    Address,
    /// 0 or 1.
    Bool,
}

/// One output column: the aggregate and the register it reads (ignored by `CountStar`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Output {
    /// Aggregate kind.
    pub aggregate: Aggregate,
    /// Register read.
    pub reg: u8,
    /// Column name shown to users (the select item's text or alias); not encoded.
    pub name: String,
    /// Type of the result column; not encoded.
    pub value_type: ValueType,
}

/// A compiled query: the bytecode every circuit and the native evaluator run.
///
/// Invariants checked by [`Program::validate`]: `ops.len() <= MAX_OPS`,
/// `constants.len() <= MAX_CONSTANTS`, `1 <= outputs.len() <= MAX_OUTPUTS`, registers read by op
/// `i` are `< i`, the filter and output registers are `< ops.len()`, `Column` ids name a
/// column of `table`, and a non-zero `slot_keys` belongs to a single-point `storage` program
/// whose slot constant is the mapping slot of its base and keys. Plain outputs of a program that also has aggregates are its group keys
/// (`GROUP BY`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Program {
    /// Table read.
    pub table: Table,
    /// Constant pool (uint256 words).
    pub constants: Vec<U256>,
    /// The ops, SSA.
    pub ops: Vec<Op>,
    /// Register holding the WHERE predicate, if any.
    pub filter: Option<u8>,
    /// The select list.
    pub outputs: Vec<Output>,
    /// How many nested mapping keys the slot of a single-point `storage` program is derived
    /// from (0 to [`MAX_SLOT_KEYS`]; 0 for other programs and for a slot given as a number).
    /// When `n > 0` the constants after the [`PointsPrelude`]'s are the base slot and the `n`
    /// keys, and the slot constant must equal their [`MappingPath::slot`]
    /// ([`Program::validate`] checks it; the circuits recompute it with keccak256).
    #[serde(default)]
    pub slot_keys: u8,
}

impl Program {
    /// Whether the program aggregates (some output is an aggregate): one result row, or one
    /// per group when [`Program::is_grouped`]; otherwise a row per selected row.
    pub fn is_aggregate(&self) -> bool {
        self.outputs.iter().any(|o| o.aggregate != Aggregate::None)
    }

    /// Whether the program is a `GROUP BY`: it aggregates and some outputs are plain. Those
    /// plain outputs are the group keys (the dialect requires every group key to be selected
    /// and every plain select item to be a group key).
    pub fn is_grouped(&self) -> bool {
        self.is_aggregate() && self.outputs.iter().any(|o| o.aggregate == Aggregate::None)
    }

    /// The program's [`PointsPrelude`], when it is an `accounts`/`storage` program that starts
    /// with one (sampled or not) and whose filter is the prelude's register or
    /// `And(prelude register, x)`: the form the planner emits for a query naming a single point.
    /// The circuits make the same check on the plan bytes.
    pub fn points_prelude(&self) -> Option<PointsPrelude> {
        let storage = match self.table {
            Table::Accounts => false,
            Table::Storage => true,
            _ => return None,
        };
        [true, false].into_iter().find_map(|sampled| {
            let p = PointsPrelude::new(storage, sampled);
            let f = self.filter? as usize;
            let top = f == p.reg as usize
                || self.ops.get(f).is_some_and(|op| op.opcode == Opcode::And && op.a == p.reg);
            let consts = p.num_constants() <= self.constants.len();
            (self.ops.starts_with(&p.ops) && top && consts).then_some(p)
        })
    }

    /// The mapping path the slot constant is derived from, read from the constants
    /// [`Program::slot_keys`] describes; `None` when `slot_keys` is 0 or the program has no
    /// `storage` [`PointsPrelude`] or too few constants (which [`Program::validate`] rejects).
    pub fn slot_path(&self) -> Option<MappingPath> {
        let n = self.slot_keys as usize;
        let base = self.points_prelude()?.mapping_base_constant()? as usize;
        let words = self.constants.get(base..base + 1 + n).filter(|_| n > 0)?;
        Some(MappingPath { base: words[0], keys: words[1..].to_vec() })
    }

    /// Why this release's circuits cannot prove the program (`None` when they can): they cover
    /// aggregates without GROUP BY over `headers`, and over `accounts`/`storage` when the query
    /// names one point (the root circuit rejects plain outputs, the map circuits other tables
    /// and programs without a [`PointsPrelude`]).
    pub fn unprovable_reason(&self) -> Option<String> {
        match self.table {
            Table::Headers => {}
            Table::Accounts | Table::Storage => {
                if self.points_prelude().is_none() {
                    return Some(format!(
                        "the {} circuit proves one point per block: name a single address{}",
                        self.table.name(),
                        if self.table == Table::Storage { " and a single slot" } else { "" }
                    ));
                }
            }
            Table::Receipts | Table::Logs => {
                return Some(format!("the {} circuits are not in this release", self.table.name()))
            }
        }
        if !self.is_aggregate() {
            Some("only aggregate selects (COUNT/SUM/AVG/MIN/MAX) are provable; plain-column selects run natively".into())
        } else if self.is_grouped() {
            Some("GROUP BY is not provable in this release".into())
        } else {
            None
        }
    }

    /// Canonical encoding, the preimage of `query_hash`: a fixed-length layout of
    /// [`Program::ENCODED_LEN`] = 319 bytes, so the circuits read every field at a constant
    /// offset. Unused slots are zero bytes.
    ///
    /// ```text
    /// offset  size      field
    /// 0       1         version (= 2)
    /// 1       1         table
    /// 2       1         n_constants (<= MAX_CONSTANTS)
    /// 3       8 * 32    constants, 32-byte big-endian words
    /// 259     1         n_ops (<= MAX_OPS)
    /// 260     16 * 3    ops: [opcode, a, b]
    /// 308     1         filter register (0xff = none)
    /// 309     1         n_outputs (<= MAX_OUTPUTS)
    /// 310     4 * 2     outputs: [aggregate, reg]
    /// 318     1         slot_keys (<= MAX_SLOT_KEYS)
    /// ```
    ///
    /// The circuits execute all `MAX_OPS` op slots; a zero slot is `Column 0`, which cannot
    /// fail, so padding never changes a result.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; Self::ENCODED_LEN];
        out[0] = PLAN_ENCODING_VERSION;
        out[1] = self.table as u8;
        out[2] = self.constants.len() as u8;
        for (i, c) in self.constants.iter().enumerate() {
            out[Self::CONSTANTS_OFFSET + 32 * i..Self::CONSTANTS_OFFSET + 32 * (i + 1)]
                .copy_from_slice(&c.to_be_bytes::<32>());
        }
        out[Self::N_OPS_OFFSET] = self.ops.len() as u8;
        for (i, op) in self.ops.iter().enumerate() {
            let o = Self::OPS_OFFSET + 3 * i;
            out[o..o + 3].copy_from_slice(&[op.opcode as u8, op.a, op.b]);
        }
        out[Self::FILTER_OFFSET] = self.filter.unwrap_or(NO_FILTER);
        out[Self::N_OUTPUTS_OFFSET] = self.outputs.len() as u8;
        for (i, o) in self.outputs.iter().enumerate() {
            let at = Self::OUTPUTS_OFFSET + 2 * i;
            out[at..at + 2].copy_from_slice(&[o.aggregate as u8, o.reg]);
        }
        out[Self::SLOT_KEYS_OFFSET] = self.slot_keys;
        out
    }

    /// Offset of the constant pool in [`Program::encode`].
    pub const CONSTANTS_OFFSET: usize = 3;
    /// Offset of `n_ops`.
    pub const N_OPS_OFFSET: usize = Self::CONSTANTS_OFFSET + 32 * MAX_CONSTANTS;
    /// Offset of the op slots.
    pub const OPS_OFFSET: usize = Self::N_OPS_OFFSET + 1;
    /// Offset of the filter byte.
    pub const FILTER_OFFSET: usize = Self::OPS_OFFSET + 3 * MAX_OPS;
    /// Offset of `n_outputs`.
    pub const N_OUTPUTS_OFFSET: usize = Self::FILTER_OFFSET + 1;
    /// Offset of the output slots.
    pub const OUTPUTS_OFFSET: usize = Self::N_OUTPUTS_OFFSET + 1;
    /// Offset of `slot_keys`.
    pub const SLOT_KEYS_OFFSET: usize = Self::OUTPUTS_OFFSET + 2 * MAX_OUTPUTS;
    /// Length of [`Program::encode`] in bytes (319).
    pub const ENCODED_LEN: usize = Self::SLOT_KEYS_OFFSET + 1;

    /// `query_hash` = keccak256 of [`Program::encode`] (DESIGN.md §1).
    pub fn query_hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// ABI encoding of result rows, the preimage of `result_hash` (DESIGN.md §1).
///
/// Each row is the static tuple `(uint256 nullMask, uint256 v_0, .., uint256 v_{k-1})` where
/// bit `j` of `nullMask` is set when column `j` is NULL (its word is then 0). The rows are encoded
/// as `abi.encode(Row[])`: a 32-byte offset (0x20), a 32-byte row count, then the rows' words.
pub fn encode_result_rows(rows: &[Vec<Option<U256>>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&U256::from(32u64).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(rows.len()).to_be_bytes::<32>());
    for row in rows {
        let mut mask = U256::ZERO;
        for (j, v) in row.iter().enumerate() {
            if v.is_none() {
                mask |= U256::from(1u64) << j;
            }
        }
        out.extend_from_slice(&mask.to_be_bytes::<32>());
        for v in row {
            out.extend_from_slice(&v.unwrap_or_default().to_be_bytes::<32>());
        }
    }
    out
}

/// `result_hash` = keccak256 of [`encode_result_rows`].
pub fn result_hash(rows: &[Vec<Option<U256>>]) -> B256 {
    keccak256(encode_result_rows(rows))
}

impl Opcode {
    /// Mnemonic used in disassembly and error messages (`Add`, `IsNull`, ...).
    pub fn mnemonic(self) -> &'static str {
        use Opcode::*;
        match self {
            Column => "Column",
            Const => "Const",
            Add => "Add",
            Sub => "Sub",
            Mul => "Mul",
            Div => "Div",
            Mod => "Mod",
            Eq => "Eq",
            Lt => "Lt",
            Le => "Le",
            And => "And",
            Or => "Or",
            Not => "Not",
            IsNull => "IsNull",
        }
    }

    /// Number of register operands the op reads (0 for `Column`/`Const`, 1 for `Not`/`IsNull`,
    /// 2 otherwise).
    pub fn arity(self) -> usize {
        match self {
            Opcode::Column | Opcode::Const => 0,
            Opcode::Not | Opcode::IsNull => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

impl fmt::Display for Aggregate {
    /// SQL name (`COUNT(*)` for `CountStar`, `NONE` for a plain output).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Aggregate::None => "NONE",
            Aggregate::CountStar => "COUNT(*)",
            Aggregate::Count => "COUNT",
            Aggregate::Sum => "SUM",
            Aggregate::Min => "MIN",
            Aggregate::Max => "MAX",
            Aggregate::Avg => "AVG",
        })
    }
}

impl fmt::Display for ValueType {
    /// Solidity-style name: `uint256`, `bytes32`, `address`, `bool`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Uint256 => "uint256",
            ValueType::Bytes32 => "bytes32",
            ValueType::Address => "address",
            ValueType::Bool => "bool",
        })
    }
}

impl Program {
    /// Checks the invariants listed on [`Program`], plus canonical form: `Column` ids name a
    /// column of the table (< [`Table::num_columns`]), `Const` indices are in the
    /// pool, operands an op does not use are 0, and a `CountStar` output reads register 0.
    ///
    /// Errors: [`Error::InvalidProgram`] with the offending op index (when in an op) and the
    /// expected and found values.
    pub fn validate(&self) -> Result<()> {
        let invalid = |op: Option<usize>, reason: String| Err(Error::InvalidProgram { op, reason });
        if self.ops.len() > MAX_OPS {
            return invalid(None, format!("{} ops, expected at most {MAX_OPS}", self.ops.len()));
        }
        if self.constants.len() > MAX_CONSTANTS {
            return invalid(
                None,
                format!("{} constants, expected at most {MAX_CONSTANTS}", self.constants.len()),
            );
        }
        if self.outputs.is_empty() || self.outputs.len() > MAX_OUTPUTS {
            return invalid(
                None,
                format!("{} outputs, expected 1 to {MAX_OUTPUTS}", self.outputs.len()),
            );
        }
        for (i, op) in self.ops.iter().enumerate() {
            let (a_ok, a_expected) = match op.opcode {
                Opcode::Column => (
                    (op.a as usize) < self.table.num_columns(),
                    format!("a column id of {} < {}", self.table.name(), self.table.num_columns()),
                ),
                Opcode::Const => (
                    (op.a as usize) < self.constants.len(),
                    format!("a constant index < {}", self.constants.len()),
                ),
                _ => ((op.a as usize) < i, format!("a register < {i}")),
            };
            if !a_ok {
                return invalid(
                    Some(i),
                    format!("{} operand a = {}, expected {a_expected}", op.opcode, op.a),
                );
            }
            if op.opcode.arity() == 2 {
                if (op.b as usize) >= i {
                    return invalid(
                        Some(i),
                        format!("{} operand b = {}, expected a register < {i}", op.opcode, op.b),
                    );
                }
            } else if op.b != 0 {
                return invalid(
                    Some(i),
                    format!("{} operand b = {}, expected 0 (unused)", op.opcode, op.b),
                );
            }
        }
        if let Some(f) = self.filter {
            if f == NO_FILTER || f as usize >= self.ops.len() {
                return invalid(
                    None,
                    format!("filter register {f}, expected < {}", self.ops.len()),
                );
            }
        }
        for (j, o) in self.outputs.iter().enumerate() {
            let ok = match o.aggregate {
                Aggregate::CountStar => o.reg == 0,
                _ => (o.reg as usize) < self.ops.len(),
            };
            if !ok {
                let expected = match o.aggregate {
                    Aggregate::CountStar => "0 for COUNT(*)".to_string(),
                    _ => format!("a register < {}", self.ops.len()),
                };
                return invalid(
                    None,
                    format!("output {j} reads register {}, expected {expected}", o.reg),
                );
            }
        }
        if self.slot_keys > 0 {
            let n = self.slot_keys as usize;
            let reason = if n > MAX_SLOT_KEYS {
                Some(format!("slot_keys = {n}, expected at most {MAX_SLOT_KEYS}"))
            } else {
                match (self.points_prelude().and_then(|p| p.slot_constant), self.slot_path()) {
                    (Some(slot), Some(path)) if path.slot() == self.constants[slot as usize] => {
                        None
                    }
                    (Some(slot), Some(path)) => Some(format!(
                        "slot constant k{slot} = {:#x}, expected the mapping slot {:#x} of its \
                         base and {n} key(s)",
                        self.constants[slot as usize],
                        path.slot()
                    )),
                    (Some(_), None) => Some(format!(
                        "slot_keys = {n} needs {} derivation constants after the prelude's",
                        n + 1
                    )),
                    (None, _) => Some(format!(
                        "slot_keys = {n}, expected 0 for a program without a single-point \
                         storage prelude"
                    )),
                }
            };
            if let Some(reason) = reason {
                return invalid(None, reason);
            }
        }
        Ok(())
    }

    /// Human-readable disassembly: the constant pool, one op per line (`r<i> = <Opcode> ...`),
    /// the filter register and the outputs. Column operands are shown with their name in the
    /// program's table.
    pub fn disassemble(&self) -> String {
        let mut s = String::new();
        for (k, c) in self.constants.iter().enumerate() {
            let _ = writeln!(s, "k{k} = {}", fmt_word(*c));
        }
        for (i, op) in self.ops.iter().enumerate() {
            let _ = match op.opcode {
                Opcode::Column => {
                    let name = self.table.column_name(op.a).unwrap_or("?");
                    writeln!(s, "r{i} = Column {name} (#{})", op.a)
                }
                Opcode::Const => writeln!(s, "r{i} = Const k{}", op.a),
                Opcode::Not | Opcode::IsNull => writeln!(s, "r{i} = {} r{}", op.opcode, op.a),
                _ => writeln!(s, "r{i} = {} r{}, r{}", op.opcode, op.a, op.b),
            };
        }
        if let (Some(slot), Some(base)) = (
            self.points_prelude().and_then(|p| p.slot_constant),
            self.points_prelude().and_then(|p| p.mapping_base_constant()),
        ) {
            if self.slot_keys > 0 {
                let mut path = format!("k{base}");
                for k in 1..=usize::from(self.slot_keys) {
                    path = format!("mapping_slot(k{}, {path})", usize::from(base) + k);
                }
                let _ = writeln!(s, "slot k{slot} = {path}");
            }
        }
        let _ = match self.filter {
            Some(f) => writeln!(s, "filter = r{f}"),
            None => writeln!(s, "filter = none"),
        };
        for (j, o) in self.outputs.iter().enumerate() {
            let _ = match o.aggregate {
                Aggregate::None => {
                    writeln!(s, "out{j} = r{} : {} \"{}\"", o.reg, o.value_type, o.name)
                }
                Aggregate::CountStar => {
                    writeln!(s, "out{j} = COUNT(*) : {} \"{}\"", o.value_type, o.name)
                }
                a => writeln!(s, "out{j} = {a}(r{}) : {} \"{}\"", o.reg, o.value_type, o.name),
            };
        }
        s
    }
}

/// A word in decimal when below 2^64, else in 0x-hex.
fn fmt_word(v: U256) -> String {
    if v < U256::from(u64::MAX) {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Why [`Program::decode`] rejected an encoding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid plan encoding at byte {offset}: {reason}")]
pub struct PlanDecodeError {
    /// Offset of the offending byte.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl Program {
    /// Inverse of [`Program::encode`]: the bytecode of a canonical 319-byte encoding. Output
    /// names are `col{j}` and types `uint256` (neither is encoded).
    ///
    /// # Errors
    /// A wrong length or version, counts above the limits, unknown opcodes or aggregates, or
    /// non-zero padding ([`PlanDecodeError`] names the byte).
    pub fn decode(bytes: &[u8]) -> Result<Self, PlanDecodeError> {
        let err = |offset, reason| PlanDecodeError { offset, reason };
        if bytes.first().is_some_and(|v| *v != PLAN_ENCODING_VERSION) {
            return Err(err(0, "unknown version (this build reads version 2)"));
        }
        if bytes.len() != Self::ENCODED_LEN {
            return Err(err(bytes.len().min(Self::ENCODED_LEN), "length is not 319 bytes"));
        }
        let table = Table::from_u8(bytes[1]).ok_or(err(1, "unknown table"))?;
        let n_constants = bytes[2] as usize;
        if n_constants > MAX_CONSTANTS {
            return Err(err(2, "too many constants"));
        }
        let constants = (0..n_constants)
            .map(|i| {
                let o = Self::CONSTANTS_OFFSET + 32 * i;
                U256::from_be_slice(&bytes[o..o + 32])
            })
            .collect();
        let n_ops = bytes[Self::N_OPS_OFFSET] as usize;
        if n_ops > MAX_OPS {
            return Err(err(Self::N_OPS_OFFSET, "too many ops"));
        }
        let mut ops = Vec::with_capacity(n_ops);
        for i in 0..n_ops {
            let o = Self::OPS_OFFSET + 3 * i;
            let opcode = Opcode::from_u8(bytes[o]).ok_or(err(o, "unknown opcode"))?;
            ops.push(Op { opcode, a: bytes[o + 1], b: bytes[o + 2] });
        }
        let filter = match bytes[Self::FILTER_OFFSET] {
            NO_FILTER => None,
            r => Some(r),
        };
        let n_outputs = bytes[Self::N_OUTPUTS_OFFSET] as usize;
        if n_outputs > MAX_OUTPUTS {
            return Err(err(Self::N_OUTPUTS_OFFSET, "too many outputs"));
        }
        let mut outputs = Vec::with_capacity(n_outputs);
        for j in 0..n_outputs {
            let o = Self::OUTPUTS_OFFSET + 2 * j;
            let aggregate = Aggregate::from_u8(bytes[o]).ok_or(err(o, "unknown aggregate"))?;
            outputs.push(Output {
                aggregate,
                reg: bytes[o + 1],
                name: format!("col{j}"),
                value_type: ValueType::Uint256,
            });
        }
        let slot_keys = bytes[Self::SLOT_KEYS_OFFSET];
        if slot_keys as usize > MAX_SLOT_KEYS {
            return Err(err(Self::SLOT_KEYS_OFFSET, "too many slot keys"));
        }
        let program = Program { table, constants, ops, filter, outputs, slot_keys };
        if let Some(i) = program.encode().iter().zip(bytes).position(|(a, b)| a != b) {
            return Err(err(i, "non-zero padding"));
        }
        Ok(program)
    }
}

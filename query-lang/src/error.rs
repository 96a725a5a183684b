//! The crate's error type: compile errors (with their position in the query), plan-limit errors,
//! program-validation errors and native-evaluation errors.

use crate::plan::{Opcode, ValueType};
use sqlparser::tokenizer::Location;
use std::fmt;

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Evaluation errors are variants of the crate's [`Error`] (`Overflow`, `Underflow`,
/// `DivisionByZero`, `SumOverflow`, `TooManyResultRows`, `InvalidProgram`, `RowsMismatch`); the
/// alias names them at the evaluator's API.
pub type EvalError = Error;

/// A position in the query text: 1-based line and column (columns count characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl Position {
    /// The start of the query (line 1, column 1).
    pub const START: Position = Position { line: 1, column: 1 };

    /// Builds a position.
    pub const fn new(line: u64, column: u64) -> Self {
        Self { line, column }
    }

    /// Converts a sqlparser location; `None` for sqlparser's "unknown" location (line 0).
    pub fn from_location(loc: Location) -> Option<Self> {
        (loc.line != 0).then_some(Self { line: loc.line, column: loc.column })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Everything that can go wrong in this crate.
///
/// Compile errors carry the [`Position`] of the offending construct and say what was expected;
/// evaluation errors name the block (row) and the op.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The SQL text does not parse (sqlparser's tokenizer or parser message).
    #[error("syntax error at {pos}: {message}")]
    Syntax {
        /// Where sqlparser stopped.
        pos: Position,
        /// sqlparser's message (without its location suffix).
        message: String,
    },
    /// Valid SQL outside the dialect (JOIN, GROUP BY, subqueries, strings, functions, ...).
    #[error("unsupported construct {construct} at {pos}: expected {expected}")]
    Unsupported {
        /// Start of the construct.
        pos: Position,
        /// What was found, e.g. `GROUP BY`.
        construct: String,
        /// What the dialect accepts instead.
        expected: String,
    },
    /// `FROM` names a table that does not exist.
    #[error("unknown table \"{name}\" at {pos}: expected one of headers, receipts, logs, accounts, storage")]
    UnknownTable {
        /// Start of the table name.
        pos: Position,
        /// The name found.
        name: String,
    },
    /// The query has no `FROM` clause.
    #[error("missing FROM clause at {pos}: expected `FROM <table>` (headers, receipts, logs, accounts or storage)")]
    MissingFrom {
        /// End of the select list.
        pos: Position,
    },
    /// A column that the query's table does not have.
    #[error("unknown column \"{name}\" of {table} at {pos}: expected one of {expected}")]
    UnknownColumn {
        /// Start of the identifier.
        pos: Position,
        /// The name found.
        name: String,
        /// The query's table.
        table: &'static str,
        /// Comma-separated list of the table's columns.
        expected: String,
    },
    /// An operand of the wrong type.
    #[error("type mismatch at {pos}: expected {expected}, found {found}")]
    TypeMismatch {
        /// Start of the operand.
        pos: Position,
        /// Type the context requires (e.g. `uint256`, or `uint256, bytes32 or address`).
        expected: String,
        /// Type of the operand.
        found: ValueType,
    },
    /// An integer literal above 2^256 - 1.
    #[error(
        "numeric literal overflows uint256 at {pos}: expected at most 2^256 - 1, found {literal}"
    )]
    LiteralOverflow {
        /// Start of the literal.
        pos: Position,
        /// The literal's text.
        literal: String,
    },
    /// A literal that is not an unsigned integer or a `0x` hex literal.
    #[error("invalid literal {literal} at {pos}: expected {expected}")]
    InvalidLiteral {
        /// Start of the literal.
        pos: Position,
        /// The literal's text.
        literal: String,
        /// What is accepted.
        expected: String,
    },
    /// A placeholder `$i` with `i` outside `1..=params.len()`.
    #[error("missing parameter {placeholder} at {pos}: expected {expected}")]
    MissingParameter {
        /// Start of the placeholder.
        pos: Position,
        /// The placeholder's text.
        placeholder: String,
        /// The placeholders the given parameters bind.
        expected: String,
    },
    /// A parameter compared with an address but above 2^160 - 1.
    #[error("parameter out of range at {pos}: expected {expected}, found {value}")]
    ParameterOutOfRange {
        /// Start of the placeholder.
        pos: Position,
        /// The value's range, e.g. `an address (below 2^160)`.
        expected: String,
        /// The parameter's value (decimal).
        value: String,
    },
    /// The select list mixes aggregates and plain expressions.
    #[error("mixed aggregate and non-aggregate select items at {pos}: expected all items to be aggregates or none, or GROUP BY the plain items")]
    MixedAggregates {
        /// Start of the first item whose kind differs from the first item's.
        pos: Position,
    },
    /// `GROUP BY` without an aggregate in the select list.
    #[error("GROUP BY without an aggregate at {pos}: expected at least one of COUNT, SUM, AVG, MIN, MAX in the select list")]
    GroupWithoutAggregate {
        /// Start of the first select item.
        pos: Position,
    },
    /// A plain select item of a grouped query that is not a GROUP BY key.
    #[error("select item \"{item}\" at {pos} is neither aggregated nor a GROUP BY key: expected an aggregate or one of the GROUP BY columns")]
    NotGrouped {
        /// Start of the item.
        pos: Position,
        /// The item's text.
        item: String,
    },
    /// A GROUP BY key that the select list does not show (results name their group).
    #[error("GROUP BY key {key} at {pos} is not selected: expected every GROUP BY column in the select list, so each result row names its group")]
    GroupKeyNotSelected {
        /// Start of the key in GROUP BY.
        pos: Position,
        /// The key's name.
        key: String,
    },
    /// No top-level `<block column> BETWEEN <from> AND <to>` conjunct in WHERE.
    #[error("missing block range at {pos}: expected `{column} BETWEEN <from> AND <to>` in the WHERE clause (as a top-level AND conjunct)")]
    MissingBlockRange {
        /// Start of the WHERE expression, or the end of the query when there is none.
        pos: Position,
        /// The table's block column (`number` or `block_number`).
        column: &'static str,
    },
    /// An `accounts`/`storage` query that does not name its addresses (or slots).
    #[error("missing {column} points at {pos}: a query on {table} must name them with a top-level conjunct `{column} = <constant>` or `{column} IN (<constants>)`")]
    MissingPoints {
        /// Start of the WHERE expression.
        pos: Position,
        /// The table.
        table: &'static str,
        /// `address` or `slot`.
        column: &'static str,
    },
    /// More points than [`crate::logical::MAX_POINTS`] per block.
    #[error(
        "too many points at {pos}: {got} (address, slot) pairs per block, expected at most {max}"
    )]
    TooManyPoints {
        /// Start of the WHERE expression.
        pos: Position,
        /// Addresses × slots named.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A block range bound that is not a literal/placeholder fitting in u64.
    #[error("invalid block range bound at {pos}: expected an integer literal or placeholder at most 2^64 - 1, found {found}")]
    BlockRangeBound {
        /// Start of the bound.
        pos: Position,
        /// The bound's text or value.
        found: String,
    },
    /// `from > to`.
    #[error("empty block range at {pos}: expected from <= to, found {from} > {to}")]
    EmptyBlockRange {
        /// Start of the BETWEEN.
        pos: Position,
        /// Lower bound.
        from: u64,
        /// Upper bound.
        to: u64,
    },
    /// The range spans more than [`crate::MAX_RANGE_BLOCKS`] blocks.
    #[error("block range too long at {pos}: {blocks} blocks, expected at most {max}")]
    RangeTooLong {
        /// Start of the BETWEEN.
        pos: Position,
        /// `to - from + 1`.
        blocks: u128,
        /// The limit.
        max: u64,
    },
    /// More ops than [`crate::plan::MAX_OPS`].
    #[error(
        "plan too large at {pos}: {got} ops, expected at most {max} (simplify the expressions)"
    )]
    TooManyOps {
        /// Start of the query.
        pos: Position,
        /// Ops the query needs.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// More distinct constants than [`crate::plan::MAX_CONSTANTS`].
    #[error("plan too large at {pos}: {got} constants, expected at most {max}")]
    TooManyConstants {
        /// Start of the query.
        pos: Position,
        /// Distinct constants the query needs.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// More select items than [`crate::plan::MAX_OUTPUTS`].
    #[error("plan too large at {pos}: {got} output columns, expected at most {max}")]
    TooManyOutputs {
        /// Start of the query.
        pos: Position,
        /// Select items.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A [`crate::plan::Program`] that breaks an invariant of [`crate::plan::Program::validate`].
    #[error("invalid program{}: {reason}", op.map(|i| format!(" at op {i}")).unwrap_or_default())]
    InvalidProgram {
        /// Index of the offending op, when the defect is in an op.
        op: Option<usize>,
        /// What is wrong, with the expected and found values.
        reason: String,
    },
    /// Arithmetic overflow (`Add`, `Mul`) while evaluating.
    #[error("overflow in {op} (register r{reg}) at block {block}")]
    Overflow {
        /// The op.
        op: Opcode,
        /// Its register.
        reg: u8,
        /// The row's block number.
        block: u64,
    },
    /// Arithmetic underflow (`Sub`) while evaluating.
    #[error("underflow in {op} (register r{reg}) at block {block}")]
    Underflow {
        /// The op.
        op: Opcode,
        /// Its register.
        reg: u8,
        /// The row's block number.
        block: u64,
    },
    /// `Div`/`Mod` by zero while evaluating.
    #[error("division by zero in {op} (register r{reg}) at block {block}")]
    DivisionByZero {
        /// The op.
        op: Opcode,
        /// Its register.
        reg: u8,
        /// The row's block number.
        block: u64,
    },
    /// A `SUM`/`AVG` accumulator above 2^256 - 1.
    #[error("overflow in {aggregate} of output {output} (\"{name}\") at block {block}")]
    SumOverflow {
        /// `SUM` or `AVG`.
        aggregate: String,
        /// Output index.
        output: usize,
        /// Output name.
        name: String,
        /// Block whose value made the sum overflow.
        block: u64,
    },
    /// A non-aggregate query selects more than [`crate::plan::MAX_RESULT_ROWS`] rows.
    #[error("too many result rows: the query selects {got} rows (the first beyond the limit at block {block}), expected at most {max}: narrow the block range or the WHERE filter, or aggregate")]
    TooManyResultRows {
        /// Rows selected.
        got: usize,
        /// The limit.
        max: usize,
        /// Block of the first row beyond the limit.
        block: u64,
    },
    /// A grouped query with more groups than [`crate::plan::MAX_GROUPS`].
    #[error("too many groups: more than {max} (the first beyond the limit at block {block}): narrow the block range or the WHERE filter")]
    TooManyGroups {
        /// The limit.
        max: usize,
        /// Block of the first row of the first group beyond the limit.
        block: u64,
    },
    /// The rows given to [`crate::CompiledQuery::evaluate`] are not exactly the query's range.
    #[error("rows do not match the block range: expected block {expected}, found {found}")]
    RowsMismatch {
        /// Expected block number (or row count description).
        expected: String,
        /// What was found.
        found: String,
    },
}

impl Error {
    /// The position in the query, for compile errors.
    pub fn position(&self) -> Option<Position> {
        use Error::*;
        match self {
            Syntax { pos, .. }
            | Unsupported { pos, .. }
            | UnknownTable { pos, .. }
            | MissingFrom { pos }
            | UnknownColumn { pos, .. }
            | TypeMismatch { pos, .. }
            | LiteralOverflow { pos, .. }
            | InvalidLiteral { pos, .. }
            | MissingParameter { pos, .. }
            | ParameterOutOfRange { pos, .. }
            | MixedAggregates { pos }
            | GroupWithoutAggregate { pos }
            | NotGrouped { pos, .. }
            | GroupKeyNotSelected { pos, .. }
            | MissingPoints { pos, .. }
            | TooManyPoints { pos, .. }
            | MissingBlockRange { pos, .. }
            | BlockRangeBound { pos, .. }
            | EmptyBlockRange { pos, .. }
            | RangeTooLong { pos, .. }
            | TooManyOps { pos, .. }
            | TooManyConstants { pos, .. }
            | TooManyOutputs { pos, .. } => Some(*pos),
            _ => None,
        }
    }

    /// The block number, for evaluation errors raised on a row.
    pub fn block(&self) -> Option<u64> {
        use Error::*;
        match self {
            Overflow { block, .. }
            | Underflow { block, .. }
            | DivisionByZero { block, .. }
            | SumOverflow { block, .. }
            | TooManyResultRows { block, .. }
            | TooManyGroups { block, .. } => Some(*block),
            _ => None,
        }
    }
}

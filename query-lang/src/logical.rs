//! SQL text → logical plan: parsing with sqlparser, validation of the dialect subset, name
//! resolution and type checking (DESIGN.md §2).
//!
//! The logical plan is already in the bytecode's vocabulary: `>`/`>=` are `<`/`<=` with swapped
//! operands, `<>` is `NOT (=)`, `BETWEEN` is `AND` of two `<=`, `IN` an `OR` chain of `=`, and
//! `IS NOT NULL` is `NOT (IS NULL)`.
//!
//! # Literals
//! - Decimal integers are `uint256` (at most 2^256 - 1, else [`Error::LiteralOverflow`]).
//! - `0x` hex literals are typed by their number of hex digits: exactly 40 digits is an `address`,
//!   exactly 64 digits a `bytes32`, any other count (1 to 63) a `uint256`; more than 64 digits
//!   overflows. So `beneficiary = 0x00000000000000000000000000000000000000aa` is well-typed but
//!   `beneficiary = 0xaa` is a type mismatch. One widening: a 64-digit literal compared
//!   (`=`, `<>`, `IN`) with a non-literal `uint256` expression is read as a uint256, so a
//!   storage slot can be written as the 32-byte word it is (`slot = 0x…`).
//! - Placeholders `$1..$n` take the value of `params[i - 1]` and the type their context requires
//!   (the other side of `=`/`<>`/`IN`, else `uint256`); a placeholder typed `address` must be
//!   below 2^160.
//! - Strings, negative numbers, decimals, `TRUE`/`FALSE`/`NULL` literals and `X'..'` are rejected.
//!
//! # Types
//! Columns have the types of [`crate::columns`]. `+ - * / %`, `< <= > >=` and `BETWEEN` take
//! `uint256`; `=`, `<>` and `IN` take operands of one type (any, `bool` included); `AND`, `OR`,
//! `NOT` and the WHERE clause take `bool`; `IS [NOT] NULL` takes any type. `COUNT` takes any type,
//! `SUM`/`AVG` take `uint256`, `MIN`/`MAX` take `uint256`, `bytes32` or `address` and compare the
//! 256-bit words (for `bytes32` that is lexicographic byte order, for `address` the numeric order
//! of its 20 bytes). A placeholder compared with a `bool` must be 0 or 1.
//!
//! # Tables and functions
//! `FROM` names one of `headers`, `receipts`, `logs`, `accounts`, `storage` (columns in
//! [`crate::columns`]); a column may be qualified by its table (`logs.topic0`).
//! - `word(data, i)` (`logs` only, `i` an integer literal `< MAX_LOG_DATA_WORDS` = 8): the
//!   `i`-th 32-byte word of the log data as a `uint256`, NULL past the end.
//! - `mapping_slot(key, base_slot)`: Solidity's slot of `mapping[key]` (keccak256 of the two
//!   32-byte words), folded to a constant at compile time, so both arguments must be constant
//!   (literals, placeholders, nested `mapping_slot`); `key` may be a `uint256`, `address` or
//!   `bytes32`. When the slot of a single-point `storage` query is written this way (up to
//!   [`crate::plan::MAX_SLOT_KEYS`] nested keys), the program also carries the base slot and the
//!   keys ([`crate::plan::Program::slot_keys`]), and the circuits recompute the slot from them.
//!
//! # Block range
//! The WHERE clause must be a conjunction (`AND` at top level, parentheses allowed) with a conjunct
//! `<block column> BETWEEN <from> AND <to>` (`number` on `headers`, `block_number` elsewhere)
//! whose bounds are integer literals or placeholders fitting in u64, `from <= to` and
//! `to - from + 1 <= MAX_RANGE_BLOCKS`. The first such conjunct becomes the range and is removed
//! from the filter; the other conjuncts, each of type `bool`, form the filter.
//!
//! # Sampling
//! A top-level conjunct `block_number % k = r` (integer literals, `k >= 2`, `r < k`) samples the
//! range: only blocks with that residue have rows, so only they are read (and fetched, for
//! state). It stays in the filter, so the result is the plain SQL meaning. "Every k-th block
//! from `a`" is `block_number % k = a % k`.
//!
//! # Points (`accounts`, `storage`)
//! Their rows are points the query names: a top-level conjunct `address = <constant>` or
//! `address IN (<constants>)`, and for `storage` also `slot = ..`/`slot IN (..)`. At each sampled
//! block there is one row per address (× slot), at most [`MAX_POINTS`]; the conjuncts stay in
//! the filter, so the program (and `query_hash`) commits to the points.
//!
//! # GROUP BY
//! `GROUP BY` takes columns (including `word(data, i)`); every key must also be a select item,
//! every plain select item must be a key, and at least one item must be an aggregate. The result
//! has one row per group (at most [`crate::plan::MAX_GROUPS`], else an evaluation error), ordered
//! by the keys.

use crate::columns::{LogColumn, MappingPath, MAX_LOG_DATA_WORDS};
use crate::error::{Error, Position, Result};
use crate::plan::{Aggregate, Opcode, Table, ValueType};
use alloy_primitives::{Address, U256};
use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    SelectItem, SetExpr, Spanned, Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Tokenizer};
use std::cell::RefCell;
use std::fmt;

/// Maximum number of blocks in a query's range (`to - from + 1`): 2^20, about 145 days of
/// mainnet blocks. Bounds the number of map jobs of a proof.
pub const MAX_RANGE_BLOCKS: u64 = 1 << 20;

/// Binary operators of the logical plan, each one opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (floor)
    Div,
    /// `%`
    Mod,
    /// `=`
    Eq,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `AND` (Kleene)
    And,
    /// `OR` (Kleene)
    Or,
}

impl BinaryOp {
    /// The opcode computing this operator.
    pub fn opcode(self) -> Opcode {
        match self {
            BinaryOp::Add => Opcode::Add,
            BinaryOp::Sub => Opcode::Sub,
            BinaryOp::Mul => Opcode::Mul,
            BinaryOp::Div => Opcode::Div,
            BinaryOp::Mod => Opcode::Mod,
            BinaryOp::Eq => Opcode::Eq,
            BinaryOp::Lt => Opcode::Lt,
            BinaryOp::Le => Opcode::Le,
            BinaryOp::And => Opcode::And,
            BinaryOp::Or => Opcode::Or,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Eq => "=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }
}

/// A column of a table: its id is the `Column` operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColumnRef {
    /// The table.
    pub table: Table,
    /// Column id (`< table.num_columns()`).
    pub id: u8,
}

impl ColumnRef {
    /// The column's SQL name (`word(data, i)` for a data word of `logs`).
    pub fn name(self) -> &'static str {
        self.table.column_name(self.id).unwrap_or("?")
    }

    fn value_type(self) -> ValueType {
        self.table.column(self.id).map_or(ValueType::Uint256, |(_, t)| t)
    }
}

/// A node of a typed expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    /// A column of the query's table.
    Column(ColumnRef),
    /// A literal or bound placeholder.
    Const(U256),
    /// A binary operator.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<TypedExpr>,
        /// Right operand.
        right: Box<TypedExpr>,
    },
    /// Kleene `NOT`.
    Not(Box<TypedExpr>),
    /// `IS NULL`.
    IsNull(Box<TypedExpr>),
}

/// A type-checked expression with the position of its source text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypedExpr {
    /// The node.
    pub kind: ExprKind,
    /// Its static type.
    pub ty: ValueType,
    /// Start of its source text.
    pub pos: Position,
    /// A placeholder whose type is still open (it adopts its context's type).
    flexible: bool,
}

impl TypedExpr {
    fn new(kind: ExprKind, ty: ValueType, pos: Position) -> Self {
        Self { kind, ty, pos, flexible: false }
    }

    fn binary(
        op: BinaryOp,
        left: TypedExpr,
        right: TypedExpr,
        ty: ValueType,
        pos: Position,
    ) -> Self {
        Self::new(ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, ty, pos)
    }

    fn not(e: TypedExpr, pos: Position) -> Self {
        Self::new(ExprKind::Not(Box::new(e)), ValueType::Bool, pos)
    }
}

impl fmt::Display for TypedExpr {
    /// SQL-like text of the desugared expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Column(c) => f.write_str(c.name()),
            ExprKind::Const(v) => match self.ty {
                ValueType::Bytes32 => write!(f, "0x{:064x}", v),
                ValueType::Address => write!(f, "0x{:040x}", v),
                _ => write!(f, "{v}"),
            },
            ExprKind::Binary { op, left, right } => write!(f, "({left} {} {right})", op.symbol()),
            ExprKind::Not(e) => write!(f, "(NOT {e})"),
            ExprKind::IsNull(e) => write!(f, "({e} IS NULL)"),
        }
    }
}

/// One select-list item of the logical plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Projection {
    /// Output column name: the alias, else the item's SQL text.
    pub name: String,
    /// Aggregate ([`Aggregate::None`] for a plain expression).
    pub aggregate: Aggregate,
    /// The expression (None for `COUNT(*)`).
    pub expr: Option<TypedExpr>,
    /// Result type.
    pub value_type: ValueType,
    /// Start of the item.
    pub pos: Position,
}

/// Sampling of the range: only blocks with `block_number % every == offset` have rows (from
/// a top-level conjunct `block_number % <every> = <offset>`, which also stays in the filter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    /// The period `k`, in blocks (`>= 2`).
    pub every: u64,
    /// The residue (`< every`).
    pub offset: u64,
}

impl Step {
    /// Whether block `n` is sampled.
    pub fn includes(self, n: u64) -> bool {
        n % self.every == self.offset
    }
}

/// The points of an `accounts` or `storage` query: its rows at each sampled block are every
/// `(address, slot)` pair of `addresses × slots` (DESIGN.md §2: point rows).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Points {
    /// The addresses named by `address = ..` or `address IN (..)`, in query order.
    pub addresses: Vec<Address>,
    /// The slots named by `slot = ..` or `slot IN (..)` (`storage` only; empty for
    /// `accounts`), in query order.
    pub slots: Vec<U256>,
    /// For each of `slots`, the mapping path of a `mapping_slot(..)` call of the query whose
    /// value it is (matched by value: a number equal to such a call's slot gets its path), or
    /// `None`.
    pub slot_paths: Vec<Option<MappingPath>>,
}

impl Points {
    /// Number of rows per sampled block.
    pub fn per_block(&self) -> usize {
        self.addresses.len() * self.slots.len().max(1)
    }
}

/// Maximum number of points (rows per block) of an `accounts`/`storage` query.
pub const MAX_POINTS: usize = 16;

/// The logical plan of a query: scan of a table over a block range, filter, projection or
/// aggregation (optionally grouped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicalPlan {
    /// Table scanned.
    pub table: Table,
    /// First block of the range (inclusive).
    pub from_block: u64,
    /// Last block of the range (inclusive).
    pub to_block: u64,
    /// The WHERE predicate without the range conjunct (type `bool`), if any.
    pub predicate: Option<TypedExpr>,
    /// The select list, 1 to [`crate::plan::MAX_OUTPUTS`] items.
    pub projection: Vec<Projection>,
    /// Whether some item is an aggregate (one result row, or one per group).
    pub aggregate: bool,
    /// `GROUP BY` keys (columns, each also a plain select item), empty without GROUP BY.
    pub group_by: Vec<ColumnRef>,
    /// Sampling, when the WHERE clause has a `block_number % k = r` conjunct.
    pub step: Option<Step>,
    /// Points of an `accounts`/`storage` query (empty for the other tables).
    pub points: Points,
}

impl LogicalPlan {
    /// Whether block `n` of the range has rows (always, unless sampled).
    pub fn samples(&self, n: u64) -> bool {
        self.step.is_none_or(|s| s.includes(n))
    }

    /// The constants column `c` is pinned to by the first top-level conjunct of the filter that
    /// is `c = <constant>` or `c IN (<constants>)` (deduplicated, in query order).
    pub fn pinned(&self, c: ColumnRef) -> Option<Vec<U256>> {
        let mut conjuncts = Vec::new();
        if let Some(p) = &self.predicate {
            top_level_and(p, &mut conjuncts);
        }
        conjuncts.into_iter().find_map(|e| constants_of(e, c))
    }
}

impl LogicalPlan {
    /// The filter's top-level conjuncts, in query order, without the ones a single-point
    /// `accounts`/`storage` program encodes in its [`crate::plan::PointsPrelude`]: the
    /// sampling conjunct, the `address = ..` conjunct and the `slot = ..` conjunct (the first
    /// of each, as [`LogicalPlan::step`] and [`LogicalPlan::points`] read them). `None` unless
    /// the query names exactly one point.
    pub fn conjuncts_after_prelude(&self) -> Option<Vec<&TypedExpr>> {
        if !self.table.has_points() || self.points.per_block() != 1 {
            return None;
        }
        let mut conjuncts = Vec::new();
        if let Some(p) = &self.predicate {
            top_level_and(p, &mut conjuncts);
        }
        let block = ColumnRef { table: self.table, id: 0 };
        let step =
            self.step.and_then(|_| conjuncts.iter().position(|e| step_of(e, block).is_some()));
        let mut remove: Vec<usize> = step.into_iter().collect();
        let mut pinned_columns = vec!["address"];
        if self.table == Table::Storage {
            pinned_columns.push("slot");
        }
        for name in pinned_columns {
            let c = ColumnRef { table: self.table, id: self.table.column_id(name)? };
            remove.push(conjuncts.iter().position(|e| constants_of(e, c).is_some())?);
        }
        Some(
            conjuncts
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !remove.contains(i))
                .map(|(_, e)| e)
                .collect(),
        )
    }
}

impl fmt::Display for LogicalPlan {
    /// Indented tree: `Aggregate`/`Projection`, `Filter`, `Scan`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .projection
            .iter()
            .map(|p| match (&p.aggregate, &p.expr) {
                (Aggregate::None, Some(e)) => format!("{e} AS \"{}\"", p.name),
                (Aggregate::CountStar, _) | (_, None) => format!("COUNT(*) AS \"{}\"", p.name),
                (a, Some(e)) => format!("{a}({e}) AS \"{}\"", p.name),
            })
            .collect();
        let head = if self.aggregate { "Aggregate" } else { "Projection" };
        writeln!(f, "{head}: {}", items.join(", "))?;
        if !self.group_by.is_empty() {
            let keys: Vec<&str> = self.group_by.iter().map(|c| c.name()).collect();
            writeln!(f, "  Group by: {}", keys.join(", "))?;
        }
        let mut indent = "  ".to_string();
        if let Some(p) = &self.predicate {
            writeln!(f, "{indent}Filter: {p}")?;
            indent.push_str("  ");
        }
        write!(
            f,
            "{indent}Scan: {}, blocks {}..={} ({} blocks)",
            self.table.name(),
            self.from_block,
            self.to_block,
            self.to_block - self.from_block + 1
        )?;
        if let Some(s) = self.step {
            write!(f, ", every {} blocks (block_number % {} = {})", s.every, s.every, s.offset)?;
        }
        writeln!(f)?;
        if self.table.has_points() {
            let addrs: Vec<String> = self.points.addresses.iter().map(|a| a.to_string()).collect();
            writeln!(f, "{indent}  Points: address IN ({})", addrs.join(", "))?;
            if !self.points.slots.is_empty() {
                let slots: Vec<String> =
                    self.points.slots.iter().map(|v| format!("0x{v:064x}")).collect();
                writeln!(f, "{indent}          slot IN ({})", slots.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Parses, validates and type-checks `sql`, binding placeholders `$i` to `params[i - 1]`.
///
/// Errors: every compile error of [`Error`] with its position (see the module doc for the
/// dialect, literal and range rules).
pub fn logical_plan(sql: &str, params: &[U256]) -> Result<LogicalPlan> {
    let dialect = GenericDialect {};
    let tokens =
        Tokenizer::new(&dialect, sql).tokenize_with_location().map_err(|e| Error::Syntax {
            pos: Position::from_location(e.location).unwrap_or(Position::START),
            message: e.message,
        })?;
    let significant: Vec<&TokenWithSpan> =
        tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let start = significant
        .first()
        .and_then(|t| Position::from_location(t.span.start))
        .unwrap_or(Position::START);
    let end = significant
        .last()
        .and_then(|t| Position::from_location(t.span.end))
        .unwrap_or(Position::START);
    let statements = Parser::new(&dialect)
        .with_tokens_with_locations(tokens.clone())
        .parse_statements()
        .map_err(|e| syntax_error(e, end))?;
    let stmt = match statements.as_slice() {
        [] => {
            return Err(Error::Syntax {
                pos: start,
                message: "empty query: expected a SELECT statement".into(),
            })
        }
        [s] => s,
        [_, ..] => {
            let pos = significant
                .iter()
                .find(|t| t.token == Token::SemiColon)
                .and_then(|t| Position::from_location(t.span.start))
                .unwrap_or(start);
            return Err(unsupported(pos, "multiple statements", "a single SELECT statement"));
        }
    };
    if !matches!(stmt, Statement::Query(_)) {
        let first = stmt.to_string().split_whitespace().next().unwrap_or("").to_uppercase();
        return Err(unsupported(start, format!("{first} statement"), "a SELECT statement"));
    }
    reject_keywords(&significant)?;
    let mappings = RefCell::new(Vec::new());
    let ctx = Ctx { sql, params, start, end, table: Table::Headers, mappings: &mappings };
    ctx.statement(stmt)
}

/// Keywords that start a construct outside the dialect, found by scanning the tokens (which
/// gives exact positions). Quoted identifiers are not keywords.
fn reject_keywords(tokens: &[&TokenWithSpan]) -> Result<()> {
    for t in tokens {
        let Token::Word(w) = &t.token else { continue };
        if w.quote_style.is_some() {
            continue;
        }
        let construct = match w.keyword {
            Keyword::ORDER => "ORDER BY",
            Keyword::LIMIT => "LIMIT",
            Keyword::OFFSET => "OFFSET",
            Keyword::FETCH => "FETCH",
            Keyword::HAVING => "HAVING",
            Keyword::JOIN
            | Keyword::INNER
            | Keyword::LEFT
            | Keyword::RIGHT
            | Keyword::FULL
            | Keyword::CROSS
            | Keyword::NATURAL => "JOIN",
            Keyword::DISTINCT => "DISTINCT",
            Keyword::UNION => "UNION",
            Keyword::INTERSECT => "INTERSECT",
            Keyword::EXCEPT => "EXCEPT",
            Keyword::WITH => "WITH",
            Keyword::OVER | Keyword::WINDOW | Keyword::QUALIFY => "window function",
            Keyword::CASE => "CASE",
            Keyword::CAST => "CAST",
            Keyword::LIKE | Keyword::ILIKE => "LIKE",
            Keyword::EXISTS => "EXISTS (subquery)",
            Keyword::INTO => "SELECT INTO",
            Keyword::TOP => "TOP",
            _ => continue,
        };
        let pos = Position::from_location(t.span.start).unwrap_or(Position::START);
        return Err(unsupported(pos, construct, DIALECT));
    }
    Ok(())
}

/// Summary of the dialect, used as the "expected" text of unsupported constructs.
const DIALECT: &str = "SELECT <aggregates or expressions> FROM <headers|receipts|logs|accounts|storage> WHERE <number|block_number> BETWEEN <from> AND <to> [AND <predicate>] [GROUP BY <columns>]";

/// The tables, for error messages.
const TABLES: &str = "one of headers, receipts, logs, accounts, storage";

fn unsupported(pos: Position, construct: impl Into<String>, expected: impl Into<String>) -> Error {
    Error::Unsupported { pos, construct: construct.into(), expected: expected.into() }
}

/// Converts a sqlparser error, taking the position from its " at Line: L, Column: C" suffix (the
/// end of the query when there is none, e.g. at end of input).
fn syntax_error(e: ParserError, end: Position) -> Error {
    let msg = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "expression nested too deeply".to_string(),
    };
    if let Some(i) = msg.rfind(" at Line: ") {
        let loc = &msg[i + " at Line: ".len()..];
        if let Some((l, c)) = loc.split_once(", Column: ") {
            if let (Ok(line), Ok(column)) = (l.trim().parse(), c.trim().parse()) {
                return Error::Syntax {
                    pos: Position::new(line, column),
                    message: msg[..i].to_string(),
                };
            }
        }
    }
    Error::Syntax { pos: end, message: msg }
}

fn aggregate_by_name(name: &str) -> Option<Aggregate> {
    Some(match name.to_ascii_uppercase().as_str() {
        "COUNT" => Aggregate::Count,
        "SUM" => Aggregate::Sum,
        "AVG" => Aggregate::Avg,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    /// The table of FROM (`headers` until FROM is resolved).
    table: Table,
    sql: &'a str,
    params: &'a [U256],
    /// Start of the query (first token).
    start: Position,
    /// End of the query (after the last token).
    end: Position,
    /// Every `mapping_slot(..)` call folded so far, with its path (nested calls extend their
    /// base's path), so the points can say which slot was written as which mapping entry.
    mappings: &'a RefCell<Vec<MappingPath>>,
}

impl Ctx<'_> {
    fn pos(&self, span: Span) -> Position {
        Position::from_location(span.start).unwrap_or(self.start)
    }

    /// The source character at a position, if any.
    fn char_at(&self, pos: Position) -> Option<char> {
        self.sql
            .lines()
            .nth(pos.line.checked_sub(1)? as usize)?
            .chars()
            .nth(pos.column.checked_sub(1)? as usize)
    }

    /// sqlparser spans a unary operator's expression from its operand: step back over
    /// whitespace on the same line to the operator `op`, if it is there.
    fn operator_pos(&self, pos: Position, op: char) -> Position {
        let Some(line) = self.sql.lines().nth(pos.line.saturating_sub(1) as usize) else {
            return pos;
        };
        let before: Vec<char> = line.chars().take(pos.column.saturating_sub(1) as usize).collect();
        match before.iter().rposition(|c| !c.is_whitespace()) {
            Some(i) if before[i] == op => Position::new(pos.line, i as u64 + 1),
            _ => pos,
        }
    }

    fn statement(&self, stmt: &Statement) -> Result<LogicalPlan> {
        let Statement::Query(query) = stmt else {
            let first = stmt.to_string().split_whitespace().next().unwrap_or("").to_uppercase();
            return Err(unsupported(
                self.start,
                format!("{first} statement"),
                "a SELECT statement",
            ));
        };
        let q = query.as_ref();
        if q.with.is_some()
            || q.order_by.is_some()
            || q.limit_clause.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(unsupported(self.start, "query clause", DIALECT));
        }
        let SetExpr::Select(select) = q.body.as_ref() else {
            return Err(unsupported(self.pos(q.body.span()), "query body", "a plain SELECT"));
        };
        let s = select.as_ref();
        let select_pos = self.pos(s.select_token.0.span);
        if s.distinct.is_some()
            || s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.having.is_some()
            || !s.named_window.is_empty()
            || s.qualify.is_some()
            || s.exclude.is_some()
            || s.value_table_mode.is_some()
            || !s.optimizer_hints.is_empty()
            || s.select_modifiers.is_some()
            || !matches!(s.flavor, ast::SelectFlavor::Standard)
        {
            return Err(unsupported(select_pos, "SELECT modifier or clause", DIALECT));
        }

        // FROM <table>
        let table = match s.from.as_slice() {
            [] => {
                let end_of_items = s.projection.last().map(|i| i.span().end);
                let pos = end_of_items.and_then(Position::from_location).unwrap_or(self.end);
                return Err(Error::MissingFrom { pos });
            }
            [twj] => {
                if let Some(j) = twj.joins.first() {
                    return Err(unsupported(self.pos(j.relation.span()), "JOIN", DIALECT));
                }
                match &twj.relation {
                    TableFactor::Table { name, alias, args, .. } => {
                        let pos = self.pos(name.span());
                        if args.is_some() {
                            return Err(unsupported(pos, "table function", TABLES));
                        }
                        let text = name.to_string();
                        let table = Table::from_name(&text)
                            .ok_or(Error::UnknownTable { pos, name: text })?;
                        if let Some(a) = alias {
                            return Err(unsupported(
                                self.pos(a.name.span),
                                "table alias",
                                format!("FROM {}", table.name()),
                            ));
                        }
                        table
                    }
                    other => {
                        return Err(unsupported(
                            self.pos(other.span()),
                            "subquery or table expression in FROM",
                            format!("FROM {TABLES}"),
                        ))
                    }
                }
            }
            [_, second, ..] => {
                return Err(unsupported(
                    self.pos(second.relation.span()),
                    "multiple tables (implicit JOIN)",
                    "FROM <one table>",
                ))
            }
        };
        Ctx { table, ..*self }.select(s)
    }

    /// The rest of a SELECT once its table is known.
    fn select(&self, s: &ast::Select) -> Result<LogicalPlan> {
        let table = self.table;
        // Select list.
        let mut projection = Vec::with_capacity(s.projection.len());
        for item in &s.projection {
            projection.push(self.select_item(item)?);
        }
        if projection.len() > crate::plan::MAX_OUTPUTS {
            return Err(Error::TooManyOutputs {
                pos: self.start,
                got: projection.len(),
                max: crate::plan::MAX_OUTPUTS,
            });
        }
        let group_by = self.group_by(&s.group_by)?;
        let aggregate = projection.iter().any(|p| p.aggregate != Aggregate::None);
        if group_by.is_empty() {
            let first = projection[0].aggregate != Aggregate::None;
            if let Some(p) = projection.iter().find(|p| (p.aggregate != Aggregate::None) != first) {
                return Err(Error::MixedAggregates { pos: p.pos });
            }
        } else {
            self.check_grouping(&projection, &group_by, aggregate)?;
        }

        // WHERE: range conjunct + filter.
        let block = self.block_column();
        let Some(selection) = &s.selection else {
            return Err(Error::MissingBlockRange { pos: self.end, column: block.name() });
        };
        let mut conjuncts = Vec::new();
        flatten_and(selection, &mut conjuncts);
        let range_idx = conjuncts.iter().position(|c| self.is_range(c));
        let Some(range_idx) = range_idx else {
            // An unknown column or a type error is the better message (`number` on `logs`).
            for c in &conjuncts {
                self.expect(self.expr(c)?, &[ValueType::Bool])?;
            }
            return Err(Error::MissingBlockRange {
                pos: self.pos(selection.span()),
                column: block.name(),
            });
        };
        let (from_block, to_block) = self.range(conjuncts.remove(range_idx))?;
        let mut typed = Vec::with_capacity(conjuncts.len());
        for c in conjuncts {
            typed.push(self.expect(self.expr(c)?, &[ValueType::Bool])?);
        }
        let step = typed.iter().find_map(|c| step_of(c, block));
        let points =
            if table.has_points() { self.points(&typed, selection)? } else { Points::default() };
        let predicate = typed.into_iter().reduce(|p, e| {
            let pos = p.pos;
            TypedExpr::binary(BinaryOp::And, p, e, ValueType::Bool, pos)
        });
        Ok(LogicalPlan {
            table,
            from_block,
            to_block,
            predicate,
            projection,
            aggregate,
            group_by: group_by.into_iter().map(|(c, _)| c).collect(),
            step,
            points,
        })
    }

    /// The table's block-number column (column 0: `number` or `block_number`).
    fn block_column(&self) -> ColumnRef {
        ColumnRef { table: self.table, id: 0 }
    }

    /// The GROUP BY keys: columns of the table (including `word(data, i)`), at most
    /// `MAX_OUTPUTS - 1` so that an aggregate fits beside them.
    fn group_by(&self, g: &GroupByExpr) -> Result<Vec<(ColumnRef, Position)>> {
        let expected = "GROUP BY <column>[, <column> ...]";
        let (exprs, modifiers) = match g {
            GroupByExpr::Expressions(e, m) => (e, m),
            GroupByExpr::All(_) => return Err(unsupported(self.start, "GROUP BY ALL", expected)),
        };
        if !modifiers.is_empty() {
            return Err(unsupported(self.start, "GROUP BY modifier", expected));
        }
        let mut keys = Vec::new();
        for e in exprs {
            let pos = self.pos(e.span());
            let key = self.expr(e)?;
            let ExprKind::Column(c) = key.kind else {
                return Err(unsupported(pos, format!("GROUP BY expression {e}"), expected));
            };
            if !keys.iter().any(|(k, _)| *k == c) {
                keys.push((c, pos));
            }
        }
        if keys.len() >= crate::plan::MAX_OUTPUTS {
            return Err(Error::TooManyOutputs {
                pos: self.start,
                got: keys.len() + 1,
                max: crate::plan::MAX_OUTPUTS,
            });
        }
        Ok(keys)
    }

    /// SQL's grouping rule, made strict so every result row names its group: each plain select
    /// item is a group key, each group key is selected, and something is aggregated.
    fn check_grouping(
        &self,
        projection: &[Projection],
        keys: &[(ColumnRef, Position)],
        aggregate: bool,
    ) -> Result<()> {
        if !aggregate {
            return Err(Error::GroupWithoutAggregate { pos: projection[0].pos });
        }
        let plain_column = |p: &Projection| match (&p.aggregate, &p.expr) {
            (Aggregate::None, Some(TypedExpr { kind: ExprKind::Column(c), .. })) => Some(*c),
            _ => None,
        };
        for p in projection.iter().filter(|p| p.aggregate == Aggregate::None) {
            if !plain_column(p).is_some_and(|c| keys.iter().any(|(k, _)| *k == c)) {
                return Err(Error::NotGrouped { pos: p.pos, item: p.name.clone() });
            }
        }
        for (k, pos) in keys {
            if !projection.iter().any(|p| plain_column(p) == Some(*k)) {
                return Err(Error::GroupKeyNotSelected { pos: *pos, key: k.name().into() });
            }
        }
        Ok(())
    }

    /// The points an `accounts`/`storage` query names: the first top-level conjunct that is
    /// `address = <constant>` or `address IN (<constants>)` (and the same for `slot`).
    fn points(&self, conjuncts: &[TypedExpr], selection: &Expr) -> Result<Points> {
        let column = |name: &str| ColumnRef {
            table: self.table,
            id: self.table.column_id(name).expect("accounts/storage column"),
        };
        let find = |name: &'static str| -> Result<Vec<U256>> {
            let c = column(name);
            conjuncts.iter().find_map(|e| constants_of(e, c)).ok_or(Error::MissingPoints {
                pos: self.pos(selection.span()),
                table: self.table.name(),
                column: name,
            })
        };
        let addresses: Vec<Address> = find("address")?
            .into_iter()
            .map(|v| Address::from_word(v.to_be_bytes::<32>().into()))
            .collect();
        let slots = if self.table == Table::Storage { find("slot")? } else { Vec::new() };
        let mappings = self.mappings.borrow();
        let slot_paths =
            slots.iter().map(|s| mappings.iter().find(|p| p.slot() == *s).cloned()).collect();
        let points = Points { addresses, slots, slot_paths };
        if points.per_block() > MAX_POINTS {
            return Err(Error::TooManyPoints {
                pos: self.pos(selection.span()),
                got: points.per_block(),
                max: MAX_POINTS,
            });
        }
        Ok(points)
    }

    /// Whether a conjunct is `<block column> BETWEEN .. AND ..` (not negated).
    fn is_range(&self, e: &Expr) -> bool {
        let Expr::Between { expr, negated: false, .. } = e else { return false };
        matches!(self.column_of(unnest(expr)), Some(Ok(c)) if c == self.block_column())
    }

    /// Extracts and checks the block range from a `number BETWEEN a AND b` conjunct.
    fn range(&self, e: &Expr) -> Result<(u64, u64)> {
        let Expr::Between { low, high, .. } = e else { unreachable!("checked by is_range") };
        let pos = self.pos(e.span());
        let bound = |b: &Expr| -> Result<u64> {
            let b = unnest(b);
            let bpos = self.pos(b.span());
            let Expr::Value(v) = b else {
                return Err(Error::BlockRangeBound { pos: bpos, found: b.to_string() });
            };
            let lit = self.expect(self.literal(&v.value, bpos)?, &[ValueType::Uint256])?;
            let ExprKind::Const(value) = lit.kind else { unreachable!("literal is a Const") };
            u64::try_from(value)
                .map_err(|_| Error::BlockRangeBound { pos: bpos, found: value.to_string() })
        };
        let (from, to) = (bound(low)?, bound(high)?);
        if from > to {
            return Err(Error::EmptyBlockRange { pos, from, to });
        }
        let blocks = u128::from(to - from) + 1;
        if blocks > u128::from(MAX_RANGE_BLOCKS) {
            return Err(Error::RangeTooLong { pos, blocks, max: MAX_RANGE_BLOCKS });
        }
        Ok((from, to))
    }

    fn select_item(&self, item: &SelectItem) -> Result<Projection> {
        let (expr, alias) = match item {
            SelectItem::UnnamedExpr(e) => (e, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
            other => {
                return Err(unsupported(
                    self.pos(other.span()),
                    format!("select item {other}"),
                    format!(
                        "at most {} expressions or aggregates, each with an optional AS alias",
                        crate::plan::MAX_OUTPUTS
                    ),
                ))
            }
        };
        let pos = self.pos(expr.span());
        let name = alias.unwrap_or_else(|| expr.to_string());
        if let Expr::Function(f) = expr {
            let fname = f.name.to_string();
            if let Some(agg) = aggregate_by_name(&fname) {
                let arg = self.aggregate_arg(f, pos)?;
                let Some(arg) = arg else {
                    if agg != Aggregate::Count {
                        return Err(unsupported(
                            pos,
                            format!("{fname}(*)"),
                            format!("{fname}(<expression>)"),
                        ));
                    }
                    return Ok(Projection {
                        name,
                        aggregate: Aggregate::CountStar,
                        expr: None,
                        value_type: ValueType::Uint256,
                        pos,
                    });
                };
                let e = self.expr(arg)?;
                let (e, value_type) = match agg {
                    Aggregate::Count => {
                        let e = self.settle(e)?;
                        (e, ValueType::Uint256)
                    }
                    Aggregate::Sum | Aggregate::Avg => {
                        (self.expect(e, &[ValueType::Uint256])?, ValueType::Uint256)
                    }
                    _ => {
                        let e = self.expect(
                            e,
                            &[ValueType::Uint256, ValueType::Bytes32, ValueType::Address],
                        )?;
                        let ty = e.ty;
                        (e, ty)
                    }
                };
                return Ok(Projection { name, aggregate: agg, expr: Some(e), value_type, pos });
            }
        }
        let e = self.settle(self.expr(expr)?)?;
        let value_type = e.ty;
        Ok(Projection { name, aggregate: Aggregate::None, expr: Some(e), value_type, pos })
    }

    /// The single argument of an aggregate call; `None` for `*`.
    fn aggregate_arg<'e>(&self, f: &'e ast::Function, pos: Position) -> Result<Option<&'e Expr>> {
        let expected = "an aggregate with one argument, e.g. SUM(gas_used)";
        match self.call_args(f, pos, expected)?.as_slice() {
            [arg] => Ok(*arg),
            _ => Err(unsupported(pos, format!("call {f}"), expected)),
        }
    }

    /// Resolves a column reference (`col` or `<table>.col`); `None` if `e` is not an
    /// identifier.
    fn column_of(&self, e: &Expr) -> Option<Result<ColumnRef>> {
        let table = self.table;
        let ident = match e {
            Expr::Identifier(i) => i,
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [t, c] if t.value.eq_ignore_ascii_case(table.name()) => c,
                _ => {
                    return Some(Err(unsupported(
                        self.pos(e.span()),
                        format!("qualified name {e}"),
                        format!("a column of {}", table.name()),
                    )))
                }
            },
            _ => return None,
        };
        let found = table.column_id(&ident.value).map(|id| ColumnRef { table, id });
        Some(found.ok_or_else(|| {
            let hint = if table == Table::Logs && ident.value.eq_ignore_ascii_case("data") {
                " (read data with word(data, i))"
            } else {
                ""
            };
            Error::UnknownColumn {
                pos: self.pos(ident.span),
                name: ident.value.clone(),
                expected: format!("{}{hint}", table.columns_list()),
                table: table.name(),
            }
        }))
    }

    /// `word(data, i)` (logs) and `mapping_slot(key, base_slot)`; `None` for other names.
    fn scalar_function(&self, f: &ast::Function, pos: Position) -> Option<Result<TypedExpr>> {
        let name = f.name.to_string();
        if name.eq_ignore_ascii_case("word") {
            return Some(self.word(f, pos));
        }
        if name.eq_ignore_ascii_case("mapping_slot") {
            return Some(self.mapping_slot(f, pos));
        }
        None
    }

    /// `word(data, i)`: the `logs` column of data word `i < MAX_LOG_DATA_WORDS`.
    fn word(&self, f: &ast::Function, pos: Position) -> Result<TypedExpr> {
        let expected = format!(
            "word(data, <i>) with an integer literal i < {MAX_LOG_DATA_WORDS}, on table logs"
        );
        if self.table != Table::Logs {
            return Err(unsupported(
                pos,
                format!("word() on table {}", self.table.name()),
                expected,
            ));
        }
        let args = self.call_args(f, pos, &expected)?;
        let [Some(data), Some(index)] = args.as_slice() else {
            return Err(unsupported(pos, format!("call {f}"), expected));
        };
        if !matches!(unnest(data), Expr::Identifier(i) if i.value.eq_ignore_ascii_case("data")) {
            return Err(unsupported(self.pos(data.span()), format!("word({data}, ..)"), expected));
        }
        let ipos = self.pos(index.span());
        let i = match unnest(index) {
            Expr::Value(v) => match &v.value {
                Value::Number(n, false) => n.parse::<usize>().ok(),
                _ => None,
            },
            _ => None,
        };
        let Some(i) = i.filter(|&i| i < MAX_LOG_DATA_WORDS) else {
            return Err(Error::InvalidLiteral { pos: ipos, literal: index.to_string(), expected });
        };
        let c = ColumnRef { table: Table::Logs, id: LogColumn::Word0 as u8 + i as u8 };
        Ok(TypedExpr::new(ExprKind::Column(c), ValueType::Uint256, pos))
    }

    /// `mapping_slot(key, base_slot)`, folded to its constant (both arguments must be constant:
    /// literals, placeholders or nested `mapping_slot` calls).
    fn mapping_slot(&self, f: &ast::Function, pos: Position) -> Result<TypedExpr> {
        let expected = "mapping_slot(<key>, <base slot>) with constant arguments";
        let args = self.call_args(f, pos, expected)?;
        let [Some(key), Some(base)] = args.as_slice() else {
            return Err(unsupported(pos, format!("call {f}"), expected));
        };
        let constant = |e: &Expr, allowed: &[ValueType]| -> Result<U256> {
            let t = self.expect(self.expr(e)?, allowed)?;
            match t.kind {
                ExprKind::Const(v) => Ok(v),
                _ => Err(unsupported(t.pos, format!("non-constant argument {e}"), expected)),
            }
        };
        let key = constant(key, &[ValueType::Uint256, ValueType::Address, ValueType::Bytes32])?;
        let base = constant(base, &[ValueType::Uint256])?;
        let mut mappings = self.mappings.borrow_mut();
        let mut path = mappings
            .iter()
            .find(|p| p.slot() == base)
            .cloned()
            .unwrap_or(MappingPath { base, keys: Vec::new() });
        path.keys.push(key);
        let slot = path.slot();
        mappings.push(path);
        Ok(TypedExpr::new(ExprKind::Const(slot), ValueType::Uint256, pos))
    }

    /// The arguments of a plain call (no DISTINCT, FILTER, OVER, ...); `None` stands for `*`.
    fn call_args<'e>(
        &self,
        f: &'e ast::Function,
        pos: Position,
        expected: &str,
    ) -> Result<Vec<Option<&'e Expr>>> {
        let plain = !f.uses_odbc_syntax
            && matches!(f.parameters, FunctionArguments::None)
            && f.filter.is_none()
            && f.null_treatment.is_none()
            && f.over.is_none()
            && f.within_group.is_empty();
        let bad = || unsupported(pos, format!("call {f}"), expected);
        let FunctionArguments::List(list) = &f.args else { return Err(bad()) };
        if !plain || list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
            return Err(bad());
        }
        list.args
            .iter()
            .map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => Ok(None),
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(Some(e)),
                _ => Err(bad()),
            })
            .collect()
    }

    /// Lowers and type-checks an expression (no aggregates).
    fn expr(&self, e: &Expr) -> Result<TypedExpr> {
        let pos = self.pos(e.span());
        if let Some(c) = self.column_of(e) {
            let c = c?;
            return Ok(TypedExpr::new(ExprKind::Column(c), c.value_type(), pos));
        }
        if let Expr::Function(f) = e {
            if let Some(r) = self.scalar_function(f, pos) {
                return r;
            }
        }
        use ValueType::*;
        match e {
            Expr::Nested(inner) => self.expr(inner),
            Expr::Value(v) => self.literal(&v.value, pos),
            Expr::BinaryOp { left, op, right } => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                let arith = |op: BinaryOp| -> Result<TypedExpr> {
                    let (l, r) =
                        (self.expect(l.clone(), &[Uint256])?, self.expect(r.clone(), &[Uint256])?);
                    Ok(TypedExpr::binary(op, l, r, Uint256, pos))
                };
                let order = |op: BinaryOp, swap: bool| -> Result<TypedExpr> {
                    let (l, r) =
                        (self.expect(l.clone(), &[Uint256])?, self.expect(r.clone(), &[Uint256])?);
                    let (a, b) = if swap { (r, l) } else { (l, r) };
                    Ok(TypedExpr::binary(op, a, b, Bool, pos))
                };
                match op {
                    BinaryOperator::Plus => arith(BinaryOp::Add),
                    BinaryOperator::Minus => arith(BinaryOp::Sub),
                    BinaryOperator::Multiply => arith(BinaryOp::Mul),
                    BinaryOperator::Divide => arith(BinaryOp::Div),
                    BinaryOperator::Modulo => arith(BinaryOp::Mod),
                    BinaryOperator::Lt => order(BinaryOp::Lt, false),
                    BinaryOperator::LtEq => order(BinaryOp::Le, false),
                    BinaryOperator::Gt => order(BinaryOp::Lt, true),
                    BinaryOperator::GtEq => order(BinaryOp::Le, true),
                    BinaryOperator::Eq | BinaryOperator::NotEq => {
                        let mut v = self.unify(vec![l, r])?;
                        let r = v.pop().expect("two operands");
                        let l = v.pop().expect("two operands");
                        let eq = TypedExpr::binary(BinaryOp::Eq, l, r, Bool, pos);
                        Ok(if *op == BinaryOperator::Eq { eq } else { TypedExpr::not(eq, pos) })
                    }
                    BinaryOperator::And | BinaryOperator::Or => {
                        let (l, r) = (self.expect(l, &[Bool])?, self.expect(r, &[Bool])?);
                        let op =
                            if *op == BinaryOperator::And { BinaryOp::And } else { BinaryOp::Or };
                        Ok(TypedExpr::binary(op, l, r, Bool, pos))
                    }
                    other => Err(unsupported(
                        pos,
                        format!("operator {other}"),
                        "one of + - * / % = <> < <= > >= AND OR",
                    )),
                }
            }
            Expr::UnaryOp { op: UnaryOperator::Not, expr } => {
                let x = self.expect(self.expr(expr)?, &[Bool])?;
                Ok(TypedExpr::not(x, pos))
            }
            Expr::UnaryOp { op: UnaryOperator::Minus, .. } => Err(unsupported(
                self.operator_pos(pos, '-'),
                "negative number",
                "unsigned (uint256) values only",
            )),
            Expr::UnaryOp { op, .. } => {
                Err(unsupported(pos, format!("unary operator {op}"), "NOT"))
            }
            Expr::Between { expr, negated, low, high } => {
                let x = self.expect(self.expr(expr)?, &[Uint256])?;
                let lo = self.expect(self.expr(low)?, &[Uint256])?;
                let hi = self.expect(self.expr(high)?, &[Uint256])?;
                let lo_le = TypedExpr::binary(BinaryOp::Le, lo, x.clone(), Bool, pos);
                let le_hi = TypedExpr::binary(BinaryOp::Le, x, hi, Bool, pos);
                let both = TypedExpr::binary(BinaryOp::And, lo_le, le_hi, Bool, pos);
                Ok(if *negated { TypedExpr::not(both, pos) } else { both })
            }
            Expr::InList { expr, list, negated } => {
                let mut all = vec![self.expr(expr)?];
                for item in list {
                    all.push(self.expr(item)?);
                }
                let mut all = self.unify(all)?.into_iter();
                let x = all.next().expect("IN operand");
                let mut chain: Option<TypedExpr> = None;
                for item in all {
                    let eq = TypedExpr::binary(BinaryOp::Eq, x.clone(), item, Bool, pos);
                    chain = Some(match chain {
                        None => eq,
                        Some(c) => TypedExpr::binary(BinaryOp::Or, c, eq, Bool, pos),
                    });
                }
                let chain =
                    chain.ok_or_else(|| unsupported(pos, "empty IN list", "IN (<value>, ...)"))?;
                Ok(if *negated { TypedExpr::not(chain, pos) } else { chain })
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) => {
                let x = self.settle(self.expr(x)?)?;
                let is_null = TypedExpr::new(ExprKind::IsNull(Box::new(x)), Bool, pos);
                Ok(if matches!(e, Expr::IsNull(_)) {
                    is_null
                } else {
                    TypedExpr::not(is_null, pos)
                })
            }
            Expr::Function(f) => {
                let name = f.name.to_string();
                if aggregate_by_name(&name).is_some() {
                    Err(unsupported(
                        pos,
                        format!("aggregate {} inside an expression or WHERE", name.to_uppercase()),
                        "aggregates only as whole select items, e.g. SELECT SUM(gas_used)",
                    ))
                } else {
                    Err(unsupported(
                        pos,
                        format!("function {name}"),
                        "one of the aggregates COUNT, SUM, AVG, MIN, MAX, or word(data, i) (logs), mapping_slot(key, base_slot)",
                    ))
                }
            }
            Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
                Err(unsupported(pos, "subquery", DIALECT))
            }
            other => Err(unsupported(pos, format!("expression {other}"), DIALECT)),
        }
    }

    /// Lowers a literal value.
    fn literal(&self, v: &Value, pos: Position) -> Result<TypedExpr> {
        let konst = |value: U256, ty: ValueType| TypedExpr::new(ExprKind::Const(value), ty, pos);
        match v {
            Value::Number(n, long) => {
                let text = n.to_string();
                if *long || text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::InvalidLiteral {
                        pos,
                        literal: text,
                        expected: "an unsigned integer (decimal digits) or a 0x hex literal".into(),
                    });
                }
                let value = U256::from_str_radix(&text, 10).map_err(|_| Error::LiteralOverflow { pos, literal: text })?;
                Ok(konst(value, ValueType::Uint256))
            }
            Value::HexStringLiteral(digits) => {
                let text = format!("0x{digits}");
                if self.char_at(pos) != Some('0') {
                    return Err(unsupported(pos, "hex string X'..'", "a 0x hex literal"));
                }
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::InvalidLiteral { pos, literal: text, expected: "0x followed by hex digits".into() });
                }
                if digits.len() > 64 {
                    return Err(Error::LiteralOverflow { pos, literal: text });
                }
                let value = U256::from_str_radix(digits, 16).map_err(|_| Error::LiteralOverflow { pos, literal: text })?;
                let ty = match digits.len() {
                    40 => ValueType::Address,
                    64 => ValueType::Bytes32,
                    _ => ValueType::Uint256,
                };
                Ok(konst(value, ty))
            }
            Value::Placeholder(p) => {
                let missing = || Error::MissingParameter {
                    pos,
                    placeholder: p.clone(),
                    expected: match self.params.len() {
                        0 => "no placeholder (no parameters given)".to_string(),
                        n => format!("one of $1..${n} ({n} parameters given)"),
                    },
                };
                let i: usize = p.strip_prefix('$').and_then(|d| d.parse().ok()).ok_or_else(missing)?;
                let value = *i.checked_sub(1).and_then(|i| self.params.get(i)).ok_or_else(missing)?;
                Ok(TypedExpr { flexible: true, ..konst(value, ValueType::Uint256) })
            }
            Value::Boolean(_) | Value::Null => Err(unsupported(
                pos,
                format!("literal {v}"),
                "an unsigned integer or 0x hex literal (use IS NULL / comparisons for truth values)",
            )),
            other => Err(unsupported(pos, format!("string literal {other}"), "an unsigned integer or 0x hex literal")),
        }
    }

    /// Fixes the type of a flexible placeholder to `ty`, checking its value fits.
    fn coerce(&self, mut e: TypedExpr, ty: ValueType) -> Result<TypedExpr> {
        if !e.flexible {
            return Ok(e);
        }
        let ExprKind::Const(v) = e.kind else { unreachable!("only placeholders are flexible") };
        let fits = match ty {
            ValueType::Address => v.bit_len() <= 160,
            ValueType::Bool => v <= U256::from(1u8),
            _ => true,
        };
        if !fits {
            let expected = if ty == ValueType::Address {
                "an address (below 2^160)"
            } else {
                "a bool (0 or 1)"
            };
            return Err(Error::ParameterOutOfRange {
                pos: e.pos,
                expected: expected.into(),
                value: v.to_string(),
            });
        }
        e.ty = ty;
        e.flexible = false;
        Ok(e)
    }

    /// Gives a still-flexible placeholder its default type (uint256).
    fn settle(&self, e: TypedExpr) -> Result<TypedExpr> {
        self.coerce(e, ValueType::Uint256)
    }

    /// Checks that `e` has one of the `allowed` types (coercing a placeholder to the first).
    fn expect(&self, e: TypedExpr, allowed: &[ValueType]) -> Result<TypedExpr> {
        let e = self.coerce(e, allowed[0])?;
        if allowed.contains(&e.ty) {
            return Ok(e);
        }
        let expected = match allowed {
            [one] => one.to_string(),
            more => {
                let names: Vec<String> = more.iter().map(|t| t.to_string()).collect();
                let (last, rest) = names.split_last().expect("non-empty");
                format!("{} or {last}", rest.join(", "))
            }
        };
        Err(Error::TypeMismatch { pos: e.pos, expected, found: e.ty })
    }

    /// Operands of `=`/`<>`/`IN`: placeholders take the first fixed type, then all types must
    /// equal the first operand's.
    fn unify(&self, exprs: Vec<TypedExpr>) -> Result<Vec<TypedExpr>> {
        // A 64-digit hex literal is a word: beside a uint256 expression (`slot = 0x…`) it is
        // read as that uint256.
        let is_literal = |e: &TypedExpr| matches!(e.kind, ExprKind::Const(_));
        let numeric = exprs.iter().any(|e| !is_literal(e) && e.ty == ValueType::Uint256);
        let exprs: Vec<TypedExpr> = exprs
            .into_iter()
            .map(|mut e| {
                if numeric && is_literal(&e) && !e.flexible && e.ty == ValueType::Bytes32 {
                    e.ty = ValueType::Uint256;
                }
                e
            })
            .collect();
        let ty = exprs.iter().find(|e| !e.flexible).map_or(ValueType::Uint256, |e| e.ty);
        let exprs = exprs.into_iter().map(|e| self.coerce(e, ty)).collect::<Result<Vec<_>>>()?;
        let first = exprs[0].ty;
        if let Some(bad) = exprs.iter().find(|e| e.ty != first) {
            return Err(Error::TypeMismatch {
                pos: bad.pos,
                expected: first.to_string(),
                found: bad.ty,
            });
        }
        Ok(exprs)
    }
}

/// The values of `e` when it is `c = <constant>` (either side) or an `OR` chain of those (an
/// `IN` list), deduplicated in order.
fn constants_of(e: &TypedExpr, c: ColumnRef) -> Option<Vec<U256>> {
    match &e.kind {
        ExprKind::Binary { op: BinaryOp::Eq, left, right } => match (&left.kind, &right.kind) {
            (ExprKind::Column(x), ExprKind::Const(v))
            | (ExprKind::Const(v), ExprKind::Column(x))
                if *x == c =>
            {
                Some(vec![*v])
            }
            _ => None,
        },
        ExprKind::Binary { op: BinaryOp::Or, left, right } => {
            let mut all = constants_of(left, c)?;
            for v in constants_of(right, c)? {
                if !all.contains(&v) {
                    all.push(v);
                }
            }
            Some(all)
        }
        _ => None,
    }
}

/// Splits a typed conjunction into its top-level conjuncts.
fn top_level_and<'e>(e: &'e TypedExpr, out: &mut Vec<&'e TypedExpr>) {
    match &e.kind {
        ExprKind::Binary { op: BinaryOp::And, left, right } => {
            top_level_and(left, out);
            top_level_and(right, out);
        }
        _ => out.push(e),
    }
}

/// The sampling of a conjunct `block % k = r` (either side of `=`), with `2 <= k < 2^64` and
/// `r < k`.
fn step_of(e: &TypedExpr, block: ColumnRef) -> Option<Step> {
    let ExprKind::Binary { op: BinaryOp::Eq, left, right } = &e.kind else { return None };
    let (modulo, residue) = match (&left.kind, &right.kind) {
        (ExprKind::Binary { .. }, ExprKind::Const(r)) => (left, *r),
        (ExprKind::Const(r), ExprKind::Binary { .. }) => (right, *r),
        _ => return None,
    };
    let ExprKind::Binary { op: BinaryOp::Mod, left: x, right: k } = &modulo.kind else {
        return None;
    };
    let (ExprKind::Column(x), ExprKind::Const(k)) = (&x.kind, &k.kind) else { return None };
    let (every, offset) = (u64::try_from(*k).ok()?, u64::try_from(residue).ok()?);
    (*x == block && every >= 2 && offset < every).then_some(Step { every, offset })
}

/// Strips parentheses.
fn unnest(mut e: &Expr) -> &Expr {
    while let Expr::Nested(inner) = e {
        e = inner;
    }
    e
}

/// Splits a top-level conjunction (through parentheses) into its conjuncts.
fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match unnest(e) {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sql: &str) -> Result<LogicalPlan> {
        logical_plan(sql, &[U256::from(7u64)])
    }

    #[test]
    fn range_conjunct_is_removed_and_the_rest_is_the_predicate() {
        let p = plan("SELECT gas_used FROM headers WHERE gas_used > 1 AND (number BETWEEN 3 AND 9 AND hash IS NULL)")
            .unwrap();
        assert_eq!((p.from_block, p.to_block), (3, 9));
        assert_eq!(p.predicate.unwrap().to_string(), "((1 < gas_used) AND (hash IS NULL))");
        assert!(!p.aggregate);
    }

    #[test]
    fn a_second_range_stays_in_the_filter() {
        let p = plan(
            "SELECT COUNT(*) FROM headers WHERE number BETWEEN 3 AND 9 AND number BETWEEN 5 AND $1",
        )
        .unwrap();
        assert_eq!((p.from_block, p.to_block), (3, 9));
        assert_eq!(p.predicate.unwrap().to_string(), "((5 <= number) AND (number <= 7))");
    }

    #[test]
    fn placeholders_take_their_context_type() {
        let p = plan("SELECT COUNT(*) FROM headers WHERE number BETWEEN 1 AND 2 AND $1 IN (hash, parent_hash)").unwrap();
        let pred = p.predicate.unwrap();
        assert_eq!(
            pred.to_string(),
            format!("((0x{:064x} = hash) OR (0x{:064x} = parent_hash))", 7, 7)
        );
        // With nothing to adopt, a placeholder is a uint256.
        let p = plan("SELECT $1 FROM headers WHERE number BETWEEN 1 AND 2").unwrap();
        assert_eq!(p.projection[0].value_type, ValueType::Uint256);
    }

    #[test]
    fn explain_text_of_the_logical_plan() {
        let p = plan(
            "SELECT SUM(gas_used) AS g FROM headers WHERE number BETWEEN 1 AND 2 AND gas_used <> 0",
        )
        .unwrap();
        assert_eq!(
            p.to_string(),
            "Aggregate: SUM(gas_used) AS \"g\"\n  Filter: (NOT (gas_used = 0))\n    Scan: headers, blocks 1..=2 (2 blocks)\n"
        );
    }

    #[test]
    fn parser_locations_are_extracted() {
        let e = syntax_error(
            ParserError::ParserError("Expected: x, found: y at Line: 3, Column: 14".into()),
            Position::START,
        );
        assert_eq!(
            e,
            Error::Syntax { pos: Position::new(3, 14), message: "Expected: x, found: y".into() }
        );
        let e = syntax_error(
            ParserError::ParserError("Expected: x, found: EOF".into()),
            Position::new(1, 40),
        );
        assert_eq!(e.position(), Some(Position::new(1, 40)));
    }
}

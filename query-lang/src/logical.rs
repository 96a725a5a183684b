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
//!   `beneficiary = 0xaa` is a type mismatch.
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
//! # Block range
//! The WHERE clause must be a conjunction (`AND` at top level, parentheses allowed) with a conjunct
//! `number BETWEEN <from> AND <to>` whose bounds are integer literals or placeholders fitting in
//! u64, `from <= to` and `to - from + 1 <= MAX_RANGE_BLOCKS`. The first such conjunct becomes the
//! range and is removed from the filter; the other conjuncts, each of type `bool`, form the filter.

use crate::columns::HeaderColumn;
use crate::error::{Error, Position, Result};
use crate::plan::{Aggregate, Opcode, Table, ValueType};
use alloy_primitives::U256;
use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    SelectItem, SetExpr, Spanned, Statement, TableFactor, UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Tokenizer};
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

/// A node of a typed expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExprKind {
    /// A `headers` column.
    Column(HeaderColumn),
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

/// The logical plan of a query: scan of a table over a block range, filter, projection or
/// aggregation.
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
    /// Whether every item is an aggregate (one result row).
    pub aggregate: bool,
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
        let mut indent = "  ".to_string();
        if let Some(p) = &self.predicate {
            writeln!(f, "{indent}Filter: {p}")?;
            indent.push_str("  ");
        }
        writeln!(
            f,
            "{indent}Scan: headers, blocks {}..={} ({} blocks)",
            self.from_block,
            self.to_block,
            self.to_block - self.from_block + 1
        )
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
    let ctx = Ctx { sql, params, start, end };
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
            Keyword::GROUP => "GROUP BY",
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
const DIALECT: &str = "SELECT <aggregates or expressions> FROM headers WHERE number BETWEEN <from> AND <to> [AND <predicate>]";

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

fn columns_list() -> String {
    HeaderColumn::ALL.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
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

struct Ctx<'a> {
    sql: &'a str,
    params: &'a [U256],
    /// Start of the query (first token).
    start: Position,
    /// End of the query (after the last token).
    end: Position,
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
        let group_by_empty =
            matches!(&s.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
        let select_pos = self.pos(s.select_token.0.span);
        if s.distinct.is_some()
            || s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || !group_by_empty
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

        // FROM headers
        match s.from.as_slice() {
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
                            return Err(unsupported(pos, "table function", "FROM headers"));
                        }
                        let table = name.to_string();
                        if !table.eq_ignore_ascii_case("headers") {
                            let known = ["receipts", "logs", "accounts", "storage"];
                            if known.iter().any(|k| k.eq_ignore_ascii_case(&table)) {
                                return Err(unsupported(
                                    pos,
                                    format!("table {table} (not in this release)"),
                                    "FROM headers",
                                ));
                            }
                            return Err(Error::UnknownTable { pos, name: table });
                        }
                        if let Some(a) = alias {
                            return Err(unsupported(
                                self.pos(a.name.span),
                                "table alias",
                                "FROM headers",
                            ));
                        }
                    }
                    other => {
                        return Err(unsupported(
                            self.pos(other.span()),
                            "subquery or table expression in FROM",
                            "FROM headers",
                        ))
                    }
                }
            }
            [_, second, ..] => {
                return Err(unsupported(
                    self.pos(second.relation.span()),
                    "multiple tables (implicit JOIN)",
                    "FROM headers",
                ))
            }
        };

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
        let aggregate = projection[0].aggregate != Aggregate::None;
        if let Some(p) = projection.iter().find(|p| (p.aggregate != Aggregate::None) != aggregate) {
            return Err(Error::MixedAggregates { pos: p.pos });
        }

        // WHERE: range conjunct + filter.
        let Some(selection) = &s.selection else {
            return Err(Error::MissingBlockRange { pos: self.end });
        };
        let mut conjuncts = Vec::new();
        flatten_and(selection, &mut conjuncts);
        let range_idx = conjuncts.iter().position(|c| self.is_range(c));
        let Some(range_idx) = range_idx else {
            return Err(Error::MissingBlockRange { pos: self.pos(selection.span()) });
        };
        let (from_block, to_block) = self.range(conjuncts.remove(range_idx))?;
        let mut predicate: Option<TypedExpr> = None;
        for c in conjuncts {
            let e = self.expect(self.expr(c)?, &[ValueType::Bool])?;
            predicate = Some(match predicate {
                None => e,
                Some(p) => {
                    let pos = p.pos;
                    TypedExpr::binary(BinaryOp::And, p, e, ValueType::Bool, pos)
                }
            });
        }
        Ok(LogicalPlan {
            table: Table::Headers,
            from_block,
            to_block,
            predicate,
            projection,
            aggregate,
        })
    }

    /// Whether a conjunct is `number BETWEEN .. AND ..` (not negated).
    fn is_range(&self, e: &Expr) -> bool {
        let Expr::Between { expr, negated: false, .. } = e else { return false };
        matches!(self.column_of(unnest(expr)), Some(Ok(HeaderColumn::Number)))
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
        let plain = !f.uses_odbc_syntax
            && matches!(f.parameters, FunctionArguments::None)
            && f.filter.is_none()
            && f.null_treatment.is_none()
            && f.over.is_none()
            && f.within_group.is_empty();
        let FunctionArguments::List(list) = &f.args else {
            return Err(unsupported(
                pos,
                format!("call {f}"),
                "an aggregate with one argument, e.g. SUM(gas_used)",
            ));
        };
        if !plain
            || list.duplicate_treatment.is_some()
            || !list.clauses.is_empty()
            || list.args.len() != 1
        {
            return Err(unsupported(
                pos,
                format!("call {f}"),
                "an aggregate with one argument, e.g. SUM(gas_used)",
            ));
        }
        match &list.args[0] {
            FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => Ok(None),
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(Some(e)),
            _ => Err(unsupported(
                pos,
                format!("call {f}"),
                "an aggregate with one argument, e.g. SUM(gas_used)",
            )),
        }
    }

    /// Resolves a column reference (`col` or `headers.col`); `None` if `e` is not an identifier.
    fn column_of(&self, e: &Expr) -> Option<Result<HeaderColumn>> {
        let ident = match e {
            Expr::Identifier(i) => i,
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [t, c] if t.value.eq_ignore_ascii_case("headers") => c,
                _ => {
                    return Some(Err(unsupported(
                        self.pos(e.span()),
                        format!("qualified name {e}"),
                        "a column of headers",
                    )))
                }
            },
            _ => return None,
        };
        Some(HeaderColumn::from_name(&ident.value).ok_or_else(|| Error::UnknownColumn {
            pos: self.pos(ident.span),
            name: ident.value.clone(),
            expected: columns_list(),
        }))
    }

    /// Lowers and type-checks an expression (no aggregates).
    fn expr(&self, e: &Expr) -> Result<TypedExpr> {
        let pos = self.pos(e.span());
        if let Some(c) = self.column_of(e) {
            let c = c?;
            return Ok(TypedExpr::new(ExprKind::Column(c), c.value_type(), pos));
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
                        "one of the aggregates COUNT, SUM, AVG, MIN, MAX",
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

//! Logical plan → physical plan: the bytecode [`Program`] (SSA, deduplicated constants and
//! common subexpressions), the block range and the block jobs (map leaves), with an `EXPLAIN`.

use crate::columns::HeaderRow;
use crate::error::{Error, Position, Result};
use crate::logical::{logical_plan, ExprKind, LogicalPlan, TypedExpr};
use crate::plan::{Aggregate, Op, Opcode, Output, Program, Table, MAX_CONSTANTS, MAX_OPS};
use alloy_primitives::{B256, U256};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Estimated proving time of one `header_map` leaf, seconds (one core).
pub const HEADER_MAP_SECONDS: f64 = 10.0;
/// Estimated proving time of one `reduce` node, seconds (one core).
pub const REDUCE_SECONDS: f64 = 3.0;
/// Estimated proving time of the `root` wrap, seconds (one core).
pub const ROOT_SECONDS: f64 = 5.0;
/// Cores assumed by the wall-clock estimate of [`CompiledQuery::explain`].
pub const ESTIMATE_CORES: u64 = 2;

/// One map leaf: the data of one block the proof must cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct BlockJob {
    /// The block.
    pub block_number: u64,
    /// The table whose rows of that block are proven (for `headers`: the header itself).
    pub table: Table,
}

/// A compiled query: the physical plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompiledQuery {
    /// The bytecode; `program.query_hash()` is the proof's `query_hash`.
    pub program: Program,
    /// First block (inclusive).
    pub from_block: u64,
    /// Last block (inclusive); the proof's anchor is this block's hash.
    pub to_block: u64,
    /// The SQL text compiled.
    pub sql: String,
    /// One job per block of the range, in block order (`to_block - from_block + 1` jobs, at most
    /// [`crate::MAX_RANGE_BLOCKS`]).
    pub jobs: Vec<BlockJob>,
    /// The logical plan the program was generated from.
    pub logical: LogicalPlan,
}

/// Compiles a query without placeholders. See [`compile_with_params`].
pub fn compile(sql: &str) -> Result<CompiledQuery> {
    compile_with_params(sql, &[])
}

/// Compiles a query, binding placeholder `$i` to `params[i - 1]`: parse, validate, type-check
/// ([`logical_plan`]) and plan ([`physical_plan`]).
///
/// Errors: compile errors of [`Error`], each with its position in `sql`.
pub fn compile_with_params(sql: &str, params: &[U256]) -> Result<CompiledQuery> {
    let logical = logical_plan(sql, params)?;
    physical_plan(logical, sql)
}

/// Plans a logical plan into bytecode and block jobs.
///
/// Ops are emitted in post order (operands first): the filter, then the outputs in select order.
/// Identical ops (same opcode and operands) and identical constants are emitted once.
/// `COUNT(*)` reads register 0.
///
/// Errors: [`Error::TooManyOps`], [`Error::TooManyConstants`], [`Error::TooManyOutputs`] at the
/// query's start (`sql` is used for positions and kept in the result).
pub fn physical_plan(logical: LogicalPlan, sql: &str) -> Result<CompiledQuery> {
    let start = Position::START;
    let mut em = Emitter::default();
    let filter = logical.predicate.as_ref().map(|p| em.emit(p));
    let mut outputs = Vec::with_capacity(logical.projection.len());
    for p in &logical.projection {
        let reg = match (&p.aggregate, &p.expr) {
            (Aggregate::CountStar, _) | (_, None) => 0,
            (_, Some(e)) => em.emit(e),
        };
        outputs.push((p.aggregate, reg, p.name.clone(), p.value_type));
    }
    if outputs.len() > crate::plan::MAX_OUTPUTS {
        return Err(Error::TooManyOutputs {
            pos: start,
            got: outputs.len(),
            max: crate::plan::MAX_OUTPUTS,
        });
    }
    if em.ops.len() > MAX_OPS {
        return Err(Error::TooManyOps { pos: start, got: em.ops.len(), max: MAX_OPS });
    }
    if em.constants.len() > MAX_CONSTANTS {
        return Err(Error::TooManyConstants {
            pos: start,
            got: em.constants.len(),
            max: MAX_CONSTANTS,
        });
    }
    // All indices are < MAX_OPS (16) or < NUM_HEADER_COLUMNS (17) or < MAX_CONSTANTS (8) now.
    let program = Program {
        table: logical.table,
        constants: em.constants,
        ops: em.ops.iter().map(|&(opcode, a, b)| Op { opcode, a: a as u8, b: b as u8 }).collect(),
        filter: filter.map(|r| r as u8),
        outputs: outputs
            .into_iter()
            .map(|(aggregate, reg, name, value_type)| Output {
                aggregate,
                reg: reg as u8,
                name,
                value_type,
            })
            .collect(),
    };
    program.validate()?;
    let jobs = (logical.from_block..=logical.to_block)
        .map(|block_number| BlockJob { block_number, table: logical.table })
        .collect();
    Ok(CompiledQuery {
        program,
        from_block: logical.from_block,
        to_block: logical.to_block,
        sql: sql.to_string(),
        jobs,
        logical,
    })
}

/// SSA emitter with op and constant deduplication.
#[derive(Default)]
struct Emitter {
    constants: Vec<U256>,
    ops: Vec<(Opcode, usize, usize)>,
    memo: HashMap<(Opcode, usize, usize), usize>,
}

impl Emitter {
    fn constant(&mut self, v: U256) -> usize {
        self.constants.iter().position(|c| *c == v).unwrap_or_else(|| {
            self.constants.push(v);
            self.constants.len() - 1
        })
    }

    fn emit(&mut self, e: &TypedExpr) -> usize {
        let key = match &e.kind {
            ExprKind::Column(c) => (Opcode::Column, *c as usize, 0),
            ExprKind::Const(v) => (Opcode::Const, self.constant(*v), 0),
            ExprKind::Binary { op, left, right } => {
                let a = self.emit(left);
                let b = self.emit(right);
                (op.opcode(), a, b)
            }
            ExprKind::Not(x) => (Opcode::Not, self.emit(x), 0),
            ExprKind::IsNull(x) => (Opcode::IsNull, self.emit(x), 0),
        };
        *self.memo.entry(key).or_insert_with(|| {
            self.ops.push(key);
            self.ops.len() - 1
        })
    }
}

/// Number of circuit instances of the MapReduce tree over `n` leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitCounts {
    /// `header_map` leaves (`n`).
    pub header_map: u64,
    /// `reduce` nodes (`n - 1`).
    pub reduce: u64,
    /// `root` wraps (1).
    pub root: u64,
}

impl CompiledQuery {
    /// Number of blocks in the range.
    pub fn num_blocks(&self) -> u64 {
        self.to_block - self.from_block + 1
    }

    /// `query_hash` of the program.
    pub fn query_hash(&self) -> B256 {
        self.program.query_hash()
    }

    /// Circuits the proof uses: a binary MapReduce tree over the block jobs.
    pub fn circuit_counts(&self) -> CircuitCounts {
        let n = self.num_blocks();
        CircuitCounts { header_map: n, reduce: n - 1, root: 1 }
    }

    /// Rough proving-time estimate `(cpu_seconds, wall_seconds)` from [`HEADER_MAP_SECONDS`],
    /// [`REDUCE_SECONDS`], [`ROOT_SECONDS`]; the wall time runs each tree level on
    /// [`ESTIMATE_CORES`] cores in parallel (`ceil(nodes / cores)` rounds per level).
    pub fn cost_estimate(&self) -> (f64, f64) {
        let c = self.circuit_counts();
        let cpu = c.header_map as f64 * HEADER_MAP_SECONDS
            + c.reduce as f64 * REDUCE_SECONDS
            + ROOT_SECONDS;
        let rounds = |nodes: u64| nodes.div_ceil(ESTIMATE_CORES) as f64;
        let mut wall = rounds(c.header_map) * HEADER_MAP_SECONDS;
        let mut level = c.header_map;
        while level > 1 {
            let reduces = level / 2;
            wall += rounds(reduces) * REDUCE_SECONDS;
            level -= reduces;
        }
        (cpu, wall + ROOT_SECONDS)
    }

    /// `EXPLAIN` text: the logical plan, the bytecode disassembly, the jobs, the circuits and
    /// the cost estimate.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        let p = &self.program;
        let _ = writeln!(s, "query: {}", self.sql.trim());
        let _ = writeln!(s, "query_hash: {}", self.query_hash());
        let _ = writeln!(s, "\nlogical plan:");
        for line in self.logical.to_string().lines() {
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(
            s,
            "\nbytecode: {} ops (max {MAX_OPS}), {} constants (max {MAX_CONSTANTS}), {} outputs, {} bytes encoded",
            p.ops.len(),
            p.constants.len(),
            p.outputs.len(),
            p.encode().len()
        );
        for line in p.disassemble().lines() {
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(
            s,
            "\njobs: {} block jobs on {}, blocks {} ..= {}",
            self.jobs.len(),
            serde_json::to_value(self.program.table)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            self.from_block,
            self.to_block
        );
        let c = self.circuit_counts();
        let _ = writeln!(s, "\ncircuits:");
        let _ = writeln!(
            s,
            "  header_map x {} (one per block, {HEADER_MAP_SECONDS} s each)",
            c.header_map
        );
        let _ = writeln!(s, "  reduce     x {} ({REDUCE_SECONDS} s each)", c.reduce);
        let _ = writeln!(s, "  root       x {} ({ROOT_SECONDS} s)", c.root);
        let (cpu, wall) = self.cost_estimate();
        let _ = writeln!(
            s,
            "\nestimated cost: {cpu:.0} core-seconds, about {wall:.0} s wall on {ESTIMATE_CORES} cores"
        );
        s
    }

    /// Evaluates the program over `rows`, which must be exactly the range's rows in block order
    /// (completeness, DESIGN.md §1); see [`crate::evaluate`].
    ///
    /// Errors: [`Error::RowsMismatch`] when a row's block number is not the next block of the
    /// range or the count differs; evaluation errors of [`crate::evaluate`].
    pub fn evaluate(&self, rows: &[HeaderRow]) -> Result<Vec<Vec<Option<U256>>>> {
        if rows.len() as u64 != self.num_blocks() {
            return Err(Error::RowsMismatch {
                expected: format!(
                    "{} rows for blocks {}..={}",
                    self.num_blocks(),
                    self.from_block,
                    self.to_block
                ),
                found: format!("{} rows", rows.len()),
            });
        }
        for (i, row) in rows.iter().enumerate() {
            let expected = self.from_block + i as u64;
            if row[0] != Some(U256::from(expected)) {
                return Err(Error::RowsMismatch {
                    expected: format!("block {expected} at row {i}"),
                    found: format!("{:?}", row[0]),
                });
            }
        }
        crate::eval::evaluate(&self.program, rows)
    }
}

//! Logical plan → physical plan: the bytecode [`Program`] (SSA, deduplicated constants and
//! common subexpressions), the block range and the block jobs (map leaves), with an `EXPLAIN`.

use crate::columns::LogColumn;
use crate::error::{Error, Position, Result};
use crate::logical::{logical_plan, ColumnRef, ExprKind, LogicalPlan, TypedExpr};
use crate::plan::{
    Aggregate, Op, Opcode, Output, PointsPrelude, Program, Table, MAX_CONSTANTS, MAX_OPS,
    MAX_SLOT_KEYS,
};
use alloy_primitives::{Address, Bloom, BloomInput, B256, U256};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Estimated proving time of one `header_map` leaf, seconds (one core).
pub const HEADER_MAP_SECONDS: f64 = 10.0;
/// Estimated proving time of one `state_map` leaf with its shrink and wrap, seconds (one
/// core; 2^18 rows with in-circuit keccak).
pub const STATE_MAP_SECONDS: f64 = 150.0;
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
    /// The table whose rows of that block are proven (for `headers`: the header itself). A
    /// block that a sampled query skips (`block_number % k <> r`) has a `headers` job: only its
    /// link in the header chain is proven.
    pub table: Table,
}

/// What a `logs` query's filter requires of every selected log, for ruling blocks out by their
/// `logs_bloom` (Yellow Paper §4.3.1, M3:2048): each inner list is the alternatives of one
/// top-level conjunct `address = ..`/`address IN (..)`/`topicN = ..`/`topicN IN (..)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BloomFilter {
    /// Alternatives of the `address` conjunct, if any.
    pub addresses: Vec<Address>,
    /// Alternatives of each `topicN` conjunct (empty: no conjunct on that topic).
    pub topics: [Vec<B256>; 4],
}

impl BloomFilter {
    /// Whether the filter constrains anything (else no block can be ruled out).
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.topics.iter().all(Vec::is_empty)
    }

    /// Whether `bloom` proves that no log of the block can pass the filter: some conjunct has no
    /// alternative whose bloom bits are all set. A bloom has false positives only, so a block it
    /// rules out has no matching log; a block it keeps may still have none.
    pub fn rules_out(&self, bloom: &Bloom) -> bool {
        let absent = |bytes: &[u8]| !bloom.contains_input(BloomInput::Raw(bytes));
        (!self.addresses.is_empty() && self.addresses.iter().all(|a| absent(a.as_slice())))
            || self.topics.iter().any(|t| !t.is_empty() && t.iter().all(|h| absent(h.as_slice())))
    }
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
    /// [`crate::MAX_RANGE_BLOCKS`]); see [`BlockJob`] for sampled queries.
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
/// Identical ops (same opcode and operands) and identical constants are emitted once, except
/// the constants of a [`PointsPrelude`] and of its slot derivation, which sit at fixed indices
/// first. `COUNT(*)` reads register 0. When the slot derivation's constants would overflow the
/// pool, the query is planned again without it (`slot_keys = 0`: the slot is a plain constant).
///
/// Errors: [`Error::TooManyOps`], [`Error::TooManyConstants`], [`Error::TooManyOutputs`] at the
/// query's start (`sql` is used for positions and kept in the result).
pub fn physical_plan(logical: LogicalPlan, sql: &str) -> Result<CompiledQuery> {
    match plan_with(logical.clone(), sql, true) {
        Err(Error::TooManyConstants { .. }) if has_slot_path(&logical) => {
            plan_with(logical, sql, false)
        }
        r => r,
    }
}

/// Whether the planner would emit a slot derivation for `logical`.
fn has_slot_path(logical: &LogicalPlan) -> bool {
    logical.points.slot_paths.first().is_some_and(|p| p.is_some())
}

/// [`physical_plan`], with or without the slot derivation.
fn plan_with(logical: LogicalPlan, sql: &str, derive_slot: bool) -> Result<CompiledQuery> {
    let start = Position::START;
    let mut em = Emitter { derive_slot, ..Emitter::default() };
    let filter = match logical.conjuncts_after_prelude() {
        Some(rest) => Some(em.emit_prelude(&logical, &rest)),
        None => logical.predicate.as_ref().map(|p| em.emit(p)),
    };
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
        slot_keys: em.slot_keys,
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
        .map(|block_number| BlockJob {
            block_number,
            table: if logical.samples(block_number) { logical.table } else { Table::Headers },
        })
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
    /// Whether to emit a single-point slot's mapping derivation.
    derive_slot: bool,
    /// The derivation's key count, once emitted.
    slot_keys: u8,
}

impl Emitter {
    fn constant(&mut self, v: U256) -> usize {
        self.constants.iter().position(|c| *c == v).unwrap_or_else(|| {
            self.constants.push(v);
            self.constants.len() - 1
        })
    }

    /// Emits the [`PointsPrelude`] of a single-point query (its constants first, undeduplicated,
    /// so they sit at the prelude's indices; then, for a slot written as a mapping entry of at
    /// most [`MAX_SLOT_KEYS`] keys, its base slot and keys), then the remaining conjuncts
    /// `rest`; returns the filter register: the prelude's, or `And(prelude, rest)`.
    fn emit_prelude(&mut self, logical: &LogicalPlan, rest: &[&TypedExpr]) -> usize {
        let prelude = PointsPrelude::new(logical.table == Table::Storage, logical.step.is_some());
        if let Some(step) = logical.step {
            self.constants.extend([U256::from(step.every), U256::from(step.offset)]);
        }
        self.constants.push(logical.points.addresses[0].into_word().into());
        self.constants.extend(logical.points.slots.first());
        let path = logical.points.slot_paths.first().and_then(Option::as_ref);
        if let Some(path) = path.filter(|p| self.derive_slot && p.keys.len() <= MAX_SLOT_KEYS) {
            self.constants.push(path.base);
            self.constants.extend(&path.keys);
            self.slot_keys = path.keys.len() as u8;
        }
        for op in &prelude.ops {
            let key = (op.opcode, op.a as usize, op.b as usize);
            self.memo.insert(key, self.ops.len());
            self.ops.push(key);
        }
        let mut rest_reg = None;
        for e in rest {
            let r = self.emit(e);
            rest_reg = Some(match rest_reg {
                Some(acc) => self.and(acc, r),
                None => r,
            });
        }
        let reg = prelude.reg as usize;
        rest_reg.map_or(reg, |r| self.and(reg, r))
    }

    fn and(&mut self, a: usize, b: usize) -> usize {
        let key = (Opcode::And, a, b);
        *self.memo.entry(key).or_insert_with(|| {
            self.ops.push(key);
            self.ops.len() - 1
        })
    }

    fn emit(&mut self, e: &TypedExpr) -> usize {
        let key = match &e.kind {
            ExprKind::Column(c) => (Opcode::Column, c.id as usize, 0),
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
    /// `header_map` leaves: every block, except those a points query proves with `state_map`.
    pub header_map: u64,
    /// `state_map` leaves: the blocks an `accounts`/`storage` query samples.
    pub state_map: u64,
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
        let state_map =
            if self.program.table.has_points() { self.sampled_blocks().count() as u64 } else { 0 };
        CircuitCounts { header_map: n - state_map, state_map, reduce: n - 1, root: 1 }
    }

    /// Rough proving-time estimate `(cpu_seconds, wall_seconds)` from [`HEADER_MAP_SECONDS`],
    /// [`STATE_MAP_SECONDS`], [`REDUCE_SECONDS`], [`ROOT_SECONDS`]; the wall time runs each
    /// tree level on [`ESTIMATE_CORES`] cores in parallel (`ceil(nodes / cores)` rounds per
    /// level; leaves as if all took the mean leaf time).
    pub fn cost_estimate(&self) -> (f64, f64) {
        let c = self.circuit_counts();
        let leaves = c.header_map + c.state_map;
        let leaf_cpu =
            c.header_map as f64 * HEADER_MAP_SECONDS + c.state_map as f64 * STATE_MAP_SECONDS;
        let cpu = leaf_cpu + c.reduce as f64 * REDUCE_SECONDS + ROOT_SECONDS;
        let rounds = |nodes: u64| nodes.div_ceil(ESTIMATE_CORES) as f64;
        let mut wall = rounds(leaves) * leaf_cpu / leaves as f64;
        let mut level = leaves;
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
        let sampled = self.sampled_blocks().count();
        if sampled as u64 != self.num_blocks() {
            let _ = writeln!(
                s,
                "  {sampled} sampled blocks with rows; the other {} prove only their header link",
                self.num_blocks() - sampled as u64
            );
        }
        if self.logical.table.has_points() {
            let _ = writeln!(
                s,
                "  {} points per sampled block ({} rows)",
                self.logical.points.per_block(),
                self.logical.points.per_block() * sampled
            );
        }
        if let Some(f) = self.bloom_filter() {
            let mut parts = Vec::new();
            if !f.addresses.is_empty() {
                parts.push(format!("address in {} values", f.addresses.len()));
            }
            for (i, t) in f.topics.iter().enumerate().filter(|(_, t)| !t.is_empty()) {
                parts.push(format!("topic{i} in {} values", t.len()));
            }
            let _ = writeln!(
                s,
                "  bloom rule-out: a block whose logs_bloom lacks every value of one of [{}] has no matching log",
                parts.join("; ")
            );
        }
        if let Some(reason) = self.program.unprovable_reason() {
            let _ = writeln!(s, "\nproving: {reason}; native evaluation only");
            return s;
        }
        let c = self.circuit_counts();
        let _ = writeln!(s, "\ncircuits:");
        if c.state_map == 0 {
            let _ = writeln!(
                s,
                "  header_map x {} (one per block, {HEADER_MAP_SECONDS} s each)",
                c.header_map
            );
        } else {
            let _ = writeln!(
                s,
                "  state_map  x {} (one per sampled block: header, account and storage paths, {STATE_MAP_SECONDS} s each)",
                c.state_map
            );
            let _ = writeln!(
                s,
                "  header_map x {} (blocks the sampling skips, {HEADER_MAP_SECONDS} s each)",
                c.header_map
            );
        }
        let _ = writeln!(s, "  reduce     x {} ({REDUCE_SECONDS} s each)", c.reduce);
        let _ = writeln!(s, "  root       x {} ({ROOT_SECONDS} s)", c.root);
        let (cpu, wall) = self.cost_estimate();
        let _ = writeln!(
            s,
            "\nestimated cost: {cpu:.0} core-seconds, about {wall:.0} s wall on {ESTIMATE_CORES} cores"
        );
        s
    }

    /// Blocks of the range that have rows (all, unless the query samples every k-th block).
    pub fn sampled_blocks(&self) -> impl Iterator<Item = u64> + '_ {
        (self.from_block..=self.to_block).filter(|&n| self.logical.samples(n))
    }

    /// The bloom rule-out filter of a `logs` query (`None` for other tables or when the filter
    /// pins neither the address nor a topic).
    pub fn bloom_filter(&self) -> Option<BloomFilter> {
        if self.program.table != Table::Logs {
            return None;
        }
        let word = |v: &U256| B256::from(v.to_be_bytes::<32>());
        let values = |c: LogColumn| -> Vec<U256> {
            self.logical.pinned(ColumnRef { table: Table::Logs, id: c as u8 }).unwrap_or_default()
        };
        let addresses =
            values(LogColumn::Address).iter().map(|v| Address::from_word(word(v))).collect();
        let topics = [LogColumn::Topic0, LogColumn::Topic1, LogColumn::Topic2, LogColumn::Topic3]
            .map(|c| values(c).iter().map(word).collect());
        let f = BloomFilter { addresses, topics };
        (!f.is_empty()).then_some(f)
    }

    /// Evaluates the program over `rows`, the table's rows of the range in block order
    /// (completeness, DESIGN.md §1, is the caller's: every header of the range, every receipt
    /// or log of each block, every point of each sampled block); see [`crate::evaluate`].
    ///
    /// Errors: [`Error::RowsMismatch`] when a row's block is outside the range, out of order,
    /// or (for `headers`) not exactly the next block, and for `accounts`/`storage` when a
    /// sampled block does not have exactly one row per point; evaluation errors of
    /// [`crate::evaluate`].
    pub fn evaluate<R: AsRef<[Option<U256>]>>(&self, rows: &[R]) -> Result<Vec<Vec<Option<U256>>>> {
        let mismatch = |expected: String, found: String| Error::RowsMismatch { expected, found };
        let block = |row: &R| row.as_ref().first().copied().flatten();
        if self.program.table == Table::Headers {
            if rows.len() as u64 != self.num_blocks() {
                return Err(mismatch(
                    format!(
                        "{} rows for blocks {}..={}",
                        self.num_blocks(),
                        self.from_block,
                        self.to_block
                    ),
                    format!("{} rows", rows.len()),
                ));
            }
            for (i, row) in rows.iter().enumerate() {
                let expected = self.from_block + i as u64;
                if block(row) != Some(U256::from(expected)) {
                    return Err(mismatch(
                        format!("block {expected} at row {i}"),
                        format!("{:?}", block(row)),
                    ));
                }
            }
        } else {
            let mut previous = self.from_block;
            for (i, row) in rows.iter().enumerate() {
                let n = block(row).and_then(|n| u64::try_from(n).ok());
                match n {
                    Some(n) if n >= previous && n <= self.to_block => previous = n,
                    _ => {
                        return Err(mismatch(
                            format!("a block in {previous}..={} at row {i}", self.to_block),
                            format!("{n:?}"),
                        ))
                    }
                }
            }
            if self.program.table.has_points() {
                let per_block = self.logical.points.per_block();
                let expected = self.sampled_blocks().count() * per_block;
                if rows.len() != expected {
                    return Err(mismatch(
                        format!("{expected} rows ({per_block} points per sampled block)"),
                        format!("{} rows", rows.len()),
                    ));
                }
            }
        }
        crate::eval::evaluate(&self.program, rows)
    }
}

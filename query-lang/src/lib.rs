//! The Annals SQL dialect: parsing (sqlparser), validation against the tables, planning into the
//! bytecode the circuits run ([`plan::Program`]), and native evaluation, the reference result
//! every proof is checked against (DESIGN.md §2, §3).
//!
//! Pipeline: [`compile`] / [`compile_with_params`] = [`logical_plan`] (parse, validate, type-check,
//! extract the block range) then [`physical_plan`] (bytecode + block jobs) → [`CompiledQuery`],
//! with [`CompiledQuery::explain`]. [`evaluate`] runs a program over its table's rows;
//! [`format_value`] and [`ResultTable`] present results.
//!
//! Tables: `headers`, `receipts`, `logs`, `accounts`, `storage`, with `word(data, i)`,
//! `mapping_slot(key, base_slot)`, GROUP BY and sampled ranges (see [`logical`] for the exact
//! dialect). This release's circuits prove aggregates over `headers`
//! ([`plan::Program::unprovable_reason`]); every table evaluates natively.
//!
//! ```
//! use annals_query_lang::compile;
//! let q = compile("SELECT COUNT(*), MAX(gas_used) FROM headers WHERE number BETWEEN 1 AND 10").unwrap();
//! assert_eq!((q.from_block, q.to_block, q.jobs.len()), (1, 10, 10));
//! ```
//!
//! No feature flags.

pub mod columns;
pub mod error;
pub mod eval;
pub mod format;
pub mod logical;
pub mod physical;
pub mod plan;

pub use error::{Error, EvalError, Position, Result};
pub use eval::evaluate;
pub use format::{format_value, ResultTable};
pub use logical::{logical_plan, LogicalPlan, MAX_RANGE_BLOCKS};
pub use physical::{
    compile, compile_with_params, physical_plan, BlockJob, BloomFilter, CompiledQuery,
};

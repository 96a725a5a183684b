//! Merging partial aggregates of adjacent ranges (reduce nodes).

use plonky2::plonk::circuit_builder::CircuitBuilder;

use annals_query_lang::plan::Aggregate;

use super::statement::PartialAggregateTargets;
use super::{D, F};
use crate::uint256::{CircuitBuilderU256, CircuitBuilderU256Arith};
use crate::vm::OutputSpecTargets;

/// Merges two partial aggregates: counts add (both < 2^31 by the range limit, so the field sum
/// cannot wrap), sums add modulo 2^256 with the overflow recorded (`sum_overflow` is an error
/// only for `SUM`/`AVG` slots, which the root checks), min of mins, max of maxes.
pub fn merge_partial_aggregates(
    b: &mut CircuitBuilder<F, D>,
    l: &PartialAggregateTargets,
    r: &PartialAggregateTargets,
) -> PartialAggregateTargets {
    let count = b.add(l.count, r.count);
    let (sum, carry) = b.add_u256(&l.sum, &r.sum);
    let of = b.or(l.sum_overflow, r.sum_overflow);
    let sum_overflow = b.or(of, carry);
    let r_min_smaller = b.lt_u256(&r.min, &l.min);
    let min = b.select_u256(r_min_smaller, &r.min, &l.min);
    let l_max_smaller = b.lt_u256(&l.max, &r.max);
    let max = b.select_u256(l_max_smaller, &r.max, &l.max);
    PartialAggregateTargets { count, sum, sum_overflow, min, max }
}

/// Constrains a merged aggregate of an output slot of kind `spec` to be finalizable: a `SUM` or
/// `AVG` whose sum reached 2^256 is unsatisfiable (`(sum + avg flags) · sum_overflow = 0`);
/// other kinds ignore the wrapped sum. The root applies it to the top of the tree.
pub fn assert_no_sum_overflow(
    b: &mut CircuitBuilder<F, D>,
    spec: &OutputSpecTargets,
    agg: &PartialAggregateTargets,
) {
    let sum_like = b.add(spec.flag(Aggregate::Sum).target, spec.flag(Aggregate::Avg).target);
    let bad = b.mul(sum_like, agg.sum_overflow.target);
    b.assert_zero(bad);
}

//! Merging partial aggregates of adjacent ranges (reduce nodes), and finalizing the merged
//! aggregate of the whole range (root).

use plonky2::plonk::circuit_builder::CircuitBuilder;

use annals_query_lang::plan::Aggregate;

use super::statement::{LazySumTarget, PartialAggregateTargets};
use super::{D, F};
use crate::uint256::{CircuitBuilderU256, CircuitBuilderU256Arith};
use crate::vm::{AggregateTargets, OutputSpecTargets};

/// Merges two partial aggregates of adjacent ranges: counts add (each at most the number of
/// blocks of its range, and a tree covers at most 2^32 consecutive blocks, so the field sum
/// cannot wrap; the root's `finalize_aggregates` needs counts `< 2^32`), sums add limb-wise with their carries deferred (see
/// [`LazySumTarget`]: the merged range has at most 2^32 blocks, so each limb stays `< 2^48`),
/// min of mins, max of maxes. ≈ 20 rows.
pub fn merge_partial_aggregates(
    b: &mut CircuitBuilder<F, D>,
    l: &PartialAggregateTargets,
    r: &PartialAggregateTargets,
) -> PartialAggregateTargets {
    let count = b.add(l.count, r.count);
    let sum =
        LazySumTarget { limbs: core::array::from_fn(|i| b.add(l.sum.limbs[i], r.sum.limbs[i])) };
    let r_min_smaller = b.lt_u256(&r.min, &l.min);
    let min = b.select_u256(r_min_smaller, &r.min, &l.min);
    let l_max_smaller = b.lt_u256(&l.max, &r.max);
    let max = b.select_u256(l_max_smaller, &r.max, &l.max);
    PartialAggregateTargets { count, sum, min, max }
}

/// The aggregate of a whole range, ready for the VM's `finalize_aggregates`: normalizes the
/// lazy sum to a canonical uint256 (≈ 35 rows) and constrains an output slot of kind `spec` to
/// be finalizable: a `SUM` or `AVG` whose true sum reached 2^256 is unsatisfiable
/// (`(sum + avg flags) · overflow = 0`); other kinds ignore the wrapped sum.
pub fn finalize_partial_aggregate(
    b: &mut CircuitBuilder<F, D>,
    spec: &OutputSpecTargets,
    agg: &PartialAggregateTargets,
) -> AggregateTargets {
    let (sum, overflow) = b.normalize_lazy_u256(&agg.sum.limbs);
    let sum_like = b.add(spec.flag(Aggregate::Sum).target, spec.flag(Aggregate::Avg).target);
    let bad = b.mul(sum_like, overflow.target);
    b.assert_zero(bad);
    AggregateTargets { count: agg.count, sum, min: agg.min, max: agg.max }
}

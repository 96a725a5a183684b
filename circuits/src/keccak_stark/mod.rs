//! keccak-f\[1600\] as a STARK table (starky 1.1), the first part of issue 3: one row per round,
//! 24 rows per permutation, 2,477 columns ([`layout`]), constraints of degree 3, written from
//! FIPS 202 §3.2–3.3.
//!
//! Status: the permutation table, its native proofs and their verification inside plonky2
//! ([`PermutationVerifierCircuit`], starky's recursive verifier), and the table side of the
//! permutation lookup ([`lookup`]: multiplicities, a LogUp sum under challenges seeded by the
//! lookups' commitment, native verification, and [`lookup::LookupCheckCircuit`], the check in
//! plonky2). Circuits record their permutations with [`crate::keccak::lookup`]. Nothing in the
//! query proving path uses this yet (the leaves, the proof tree and the aggregation do not).
//! The argument, its transcript order and soundness count: `circuits/docs/keccak-lookup.md`.
//!
//! # Constraints (each row: round `i`, input state `A` as limbs)
//! With `xor2(a, b) = a + b − 2ab` and
//! `xor3(a, b, c) = a + b + c − 2(ab + ac + bc) + 4abc` on bits:
//! 1. `C`, `C'`, `A'` bits are boolean.
//! 2. `C'[x][z] = xor3(C[x][z], C[x−1][z], C[x+1][z−1])`.
//! 3. `C'[x][z]` is the parity of `s = Σ_y A'[x][y][z]`: `(s − C')(s − C' − 2)(s − C' − 4) = 0`.
//! 4. Every limb of `A` is `Σ_k 2^k · xor3(A'[x][y][z], C[x][z], C'[x][z])` (`z = 32j + k`).
//! 5. χ: `A''` limbs (lanes 1..25) and lane-0 bits are
//!    `B[x][y] ⊕ (¬B[x+1][y] ∧ B[x+2][y])` with `B = π(ρ(A'))` ([`layout::b_source`]).
//! 6. Transition unless this is round 23: the next row's `A` limbs equal `A''` limbs, lane 0
//!    with ι applied (`xor2(A''[0][0][z], RC_i[z])`, `RC_i[z] = Σ_i flag_i · RC_i[z]`).
//! 7. Round flags: row 0 has round 0; `flag_{i+1 mod 24}(next) = flag_i(local)`.
//! 8. On a round-0 row, the input-state limbs equal `A`'s.
//! 9. Transition unless this is round 23: the next row's input-state limbs equal this row's.
//!
//! By 7–9, a round-23 row holds both the input state of its permutation (8, 9) and, in its
//! `A''` columns with ι, the output: the pair [`lookup`] reads.
//!
//! Why 2–4 force `A' = θ(A)`: let `E = C ⊕ C'`, so (4) says `A = A' ⊕ E`. Then
//! `C' = ⊕_y A' = ⊕_y A ⊕ E` (five copies of `E`) `= P ⊕ E` with `P` the true parity of `A`,
//! i.e. `C' = P ⊕ C ⊕ C'`, so `C = P`. (2) then makes `E = C[x−1] ⊕ rot(C[x+1], 1) = D`, θ's
//! `D`, so `A' = A ⊕ D`. Limbs are below 2^32, so the bits in (4) are unique.

pub mod layout;
pub mod lookup;
mod proving;

pub use proving::{
    degree_bits, prove_permutations, stark_config, verify_permutations, PermutationProof,
    PermutationStark, PermutationVerifierCircuit,
};

use core::marker::PhantomData;

use plonky2::field::extension::{Extendable, FieldExtension};
use plonky2::field::packed::PackedField;
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::Field;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use starky::constraint_consumer::{ConstraintConsumer, RecursiveConstraintConsumer};
use starky::evaluation_frame::{StarkEvaluationFrame, StarkFrame};
use starky::stark::Stark;

use crate::keccak::native::ROUND_CONSTANTS;
use layout::*;

/// The keccak-f\[1600\] permutation table. No public inputs.
///
/// With [`Self::with_lookup`], the table takes part in the lookup of [`lookup`]: starky then
/// commits the cross-table-lookup sum column of [`lookup::lookup_ctl`] with the trace.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeccakPermutationStark<F, const D: usize> {
    ctl: bool,
    _f: PhantomData<F>,
}

/// Rows of a trace for `n` permutations: `24 n` rounded up to a power of two (at least 32).
pub fn trace_rows(n: usize) -> usize {
    (NUM_ROUNDS * n.max(1)).next_power_of_two()
}

impl<F: RichField + Extendable<D>, const D: usize> KeccakPermutationStark<F, D> {
    /// The table on its own: proofs say that the trace holds honest permutations.
    pub const fn new() -> Self {
        Self { ctl: false, _f: PhantomData }
    }

    /// The table as the looked side of the permutation lookup ([`lookup`]).
    pub const fn with_lookup() -> Self {
        Self { ctl: true, _f: PhantomData }
    }

    /// The trace for `inputs` (lanes `x + 5y`), column-major, [`trace_rows`] rows long. Rows
    /// past the last permutation run further permutations of the all-zero state, cut off at
    /// the power of two (the last row's transition is not constrained).
    pub fn generate_trace(&self, inputs: &[[u64; NUM_LANES]]) -> Vec<PolynomialValues<F>> {
        self.generate_trace_with_multiplicities(inputs, &[])
    }

    /// [`Self::generate_trace`], with `multiplicities[p]` (0 where absent) written in the
    /// [`MULTIPLICITY`] column of permutation `p`'s round-23 row.
    ///
    /// # Panics
    /// If there are more multiplicities than inputs.
    pub fn generate_trace_with_multiplicities(
        &self,
        inputs: &[[u64; NUM_LANES]],
        multiplicities: &[u64],
    ) -> Vec<PolynomialValues<F>> {
        assert!(multiplicities.len() <= inputs.len(), "a multiplicity without its permutation");
        let rows = trace_rows(inputs.len());
        let mut cols = vec![vec![F::ZERO; rows]; NUM_COLUMNS];
        let perms = rows.div_ceil(NUM_ROUNDS);
        for p in 0..perms {
            let input = inputs.get(p).copied().unwrap_or([0; NUM_LANES]);
            let mut state = input;
            for (i, rc) in ROUND_CONSTANTS.iter().enumerate() {
                let row = p * NUM_ROUNDS + i;
                if row >= rows {
                    break;
                }
                for (lane, &v) in input.iter().enumerate() {
                    set_limbs(&mut cols, row, |j| input_limb(lane, j), v);
                }
                state = fill_round(&mut cols, row, i, &state, *rc);
            }
            if let Some(&m) = multiplicities.get(p) {
                cols[MULTIPLICITY][p * NUM_ROUNDS + NUM_ROUNDS - 1] = F::from_canonical_u64(m);
            }
        }
        cols.into_iter().map(PolynomialValues::new).collect()
    }
}

fn set_limbs<F: Field>(cols: &mut [Vec<F>], row: usize, col: impl Fn(usize) -> usize, lane: u64) {
    cols[col(0)][row] = F::from_canonical_u64(lane & 0xffff_ffff);
    cols[col(1)][row] = F::from_canonical_u64(lane >> 32);
}

/// Writes round `i` of one permutation into `row`; returns the state after the round.
fn fill_round<F: Field>(
    cols: &mut [Vec<F>],
    row: usize,
    i: usize,
    a: &[u64; NUM_LANES],
    rc: u64,
) -> [u64; NUM_LANES] {
    let bit = |v: u64, z: usize| F::from_canonical_u64((v >> z) & 1);
    cols[round_flag(i)][row] = F::ONE;
    for (lane, &v) in a.iter().enumerate() {
        set_limbs(cols, row, |j| a_limb(lane, j), v);
    }
    let c: [u64; 5] = core::array::from_fn(|x| (0..5).fold(0, |acc, y| acc ^ a[x + 5 * y]));
    let d: [u64; 5] = core::array::from_fn(|x| c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1));
    let a_prime: [u64; NUM_LANES] = core::array::from_fn(|l| a[l] ^ d[l % 5]);
    let c_prime: [u64; 5] =
        core::array::from_fn(|x| (0..5).fold(0, |acc, y| acc ^ a_prime[x + 5 * y]));
    for x in 0..5 {
        for z in 0..LANE_BITS {
            cols[c_bit(x, z)][row] = bit(c[x], z);
            cols[c_prime_bit(x, z)][row] = bit(c_prime[x], z);
        }
    }
    for (lane, &v) in a_prime.iter().enumerate() {
        for z in 0..LANE_BITS {
            cols[a_prime_bit(lane, z)][row] = bit(v, z);
        }
    }
    let b: [u64; NUM_LANES] = core::array::from_fn(|lane| {
        (0..LANE_BITS).fold(0, |acc, z| {
            let (src, sz) = b_source(lane, z);
            acc | (((a_prime[src] >> sz) & 1) << z)
        })
    });
    let chi: [u64; NUM_LANES] = core::array::from_fn(|l| {
        let (x, y) = (l % 5, l / 5);
        b[l] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y])
    });
    for (lane, &v) in chi.iter().enumerate().skip(1) {
        set_limbs(cols, row, |j| a_chi_limb(lane, j), v);
    }
    for z in 0..LANE_BITS {
        cols[a_chi_lane0_bit(z)][row] = bit(chi[0], z);
    }
    let mut out = chi;
    out[0] ^= rc;
    out
}

/// The state a permutation starts from, read from its round-0 row (`row` must hold round 0).
pub fn read_input<F: RichField>(trace: &[PolynomialValues<F>], row: usize) -> [u64; NUM_LANES] {
    core::array::from_fn(|l| {
        trace[a_limb(l, 0)].values[row].to_canonical_u64()
            | (trace[a_limb(l, 1)].values[row].to_canonical_u64() << 32)
    })
}

/// The state after round 23, read from the row of round 23 (`A''` with ι of round 23).
pub fn read_output<F: RichField>(trace: &[PolynomialValues<F>], row: usize) -> [u64; NUM_LANES] {
    let mut out: [u64; NUM_LANES] = core::array::from_fn(|l| {
        if l == 0 {
            (0..LANE_BITS).fold(0, |acc, z| {
                acc | (trace[a_chi_lane0_bit(z)].values[row].to_canonical_u64() << z)
            })
        } else {
            trace[a_chi_limb(l, 0)].values[row].to_canonical_u64()
                | (trace[a_chi_limb(l, 1)].values[row].to_canonical_u64() << 32)
        }
    });
    out[0] ^= ROUND_CONSTANTS[NUM_ROUNDS - 1];
    out
}

/// The arithmetic the constraints need, over packed values or extension targets, so that the
/// native and recursive evaluations are one code path (same constraints, same order).
trait Arith {
    type V: Copy;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// `a · c` for a base-field constant `c`.
    fn scale(&mut self, a: Self::V, c: u64) -> Self::V;
    fn constant(&mut self, c: u64) -> Self::V;
    fn zero(&mut self) -> Self::V {
        self.constant(0)
    }
    /// `a ⊕ b` on bits: `a + b − 2ab`.
    fn xor2(&mut self, a: Self::V, b: Self::V) -> Self::V {
        let s = self.add(a, b);
        let ab = self.mul(a, b);
        let t = self.scale(ab, 2);
        self.sub(s, t)
    }
    /// `a ⊕ b ⊕ c` on bits.
    fn xor3(&mut self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        let ab = self.xor2(a, b);
        self.xor2(ab, c)
    }
    /// `a ⊕ (¬b ∧ c)` on bits: `a + (1 − b)c − 2a(1 − b)c`.
    fn chi(&mut self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        let one = self.constant(1);
        let nb = self.sub(one, b);
        let nbc = self.mul(nb, c);
        self.xor2(a, nbc)
    }
    /// `Σ_k 2^k · bits[k]`.
    fn recompose(&mut self, bits: &[Self::V]) -> Self::V {
        let mut acc = self.zero();
        for (k, &b) in bits.iter().enumerate() {
            let t = self.scale(b, 1 << k);
            acc = self.add(acc, t);
        }
        acc
    }
}

/// Where constraints go: starky's consumers take transition, first-row and all-row ones.
trait Sink<V> {
    fn all(&mut self, c: V);
    fn transition(&mut self, c: V);
    fn first_row(&mut self, c: V);
}

/// Every constraint of the table, in one fixed order (see the module doc).
fn eval<A: Arith, S: Sink<A::V>>(ar: &mut A, sink: &mut S, local: &[A::V], next: &[A::V]) {
    let one = ar.constant(1);
    // 7. Round flags.
    for i in 0..NUM_ROUNDS {
        let f = local[round_flag(i)];
        let c = if i == 0 { ar.sub(f, one) } else { f };
        sink.first_row(c);
        let d = ar.sub(next[round_flag((i + 1) % NUM_ROUNDS)], f);
        sink.transition(d);
    }
    // 1. Booleans.
    let bool_cols = (0..5)
        .flat_map(|x| (0..LANE_BITS).flat_map(move |z| [c_bit(x, z), c_prime_bit(x, z)]))
        .chain((0..NUM_LANES).flat_map(|l| (0..LANE_BITS).map(move |z| a_prime_bit(l, z))));
    for col in bool_cols {
        let b = local[col];
        let bm1 = ar.sub(b, one);
        let c = ar.mul(b, bm1);
        sink.all(c);
    }
    for x in 0..5 {
        for z in 0..LANE_BITS {
            // 2. C' from C.
            let rhs = ar.xor3(
                local[c_bit(x, z)],
                local[c_bit((x + 4) % 5, z)],
                local[c_bit((x + 1) % 5, (z + LANE_BITS - 1) % LANE_BITS)],
            );
            let c = ar.sub(local[c_prime_bit(x, z)], rhs);
            sink.all(c);
            // 3. C' is the parity of column x of A'.
            let mut s = ar.zero();
            for y in 0..5 {
                s = ar.add(s, local[a_prime_bit(x + 5 * y, z)]);
            }
            let t0 = ar.sub(s, local[c_prime_bit(x, z)]);
            let two = ar.constant(2);
            let t2 = ar.sub(t0, two);
            let t4 = ar.sub(t2, two);
            let p = ar.mul(t0, t2);
            let c = ar.mul(p, t4);
            sink.all(c);
        }
    }
    // 4. A limbs from A', C, C'.
    for lane in 0..NUM_LANES {
        let x = lane % 5;
        for j in 0..2 {
            let bits: Vec<A::V> = (0..LIMB_BITS)
                .map(|k| {
                    let z = LIMB_BITS * j + k;
                    ar.xor3(
                        local[a_prime_bit(lane, z)],
                        local[c_bit(x, z)],
                        local[c_prime_bit(x, z)],
                    )
                })
                .collect();
            let limb = ar.recompose(&bits);
            let c = ar.sub(local[a_limb(lane, j)], limb);
            sink.all(c);
        }
    }
    // 5. χ over B = π(ρ(A')).
    let b = |lane: usize, z: usize| {
        let (src, sz) = b_source(lane, z);
        local[a_prime_bit(src, sz)]
    };
    let chi_bit = |ar: &mut A, lane: usize, z: usize| {
        let (x, y) = (lane % 5, lane / 5);
        ar.chi(b(lane, z), b((x + 1) % 5 + 5 * y, z), b((x + 2) % 5 + 5 * y, z))
    };
    for lane in 1..NUM_LANES {
        for j in 0..2 {
            let bits: Vec<A::V> =
                (0..LIMB_BITS).map(|k| chi_bit(ar, lane, LIMB_BITS * j + k)).collect();
            let limb = ar.recompose(&bits);
            let c = ar.sub(local[a_chi_limb(lane, j)], limb);
            sink.all(c);
        }
    }
    for z in 0..LANE_BITS {
        let v = chi_bit(ar, 0, z);
        let c = ar.sub(local[a_chi_lane0_bit(z)], v);
        sink.all(c);
    }
    // 6. Transition to the next round unless this is round 23.
    let not_last = ar.sub(one, local[round_flag(NUM_ROUNDS - 1)]);
    // 8–9. The input state: equal to `A` on a round-0 row, carried to the next row unless
    // this is round 23.
    for lane in 0..NUM_LANES {
        for j in 0..2 {
            let d = ar.sub(local[input_limb(lane, j)], local[a_limb(lane, j)]);
            let c = ar.mul(local[round_flag(0)], d);
            sink.all(c);
            let d = ar.sub(next[input_limb(lane, j)], local[input_limb(lane, j)]);
            let c = ar.mul(not_last, d);
            sink.transition(c);
        }
    }
    for lane in 1..NUM_LANES {
        for j in 0..2 {
            let d = ar.sub(next[a_limb(lane, j)], local[a_chi_limb(lane, j)]);
            let c = ar.mul(not_last, d);
            sink.transition(c);
        }
    }
    for j in 0..2 {
        let bits: Vec<A::V> = (0..LIMB_BITS)
            .map(|k| {
                let z = LIMB_BITS * j + k;
                // RC_i[z] for the round of this row: Σ_i flag_i · RC_i[z].
                let mut rc = ar.zero();
                for (i, &k) in ROUND_CONSTANTS.iter().enumerate() {
                    if (k >> z) & 1 == 1 {
                        rc = ar.add(rc, local[round_flag(i)]);
                    }
                }
                ar.xor2(local[a_chi_lane0_bit(z)], rc)
            })
            .collect();
        let limb = ar.recompose(&bits);
        let d = ar.sub(next[a_limb(0, j)], limb);
        let c = ar.mul(not_last, d);
        sink.transition(c);
    }
}

struct Packed<P>(PhantomData<P>);

impl<P: PackedField> Arith for Packed<P> {
    type V = P;
    fn add(&mut self, a: P, b: P) -> P {
        a + b
    }
    fn sub(&mut self, a: P, b: P) -> P {
        a - b
    }
    fn mul(&mut self, a: P, b: P) -> P {
        a * b
    }
    fn scale(&mut self, a: P, c: u64) -> P {
        a * P::Scalar::from_canonical_u64(c)
    }
    fn constant(&mut self, c: u64) -> P {
        P::from(P::Scalar::from_canonical_u64(c))
    }
}

impl<P: PackedField> Sink<P> for ConstraintConsumer<P> {
    fn all(&mut self, c: P) {
        self.constraint(c);
    }
    fn transition(&mut self, c: P) {
        self.constraint_transition(c);
    }
    fn first_row(&mut self, c: P) {
        self.constraint_first_row(c);
    }
}

struct Recursive<'a, F: RichField + Extendable<D>, const D: usize>(&'a mut CircuitBuilder<F, D>);

impl<F: RichField + Extendable<D>, const D: usize> Arith for Recursive<'_, F, D> {
    type V = ExtensionTarget<D>;
    fn add(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.add_extension(a, b)
    }
    fn sub(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.sub_extension(a, b)
    }
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V {
        self.0.mul_extension(a, b)
    }
    fn scale(&mut self, a: Self::V, c: u64) -> Self::V {
        self.0.mul_const_extension(F::from_canonical_u64(c), a)
    }
    fn constant(&mut self, c: u64) -> Self::V {
        self.0.constant_extension(F::Extension::from_canonical_u64(c))
    }
}

impl<F: RichField + Extendable<D>, const D: usize> KeccakPermutationStark<F, D> {
    fn eval_recursive(
        builder: &mut CircuitBuilder<F, D>,
        local: &[ExtensionTarget<D>],
        next: &[ExtensionTarget<D>],
        consumer: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        // Collect the constraints first, then hand them over: both need the builder.
        let mut out = Collected::default();
        eval(&mut Recursive(builder), &mut out, local, next);
        for (kind, c) in out.0 {
            match kind {
                Kind::All => consumer.constraint(builder, c),
                Kind::Transition => consumer.constraint_transition(builder, c),
                Kind::FirstRow => consumer.constraint_first_row(builder, c),
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    All,
    Transition,
    FirstRow,
}

struct Collected<V>(Vec<(Kind, V)>);

impl<V> Default for Collected<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> Sink<V> for Collected<V> {
    fn all(&mut self, c: V) {
        self.0.push((Kind::All, c));
    }
    fn transition(&mut self, c: V) {
        self.0.push((Kind::Transition, c));
    }
    fn first_row(&mut self, c: V) {
        self.0.push((Kind::FirstRow, c));
    }
}

impl<F: RichField + Extendable<D>, const D: usize> Stark<F, D> for KeccakPermutationStark<F, D> {
    type EvaluationFrame<FE, P, const D2: usize>
        = StarkFrame<P, P::Scalar, NUM_COLUMNS, 0>
    where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>;

    type EvaluationFrameTarget = StarkFrame<ExtensionTarget<D>, ExtensionTarget<D>, NUM_COLUMNS, 0>;

    fn eval_packed_generic<FE, P, const D2: usize>(
        &self,
        vars: &Self::EvaluationFrame<FE, P, D2>,
        yield_constr: &mut ConstraintConsumer<P>,
    ) where
        FE: FieldExtension<D2, BaseField = F>,
        P: PackedField<Scalar = FE>,
    {
        eval(
            &mut Packed::<P>(PhantomData),
            yield_constr,
            vars.get_local_values(),
            vars.get_next_values(),
        );
    }

    fn eval_ext_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: &Self::EvaluationFrameTarget,
        yield_constr: &mut RecursiveConstraintConsumer<F, D>,
    ) {
        Self::eval_recursive(
            builder,
            vars.get_local_values(),
            vars.get_next_values(),
            yield_constr,
        );
    }

    fn constraint_degree(&self) -> usize {
        3
    }

    fn requires_ctls(&self) -> bool {
        self.ctl
    }
}

#[cfg(test)]
mod tests;

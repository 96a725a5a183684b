//! Column layout of the keccak-f\[1600\] STARK table: one row per round, 24 rows per
//! permutation (FIPS 202 §3.3, Algorithm 7, `nr = 24`).
//!
//! Lanes are indexed `x + 5 · y` and bits `z` (0 = least significant) as in FIPS 202 §3.1.2;
//! a "limb" is a 32-bit half of a lane (`j = 0` low, `j = 1` high), stored as one Goldilocks
//! element (< 2^32 < p, so its bits are unique).
//!
//! | columns | count | what |
//! |---|---|---|
//! | [`round_flag`] | 24 | one-hot round index `i` of this row |
//! | [`a_limb`] | 50 | state `A` at the start of the round, as limbs |
//! | [`c_bit`] | 320 | θ column parities `C[x][z] = ⊕_y A[x][y][z]` |
//! | [`c_prime_bit`] | 320 | `C'[x][z] = ⊕_y A'[x][y][z]` (parities after θ) |
//! | [`a_prime_bit`] | 1,600 | `A' = θ(A)`, as bits |
//! | [`a_chi_limb`] | 48 | `A'' = χ(π(ρ(A')))` of lanes 1..25, as limbs |
//! | [`a_chi_lane0_bit`] | 64 | `A''[0][0]`, as bits (ι xors the round constant into it) |
//! | [`input_limb`] | 50 | the permutation's input state (its round-0 `A`), carried on all 24 rows |
//! | [`MULTIPLICITY`] | 1 | how many lookups name this permutation (read on its round-23 row) |
//!
//! The last two groups serve the lookup ([`super::lookup`]): on a round-23 row, the input and
//! output states of the whole permutation are both on one row.

/// Rounds of keccak-f\[1600\] (FIPS 202 §3.4: `nr = 12 + 2ℓ`, ℓ = 6).
pub const NUM_ROUNDS: usize = 24;
/// Lanes of the state.
pub const NUM_LANES: usize = 25;
/// Bits per lane (`w = 64`).
pub const LANE_BITS: usize = 64;
/// Bits per limb.
pub const LIMB_BITS: usize = 32;

const FLAGS_START: usize = 0;
const A_START: usize = FLAGS_START + NUM_ROUNDS;
const C_START: usize = A_START + 2 * NUM_LANES;
const C_PRIME_START: usize = C_START + 5 * LANE_BITS;
const A_PRIME_START: usize = C_PRIME_START + 5 * LANE_BITS;
const A_CHI_START: usize = A_PRIME_START + NUM_LANES * LANE_BITS;
const A_CHI_LANE0_START: usize = A_CHI_START + 2 * (NUM_LANES - 1);
const INPUT_START: usize = A_CHI_LANE0_START + LANE_BITS;

/// Multiplicity of the permutation in the lookup (meaningful on round-23 rows only: the
/// lookup's filter is `flag_23 · multiplicity`).
pub const MULTIPLICITY: usize = INPUT_START + 2 * NUM_LANES;

/// Columns of the table (2,477).
pub const NUM_COLUMNS: usize = MULTIPLICITY + 1;

/// Flag of round `i` (`0..24`): 1 on the rows of round `i`, else 0.
pub const fn round_flag(i: usize) -> usize {
    FLAGS_START + i
}

/// Limb `j` of lane `lane` of the round's input state `A`.
pub const fn a_limb(lane: usize, j: usize) -> usize {
    A_START + 2 * lane + j
}

/// Bit `z` of the θ parity `C[x]`.
pub const fn c_bit(x: usize, z: usize) -> usize {
    C_START + LANE_BITS * x + z
}

/// Bit `z` of `C'[x]`, the parity of column `x` of `A'`.
pub const fn c_prime_bit(x: usize, z: usize) -> usize {
    C_PRIME_START + LANE_BITS * x + z
}

/// Bit `z` of lane `lane` of `A' = θ(A)`.
pub const fn a_prime_bit(lane: usize, z: usize) -> usize {
    A_PRIME_START + LANE_BITS * lane + z
}

/// Limb `j` of lane `lane` (`1..25`) of `A''`, the state after χ.
pub const fn a_chi_limb(lane: usize, j: usize) -> usize {
    assert!(lane >= 1 && lane < NUM_LANES);
    A_CHI_START + 2 * (lane - 1) + j
}

/// Bit `z` of lane 0 of `A''`.
pub const fn a_chi_lane0_bit(z: usize) -> usize {
    A_CHI_LANE0_START + z
}

/// Limb `j` of lane `lane` of the permutation's input state, on every row of the permutation.
pub const fn input_limb(lane: usize, j: usize) -> usize {
    INPUT_START + 2 * lane + j
}

/// Where bit `z` of lane `lane` of `B = π(ρ(A'))` comes from: `(lane of A', bit)`.
///
/// ρ rotates lane `(x, y)` left by `r[x][y]`, π moves it to `(y, 2x + 3y mod 5)`
/// (FIPS 202 §3.2.2–3.2.3).
pub fn b_source(lane: usize, z: usize) -> (usize, usize) {
    let (bx, by) = (lane % 5, lane / 5);
    // bx = y, by = 2x + 3y (mod 5)  ⇒  x = 3 (by − 3 bx) (mod 5), as 3 = 2⁻¹ mod 5.
    let y = bx;
    let x = (3 * (by + 5 * 3 - 3 * bx)) % 5;
    let src = x + 5 * y;
    let r = crate::keccak::native::ROTATION_OFFSETS[src] as usize;
    (src, (z + LANE_BITS - r) % LANE_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_disjoint_and_dense() {
        let mut seen = vec![false; NUM_COLUMNS];
        let mut mark = |c: usize| {
            assert!(!seen[c], "column {c} used twice");
            seen[c] = true;
        };
        (0..NUM_ROUNDS).for_each(|i| mark(round_flag(i)));
        for l in 0..NUM_LANES {
            (0..2).for_each(|j| mark(a_limb(l, j)));
            (0..2).for_each(|j| mark(input_limb(l, j)));
            (0..LANE_BITS).for_each(|z| mark(a_prime_bit(l, z)));
            if l > 0 {
                (0..2).for_each(|j| mark(a_chi_limb(l, j)));
            }
        }
        for x in 0..5 {
            for z in 0..LANE_BITS {
                mark(c_bit(x, z));
                mark(c_prime_bit(x, z));
            }
        }
        (0..LANE_BITS).for_each(|z| mark(a_chi_lane0_bit(z)));
        mark(MULTIPLICITY);
        assert!(seen.iter().all(|&s| s));
        assert_eq!(NUM_COLUMNS, 2477);
    }

    /// `b_source` agrees with the native ρ∘π on every bit.
    #[test]
    fn b_source_matches_native_rho_pi() {
        use crate::keccak::native::ROTATION_OFFSETS;
        let state: [u64; 25] =
            core::array::from_fn(|i| 0x9e37_79b9_7f4a_7c15u64.rotate_left(i as u32) ^ i as u64);
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] =
                    state[x + 5 * y].rotate_left(ROTATION_OFFSETS[x + 5 * y]);
            }
        }
        for lane in 0..NUM_LANES {
            for z in 0..LANE_BITS {
                let (src, sz) = b_source(lane, z);
                assert_eq!((b[lane] >> z) & 1, (state[src] >> sz) & 1, "lane {lane} bit {z}");
            }
        }
    }
}

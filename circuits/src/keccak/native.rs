//! Native twin of the keccak gadget: keccak-f\[1600\] and the keccak256 sponge, written from
//! FIPS 202 (§3.2 step mappings, §3.3 round constants, §5.1 `pad10*1`) with Ethereum's
//! domain byte `0x01` (original Keccak, not SHA3's `0x06`).
//!
//! Layout: the state is 25 lanes `state[x + 5 * y]`; bit `z` of a lane is `(lane >> z) & 1`;
//! bytes are absorbed into lanes little-endian (byte `8 * i + k` of the state is byte `k` of
//! lane `i`), as FIPS 202 §B.1 specifies.

/// Number of rounds of keccak-f\[1600\] (FIPS 202 §3.4: 12 + 2·ℓ, ℓ = 6).
pub const KECCAK_ROUNDS: usize = 24;

/// Sponge rate of keccak256 in bytes (1600 − 2·256 bits = 1088 bits).
pub const KECCAK256_RATE_BYTES: usize = 136;

/// Round constants `RC[ir]` of ι (FIPS 202 Algorithm 6, derived from `rc(t)` of Algorithm 5;
/// re-derived in the tests).
pub const ROUND_CONSTANTS: [u64; KECCAK_ROUNDS] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808A,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808B,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008A,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000A,
    0x0000_0000_8000_808B,
    0x8000_0000_0000_008B,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800A,
    0x8000_0000_8000_000A,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// ρ rotation offsets `r[x + 5 * y]` (FIPS 202 Algorithm 2 / Table 2, re-derived in the tests).
pub const ROTATION_OFFSETS: [u32; 25] = [
    0, 1, 62, 28, 27, //
    36, 44, 6, 55, 20, //
    3, 10, 43, 25, 39, //
    41, 45, 15, 21, 8, //
    18, 2, 61, 56, 14,
];

/// keccak-f\[1600\] in place on 25 lanes (`state[x + 5 * y]`), FIPS 202 Algorithm 7.
pub fn keccak_f_native(state: &mut [u64; 25]) {
    for rc in ROUND_CONSTANTS {
        // θ
        let mut c = [0u64; 5];
        for x in 0..5 {
            c[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                state[x + 5 * y] ^= d;
            }
        }
        // ρ and π: B[y][2x + 3y] = rot(A[x][y], r[x][y])
        let mut b = [0u64; 25];
        for x in 0..5 {
            for y in 0..5 {
                b[y + 5 * ((2 * x + 3 * y) % 5)] =
                    state[x + 5 * y].rotate_left(ROTATION_OFFSETS[x + 5 * y]);
            }
        }
        // χ
        for y in 0..5 {
            for x in 0..5 {
                state[x + 5 * y] =
                    b[x + 5 * y] ^ (!b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
            }
        }
        // ι
        state[0] ^= rc;
    }
}

/// Pads `input` with Keccak's `pad10*1` and domain byte `0x01` to a multiple of
/// [`KECCAK256_RATE_BYTES`] (at least one padding byte; `0x81` when only one fits).
pub fn keccak256_pad(input: &[u8]) -> Vec<u8> {
    let blocks = input.len() / KECCAK256_RATE_BYTES + 1;
    let mut padded = vec![0u8; blocks * KECCAK256_RATE_BYTES];
    padded[..input.len()].copy_from_slice(input);
    padded[input.len()] ^= 0x01;
    *padded.last_mut().expect("non-empty") ^= 0x80;
    padded
}

/// Ethereum keccak256 of `input` (32-byte digest), a sponge over [`keccak_f_native`].
pub fn keccak256_native(input: &[u8]) -> [u8; 32] {
    let mut state = *keccak256_permutation_inputs(input).last().expect("at least one block");
    keccak_f_native(&mut state);
    let mut out = [0u8; 32];
    for i in 0..4 {
        out[8 * i..8 * i + 8].copy_from_slice(&state[i].to_le_bytes());
    }
    out
}

/// The keccak-f inputs of the keccak256 sponge over `input`, in order: one state (lanes
/// `x + 5y`) per 136-byte block of the padded input (FIPS 202 §4 sponge; [`keccak256_pad`]),
/// each the previous permutation's output with the block xored into lanes 0..17;
/// `⌊len / 136⌋ + 1` states. The digest is the first 4 lanes of keccak-f of the last one.
pub fn keccak256_permutation_inputs(input: &[u8]) -> Vec<[u64; 25]> {
    let mut state = [0u64; 25];
    let mut out = Vec::new();
    for block in keccak256_pad(input).chunks(KECCAK256_RATE_BYTES) {
        if !out.is_empty() {
            keccak_f_native(&mut state);
        }
        for (lane, bytes) in state.iter_mut().zip(block.chunks(8)) {
            *lane ^= u64::from_le_bytes(bytes.try_into().expect("8-byte lane"));
        }
        out.push(state);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// FIPS 202 Algorithm 5, rc(t), with the LFSR state as a bit vector `R[0..8]`.
    fn rc_bit_vec(t: usize) -> bool {
        if t.is_multiple_of(255) {
            return true;
        }
        let mut r = [true, false, false, false, false, false, false, false];
        for _ in 1..=(t % 255) {
            let mut n = [false; 9];
            n[1..9].copy_from_slice(&r);
            n[0] ^= n[8];
            n[4] ^= n[8];
            n[5] ^= n[8];
            n[6] ^= n[8];
            r.copy_from_slice(&n[..8]);
        }
        r[0]
    }

    #[test]
    fn round_constants_match_fips202_algorithm_6() {
        for (ir, rc) in ROUND_CONSTANTS.iter().enumerate() {
            let mut expected = 0u64;
            for j in 0..=6 {
                if rc_bit_vec(j + 7 * ir) {
                    expected |= 1 << ((1usize << j) - 1);
                }
            }
            assert_eq!(*rc, expected, "round {ir}");
        }
    }

    #[test]
    fn rotation_offsets_match_fips202_algorithm_2() {
        let mut r = [0u32; 25];
        let (mut x, mut y) = (1usize, 0usize);
        for t in 0..24u32 {
            r[x + 5 * y] = ((t + 1) * (t + 2) / 2) % 64;
            (x, y) = (y, (2 * x + 3 * y) % 5);
        }
        assert_eq!(r, ROTATION_OFFSETS);
    }

    #[test]
    fn keccak_f_zero_state_known_answer() {
        // First lane of keccak-f[1600] applied to the all-zero state (Keccak team's
        // KeccakF-1600 intermediate values).
        let mut s = [0u64; 25];
        keccak_f_native(&mut s);
        assert_eq!(s[0], 0xF1258F7940E1DDE7);
        assert_eq!(s[1], 0x84D5CCF933C0478A);
    }

    #[test]
    fn keccak256_matches_alloy() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for len in [0usize, 1, 55, 135, 136, 137, 271, 272, 273, 1000] {
            let input: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            assert_eq!(
                keccak256_native(&input),
                alloy_primitives::keccak256(&input).0,
                "len {len}"
            );
        }
    }
}

//! RLP decoding gadgets over byte windows (Yellow Paper, appendix B).
//!
//! A *byte window* is a slice of [`Target`]s, one byte each, whose position 0 is the start
//! of the item being decoded. Decoding a sequence of items moves the window: after an item
//! of `item_len` bytes the window is shifted left by `item_len`. A constant shift is free
//! re-indexing; a variable shift is a barrel shifter over the little-endian bits of the
//! amount ([`CircuitBuilderRlp::shift_left_var`]), which costs one `select` (≤ 2 arithmetic
//! operations, 1/10 of a row under `standard_recursion_config`) per output byte and bit.
//! `random_access` is not used: it is limited to vectors of 64 elements.
//!
//! What is constrained: the prefix of a *short string* (payload ≤ 55 bytes) is decoded into
//! `is_single_byte`, `header_len`, `data_len` and `item_len`, and any prefix that is not a
//! single byte (`< 0x80`) or a string of at most `max_data_len` bytes
//! (`0x80 ..= 0x80 + max_data_len`) makes the circuit unsatisfiable: long strings
//! (`0xb8..=0xbf`) and lists (`0xc0..=0xff`) included.
//!
//! What is assumed: every window byte is already range-checked to 8 bits by the caller.
//! Canonical encoding is *not* enforced: `0x81 0x05` decodes to 5 like `0x05`, and leading
//! zero bytes of an integer are accepted (they do not change its value). Callers that need
//! canonical encodings (e.g. to make the decoding injective) must add that check; the header
//! circuit does not, because the header bytes are bound by their keccak hash to the chain.
//!
//! WARNING: a window byte that is not range-checked to 8 bits breaks soundness: the prefix
//! decomposition (`split_le(prefix, 8)`) would reject it, but data bytes are copied as they
//! are into the decoded values.

use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

/// First prefix byte of a non-single-byte string (`0x80`: empty string).
pub const RLP_STRING_OFFSET: u64 = 0x80;
/// Largest payload of a short string (prefix `0xb7`); longer strings use a length-of-length.
pub const RLP_MAX_SHORT_STRING_LEN: usize = 55;

/// Number of bits needed to write `n` in binary (`bits_for(0) == 0`, `bits_for(33) == 6`).
pub const fn bits_for(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// The decoded prefix of a short RLP string (see [`CircuitBuilderRlp::rlp_short_string_prefix`]).
#[derive(Clone, Debug)]
pub struct RlpPrefixTargets {
    /// `prefix < 0x80`: the prefix byte is itself the whole item and its value.
    pub is_single_byte: BoolTarget,
    /// Bytes before the payload: 0 for a single byte, 1 otherwise.
    pub header_len: Target,
    /// Payload bytes: 1 for a single byte, `prefix − 0x80` otherwise; at most `max_data_len`.
    pub data_len: Target,
    /// Bytes of the whole item, `header_len + data_len` (≥ 1): the amount to shift the window by.
    pub item_len: Target,
    /// Little-endian bits (`bits_for(max_data_len)` of them) of `max_data_len − string_len`,
    /// where `string_len` is `prefix − 0x80` for a string and 0 for a single byte. This is the
    /// right-alignment shift used by [`CircuitBuilderRlp::rlp_short_string`]; its
    /// decomposition is the range check `string_len ≤ max_data_len`.
    pub align_bits: Vec<BoolTarget>,
}

/// A decoded short RLP string (see [`CircuitBuilderRlp::rlp_short_string`]).
#[derive(Clone, Debug)]
pub struct RlpShortStringTargets {
    /// The decoded prefix.
    pub prefix: RlpPrefixTargets,
    /// The payload right-aligned into `max_data_len` big-endian bytes, zero-padded on the
    /// left (so an integer field reads as its value); empty if the value was not requested.
    pub value: Vec<Target>,
}

/// RLP gadgets on [`CircuitBuilder`]. Model: axiom-eth `rlp/mod.rs` (`RlpChip`), with
/// barrel shifters instead of random-linear-combination lookups.
pub trait CircuitBuilderRlp<F: RichField + Extendable<D>, const D: usize> {
    /// `if b { x } else { y }`, with free or one-operation special cases when `x == y` or
    /// either side is the zero constant.
    fn select_byte(&mut self, b: BoolTarget, x: Target, y: Target) -> Target;

    /// Asserts `x == c`.
    fn assert_const(&mut self, x: Target, c: u64);

    /// Decodes the prefix byte of a short string item of at most `max_data_len` payload
    /// bytes (`max_data_len ≤ 55`). Costs two rows (`split_le`) and a few operations.
    ///
    /// Constrains: `prefix < 0x80` (single byte) or `0x80 ≤ prefix ≤ 0x80 + max_data_len`;
    /// anything else is unsatisfiable.
    ///
    /// WARNING: `prefix` must be range-checked to 8 bits by the caller (it is decomposed into
    /// 8 bits here, which does check it, but the caller's bytes are usually checked once for
    /// all uses).
    fn rlp_short_string_prefix(&mut self, prefix: Target, max_data_len: usize) -> RlpPrefixTargets;

    /// Decodes the short string item at `window[0]` (at most `max_data_len ≤ 55` payload
    /// bytes); if `with_value`, also returns the payload right-aligned into `max_data_len`
    /// big-endian bytes. `window` must hold at least `max_data_len + 1` bytes (the item and
    /// whatever follows it; bytes after the item are ignored).
    fn rlp_short_string(
        &mut self,
        window: &[Target],
        max_data_len: usize,
        with_value: bool,
    ) -> RlpShortStringTargets;

    /// `out[i] = window[i + s]` for `i < out_len` (zero past the end of `window`), where `s` is
    /// the value of the little-endian `bits`. A barrel shifter, highest bit first: about
    /// `bits.len() · out_len` selects.
    fn shift_left_var(
        &mut self,
        window: &[Target],
        bits: &[BoolTarget],
        out_len: usize,
    ) -> Vec<Target>;

    /// `out[i] = window[i + amount]` if `b`, else `window[i]`, for `i < out_len`.
    fn shift_left_cond(
        &mut self,
        window: &[Target],
        b: BoolTarget,
        amount: usize,
        out_len: usize,
    ) -> Vec<Target>;

    /// Shifts `bytes` right by the value `s` of the little-endian `bits` (zero fill) and keeps
    /// the last `out_len` bytes: `out[j] = bytes[bytes.len() − out_len + j − s]`, zero when
    /// the index is negative. Right-aligns a variable-length big-endian value.
    fn shift_right_var(
        &mut self,
        bytes: &[Target],
        bits: &[BoolTarget],
        out_len: usize,
    ) -> Vec<Target>;
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderRlp<F, D>
    for CircuitBuilder<F, D>
{
    fn select_byte(&mut self, b: BoolTarget, x: Target, y: Target) -> Target {
        let zero = self.zero();
        if x == y {
            x
        } else if x == zero {
            // y − b·y
            self.arithmetic(F::NEG_ONE, F::ONE, b.target, y, y)
        } else if y == zero {
            self.mul(b.target, x)
        } else {
            self.select(b, x, y)
        }
    }

    fn assert_const(&mut self, x: Target, c: u64) {
        let c = self.constant(F::from_canonical_u64(c));
        self.connect(x, c);
    }

    fn rlp_short_string_prefix(&mut self, prefix: Target, max_data_len: usize) -> RlpPrefixTargets {
        assert!(max_data_len <= RLP_MAX_SHORT_STRING_LEN, "not a short string");
        let prefix_bits = self.split_le(prefix, 8);
        let is_string = prefix_bits[7];
        let is_single_byte = self.not(is_string);
        // string_len = is_string · (prefix − 0x80) = is_string · prefix − 0x80 · is_string
        // (is_string is boolean): 0 for a single byte.
        let string_len = self.arithmetic(
            F::ONE,
            -F::from_canonical_u64(RLP_STRING_OFFSET),
            is_string.target,
            prefix,
            is_string.target,
        );
        // max − string_len ∈ [0, 2^k) with string_len ∈ [0, 128) forces string_len ≤ max.
        let max = self.constant(F::from_canonical_usize(max_data_len));
        let pad = self.sub(max, string_len);
        let align_bits = self.split_le(pad, bits_for(max_data_len));
        let header_len = is_string.target;
        let data_len = self.add(string_len, is_single_byte.target);
        let one = self.one();
        let item_len = self.add(string_len, one);
        RlpPrefixTargets { is_single_byte, header_len, data_len, item_len, align_bits }
    }

    fn rlp_short_string(
        &mut self,
        window: &[Target],
        max_data_len: usize,
        with_value: bool,
    ) -> RlpShortStringTargets {
        assert!(window.len() > max_data_len, "window shorter than the item");
        let prefix = self.rlp_short_string_prefix(window[0], max_data_len);
        let value = if with_value {
            // [single ? p : 0, window[1..=max]] shifted right by max − string_len, last `max`
            // bytes: a single byte lands in the last position; a string's payload ends there
            // and its prefix is zeroed.
            let mut v = Vec::with_capacity(max_data_len + 1);
            v.push(self.mul(prefix.is_single_byte.target, window[0]));
            v.extend_from_slice(&window[1..=max_data_len]);
            self.shift_right_var(&v, &prefix.align_bits, max_data_len)
        } else {
            Vec::new()
        };
        RlpShortStringTargets { prefix, value }
    }

    fn shift_left_var(
        &mut self,
        window: &[Target],
        bits: &[BoolTarget],
        out_len: usize,
    ) -> Vec<Target> {
        let zero = self.zero();
        let mut cur = window.to_vec();
        for j in (0..bits.len()).rev() {
            let step = 1usize << j;
            // Shifts by the lower bits still to come read at most `step − 1` further.
            let need = (out_len + step - 1).min(cur.len());
            let next = (0..need)
                .map(|i| {
                    let far = cur.get(i + step).copied().unwrap_or(zero);
                    self.select_byte(bits[j], far, cur[i])
                })
                .collect();
            cur = next;
        }
        cur.resize(out_len, zero);
        cur
    }

    fn shift_left_cond(
        &mut self,
        window: &[Target],
        b: BoolTarget,
        amount: usize,
        out_len: usize,
    ) -> Vec<Target> {
        let zero = self.zero();
        (0..out_len)
            .map(|i| {
                let far = window.get(i + amount).copied().unwrap_or(zero);
                let near = window.get(i).copied().unwrap_or(zero);
                self.select_byte(b, far, near)
            })
            .collect()
    }

    fn shift_right_var(
        &mut self,
        bytes: &[Target],
        bits: &[BoolTarget],
        out_len: usize,
    ) -> Vec<Target> {
        // Reversed, a right shift is a left shift.
        assert!(out_len <= bytes.len());
        let reversed: Vec<Target> = bytes.iter().rev().copied().collect();
        let mut out = self.shift_left_var(&reversed, bits, out_len);
        out.reverse();
        out
    }
}

/// Decodes a string item's prefix at `w[0]` (single byte, short string, `0xb8`/`0xb9` long
/// string), gated by `on` (off: nothing is constrained). Returns `(header_len, data_len)`.
pub(crate) fn string_item<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    w: &[Target],
    on: BoolTarget,
) -> (Target, Target) {
    let bits = b.split_le(w[0], 8);
    let is_b8 = b.is_equal_const(w[0], 0xb8);
    let is_b9 = b.is_equal_const(w[0], 0xb9);
    let long = b.add(is_b8.target, is_b9.target);
    // short = bit7 − long: 1 for 0x80..=0xb7 (and for 0xba..=0xff, rejected below).
    let short = b.sub(bits[7].target, long);
    let gate = b.mul(on.target, short);
    assert_short_len(b, gate, w[0], 0x80);
    let single = b.not(bits[7]);
    // data_len = single + short·(w0 − 0x80) + b8·w1 + b9·(256 w1 + w2)
    let short_len = b.arithmetic(F::ONE, -F::from_canonical_u64(0x80), short, w[0], short);
    let mut data_len = b.add(single.target, short_len);
    data_len = b.mul_add(is_b8.target, w[1], data_len);
    let two_bytes = b.mul_const_add(F::from_canonical_u64(256), w[1], w[2]);
    data_len = b.mul_add(is_b9.target, two_bytes, data_len);
    // header_len = short + 2·b8 + 3·b9
    let mut header_len = b.mul_const_add(F::TWO, is_b8.target, short);
    header_len = b.mul_const_add(F::from_canonical_u64(3), is_b9.target, header_len);
    (header_len, data_len)
}

/// `is_equal` against a constant.
pub(crate) trait IsEqualConst {
    /// `x == c` as a boolean (plonky2's `is_equal` against a constant).
    fn is_equal_const(&mut self, x: Target, c: u64) -> BoolTarget;
}

impl<F: RichField + Extendable<D>, const D: usize> IsEqualConst for CircuitBuilder<F, D> {
    fn is_equal_const(&mut self, x: Target, c: u64) -> BoolTarget {
        let c = self.constant(F::from_canonical_u64(c));
        self.is_equal(x, c)
    }
}

/// Asserts `gate · (prefix − offset) ∈ [0, 55]`: a short string (`offset` 0x80) or short list
/// (0xc0) prefix when `gate` is 1; nothing when it is 0.
pub(crate) fn assert_short_len<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    gate: Target,
    prefix: Target,
    offset: u64,
) {
    let t = b.add_const(prefix, -F::from_canonical_u64(offset));
    let t = b.mul(gate, t);
    b.range_check(t, 6);
    let c55 = b.constant(F::from_canonical_u64(55));
    let slack = b.sub(c55, t);
    b.range_check(slack, 6);
}

/// Asserts `on · x = 0`.
pub(crate) fn assert_zero_if<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    on: Target,
    x: Target,
) {
    let p = b.mul(on, x);
    b.assert_zero(p);
}

/// Decodes a list item's prefix at `w[0]`, gated by `on` (off: nothing is constrained):
/// `0xc0..=0xf7` (short), `0xf8 l` or `0xf9 l l` (long, payloads below 64 KiB). Returns
/// `(header_len, payload_len)`; `header_len` is 1 to 3. A prefix below `0xc0` or above `0xf9`
/// is unsatisfiable when `on`.
pub(crate) fn list_item<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    w: &[Target],
    on: BoolTarget,
) -> (Target, Target) {
    let is_f8 = b.is_equal_const(w[0], 0xf8);
    let is_f9 = b.is_equal_const(w[0], 0xf9);
    let long = b.add(is_f8.target, is_f9.target);
    let one = b.one();
    let short = b.sub(one, long);
    let gate = b.mul(on.target, short);
    assert_short_len(b, gate, w[0], 0xc0);
    let short_len = b.arithmetic(F::ONE, -F::from_canonical_u64(0xc0), short, w[0], short);
    let mut payload = b.mul_add(is_f8.target, w[1], short_len);
    let two_bytes = b.mul_const_add(F::from_canonical_u64(256), w[1], w[2]);
    payload = b.mul_add(is_f9.target, two_bytes, payload);
    let mut header_len = b.add(one, is_f8.target);
    header_len = b.mul_const_add(F::TWO, is_f9.target, header_len);
    (header_len, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::config::PoseidonGoldilocksConfig;

    const D: usize = 2;
    type C = PoseidonGoldilocksConfig;
    type F = <C as plonky2::plonk::config::GenericConfig<D>>::F;

    /// Decodes the string at the start of a 10-byte window (max payload 8) and exposes
    /// `item_len` and the value; proves with the given window and returns the public inputs,
    /// or `None` when proving or verifying fails.
    fn decode_window(window: &[u8; 10]) -> Option<Vec<u64>> {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let w = b.add_virtual_targets(10);
        let s = b.rlp_short_string(&w, 8, true);
        b.register_public_input(s.prefix.item_len);
        b.register_public_input(s.prefix.data_len);
        b.register_public_input(s.prefix.is_single_byte.target);
        b.register_public_inputs(&s.value);
        // The next item after shifting must start at the right place.
        let bits = b.split_le(s.prefix.item_len, 4);
        let rest = b.shift_left_var(&w, &bits, 1);
        b.register_public_input(rest[0]);
        let data = b.build::<C>();
        let mut pw = PartialWitness::new();
        for (t, v) in w.iter().zip(window) {
            pw.set_target(*t, F::from_canonical_u8(*v)).unwrap();
        }
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let proof = data.prove(pw).ok()?;
            data.verify(proof.clone()).ok()?;
            Some(proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect::<Vec<_>>())
        }));
        res.ok().flatten()
    }

    #[test]
    fn short_string_decodes_and_rejects() {
        // 0x83 01 02 03 | 0x42 …: value 0x010203, item 4 bytes, next byte 0x42.
        let pis = decode_window(&[0x83, 1, 2, 3, 0x42, 9, 9, 9, 9, 9]).expect("valid string");
        assert_eq!(&pis[..3], &[4, 3, 0]);
        assert_eq!(&pis[3..11], &[0, 0, 0, 0, 0, 1, 2, 3]);
        assert_eq!(pis[11], 0x42);
        // Single byte 0x7f.
        let pis = decode_window(&[0x7f, 0x55, 9, 9, 9, 9, 9, 9, 9, 9]).expect("single byte");
        assert_eq!(&pis[..3], &[1, 1, 1]);
        assert_eq!(&pis[3..11], &[0, 0, 0, 0, 0, 0, 0, 0x7f]);
        assert_eq!(pis[11], 0x55);
        // Empty string 0x80.
        let pis = decode_window(&[0x80, 0x55, 9, 9, 9, 9, 9, 9, 9, 9]).expect("empty string");
        assert_eq!(&pis[..3], &[1, 0, 0]);
        assert_eq!(&pis[3..11], &[0; 8]);
        // Full width 0x88.
        let pis = decode_window(&[0x88, 1, 2, 3, 4, 5, 6, 7, 8, 0x55]).expect("8 bytes");
        assert_eq!(&pis[3..11], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(pis[11], 0x55);
        // Too long for the field, long strings and lists are unsatisfiable.
        for p in [0x89u8, 0xb7, 0xb8, 0xbf, 0xc0, 0xf9, 0xff] {
            assert!(
                decode_window(&[p, 1, 2, 3, 4, 5, 6, 7, 8, 9]).is_none(),
                "prefix {p:#x} accepted"
            );
        }
    }

    #[test]
    fn bits_for_values() {
        assert_eq!(bits_for(0), 0);
        assert_eq!(bits_for(1), 1);
        assert_eq!(bits_for(8), 4);
        assert_eq!(bits_for(9), 4);
        assert_eq!(bits_for(32), 6);
        assert_eq!(bits_for(33), 6);
        assert_eq!(bits_for(102), 7);
    }
}

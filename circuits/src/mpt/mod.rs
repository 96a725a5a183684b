//! Merkle-Patricia-trie inclusion and exclusion proofs in plonky2 (Yellow Paper, appendix D): a
//! key's value, or its absence, proven against a trie root by the nodes on the key's path.
//!
//! # What the circuit proves
//! For `root`, `key` (nibbles, `key_len ≤ max_key_nibbles`), `exists` and `value` (bytes,
//! `value_len`): there are nodes `n_0 .. n_{d−1}` (`0 ≤ d ≤ max_depth`, each at most
//! `max_node_bytes`; `d = 0` only for the empty trie, whose root is [`EMPTY_ROOT`]) with
//! - `keccak256(n_0) = root` and, for `i > 0`, `keccak256(n_i)` is the child reference that
//!   `n_{i−1}` holds for the key's next nibble (a branch) or path (an extension);
//! - every `n_i` decodes as a **branch** (an RLP list of 17 items: 16 children, each the empty
//!   string `0x80` or a 32-byte hash `0xa0 ‖ h`, and an empty value `0x80`), an **extension**
//!   (`[hp(path), 0xa0 ‖ h]`, hex-prefix flag 0 or 1) or a **leaf** (`[hp(path), value]`, flag 2
//!   or 3), the items tiling the list payload exactly;
//! - the nibbles consumed along the way (one per branch, the path of each extension and of the
//!   leaf) are exactly the key: each extension's and the leaf's path equals the key at the
//!   current position, and the leaf's path ends at `key_len`;
//! - inclusion (`exists = 1`): `n_{d−1}` is a leaf whose path is the rest of the key, and
//!   `value` is its value string (single byte, short or long string);
//! - exclusion (`exists = 0`): `n_{d−1}` is a branch whose item for the key's next nibble is
//!   empty (`0x80`), an extension whose path leaves the key, or a leaf of another key (its path
//!   differs from the key, or ends before or after it); `value` is empty.
//!
//! Every nibble consumed before the last node matched the key, so the last node is where the
//! key's path ends in this trie; the three exclusion cases are exactly the ways it can end
//! without the key.
//!
//! The node type flags are witnesses; the decoding constraints of the claimed type must hold,
//! and an RLP list has a single decoding, so a node cannot be read as another type.
//! Non-canonical RLP (a long-form length below 56, `0x81 x` with `x < 0x80`) and a non-zero
//! odd-path pad are not rejected by the decoding: every node is bound by its keccak256 to the
//! root, and the real trie's nodes are canonical.
//!
//! # Limits (completeness, not soundness)
//! - Children embedded in their parent (nodes whose RLP is shorter than 32 bytes) and branch
//!   values are not supported: such a proof is unsatisfiable. Secure tries (state, storage:
//!   32-byte hashed keys) and the receipts trie (keys `rlp(i)`, of which none is a prefix of
//!   another, leaves of more than 32 bytes) have neither.
//! - Lists use at most two length bytes (`0xf9`), strings likewise (`0xb9`): nodes < 64 KiB.
//!
//! # Costs
//! Per level: `keccak256_var` of `max_node_bytes` (`ceil((max_node_bytes + 1) / 136)`
//! permutations, about 1,900 rows each) plus about 15 arithmetic operations per node byte for
//! the decoding. Every level pays for its capacity whether or not it is used.

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::keccak::{CircuitBuilderKeccak, KECCAK256_DIGEST_BYTES};
use crate::rlp::{
    assert_zero_if, bits_for, list_item, string_item, CircuitBuilderRlp, IsEqualConst,
};

/// Largest branch node: `0xf9 len len`, 16 × (`0xa0` + 32 bytes), `0x80` = 532 bytes.
pub const MAX_BRANCH_NODE_BYTES: usize = 3 + 16 * 33 + 1;
/// Nibbles of a secure-trie key (keccak256 of the address or slot).
pub const SECURE_KEY_NIBBLES: usize = 64;
/// Longest hex-prefix path item payload: a flag byte and 32 bytes of nibbles.
const MAX_HP_BYTES: usize = 33;
/// Most nibbles a hex-prefix path can hold (`2 · 32 + 1`).
const MAX_PATH_NIBBLES: usize = 2 * (MAX_HP_BYTES - 1) + 1;

/// Shape of an inclusion circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MptConfig {
    /// Most nodes on the path (root to leaf).
    pub max_depth: usize,
    /// Capacity of every node, bytes (at least [`MAX_BRANCH_NODE_BYTES`] for tries with full
    /// branches; a leaf with a long value needs more).
    pub max_node_bytes: usize,
    /// Most key nibbles (64 for secure tries).
    pub max_key_nibbles: usize,
}

/// One node slot of the path.
#[derive(Clone, Debug)]
pub struct MptNodeTargets {
    /// The node's RLP, `max_node_bytes` bytes, zero past `len`.
    pub bytes: Vec<Target>,
    /// Its length in bytes.
    pub len: Target,
    /// Whether the slot holds a node of the path (the active slots are a prefix).
    pub active: BoolTarget,
    /// Node type flags (witness; exactly one is set on an active slot, none on another).
    pub is_branch: BoolTarget,
    /// See `is_branch`.
    pub is_extension: BoolTarget,
    /// See `is_branch`.
    pub is_leaf: BoolTarget,
}

/// Targets of an inclusion or exclusion proof (see the module doc for what is constrained).
#[derive(Clone, Debug)]
pub struct MptProofTargets {
    /// The trie root, 32 bytes.
    pub root: [Target; KECCAK256_DIGEST_BYTES],
    /// The key's nibbles (`max_key_nibbles`, each range-checked to 4 bits, zero past
    /// `key_len`).
    pub key: Vec<Target>,
    /// Number of key nibbles.
    pub key_len: Target,
    /// 1: the proof shows the key's value (inclusion); 0: it shows the key is absent
    /// (exclusion), and `value` is empty.
    pub exists: BoolTarget,
    /// The path's node slots, root first.
    pub nodes: Vec<MptNodeTargets>,
    /// The leaf's value bytes (`max_node_bytes`), zero past `value_len`; all zero (and
    /// `value_len = 0`) for an exclusion.
    pub value: Vec<Target>,
    /// Length of the value in bytes.
    pub value_len: Target,
}

/// keccak256 of the empty trie, `keccak256(0x80)` (Yellow Paper appendix D).
pub const EMPTY_ROOT: [u8; 32] = [
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
];

/// What a level's decoding says about ending the path there.
struct LevelEnd {
    /// The first byte of a branch's item for the key's nibble (`0xa0` hash, `0x80` empty).
    child_tag: Target,
    /// An extension's or leaf's path differs from the key within the path's length.
    mismatch: BoolTarget,
    /// The nibbles consumed before this level plus the path's length equal `key_len`.
    ends_key: BoolTarget,
}

/// The decoded list header of a node.
struct ListHeader {
    /// 1 (`0xc0..=0xf7`), 2 (`0xf8`) or 3 (`0xf9`).
    header_len: Target,
}

/// Asserts `values[i] = 0` wherever `mask[i]` is 0 (past a prefix mask's length).
fn assert_zero_past<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    mask: &[BoolTarget],
    values: &[Target],
) {
    for (m, &x) in mask.iter().zip(values) {
        let kept = b.mul(m.target, x);
        let outside = b.sub(x, kept);
        b.assert_zero(outside);
    }
}

/// Decodes a node's list header (gated by `active`): `0xc0..=0xf7`, `0xf8 l`, `0xf9 l l`, and
/// checks that header and payload make up `len`.
fn list_header<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    n: &[Target],
    len: Target,
    active: BoolTarget,
) -> ListHeader {
    let (header_len, payload) = list_item(b, n, active);
    let total = b.add(header_len, payload);
    let diff = b.sub(total, len);
    assert_zero_if(b, active.target, diff);
    ListHeader { header_len }
}

/// Inclusion-proof gadgets on [`CircuitBuilder`].
pub trait CircuitBuilderMpt<F: RichField + Extendable<D>, const D: usize> {
    /// Adds an inclusion-or-exclusion proof of `cfg`'s shape; see the module doc. Rows: about
    /// `max_depth · (1,900 · ceil((max_node_bytes + 1) / 136) + max_node_bytes)`.
    fn add_mpt_proof(&mut self, cfg: &MptConfig) -> MptProofTargets;
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderMpt<F, D>
    for CircuitBuilder<F, D>
{
    fn add_mpt_proof(&mut self, cfg: &MptConfig) -> MptProofTargets {
        let b = self;
        let cap = cfg.max_node_bytes;
        assert!(cap >= 3 + MAX_HP_BYTES + 34, "node capacity below a minimal leaf");
        assert!(cfg.max_key_nibbles <= SECURE_KEY_NIBBLES && cfg.max_depth >= 1);
        let zero = b.zero();
        let one = b.one();
        let root: [Target; KECCAK256_DIGEST_BYTES] =
            std::array::from_fn(|_| b.add_virtual_target());
        let key: Vec<Target> = (0..cfg.max_key_nibbles).map(|_| b.add_virtual_target()).collect();
        for &k in &key {
            b.range_check(k, 4);
        }
        let key_len = b.add_virtual_target();
        // The mask also enforces key_len ≤ max_key_nibbles; nibbles past key_len are zero, so
        // the key targets encode the key alone.
        let key_mask = b.prefix_mask(key_len, cfg.max_key_nibbles);
        assert_zero_past(b, &key_mask, &key);

        let mut nodes = Vec::with_capacity(cfg.max_depth);
        let mut hashes = Vec::with_capacity(cfg.max_depth);
        // Child reference each level hands to the next, and the leaf values.
        let mut children: Vec<Vec<Target>> = Vec::with_capacity(cfg.max_depth);
        let mut values: Vec<(Vec<Target>, Target)> = Vec::with_capacity(cfg.max_depth);
        // What decides how the path may end at each level.
        let mut ends: Vec<LevelEnd> = Vec::with_capacity(cfg.max_depth);
        let exists = b.add_virtual_bool_target_safe();
        let absent = b.not(exists);
        // Nibbles consumed before the current level.
        let mut consumed = zero;
        for _ in 0..cfg.max_depth {
            let bytes: Vec<Target> = (0..cap).map(|_| b.add_virtual_target()).collect();
            let len = b.add_virtual_target();
            let active = b.add_virtual_bool_target_safe();
            let is_branch = b.add_virtual_bool_target_safe();
            let is_extension = b.add_virtual_bool_target_safe();
            let is_leaf = b.add_virtual_bool_target_safe();
            let flags = b.add_many([is_branch.target, is_extension.target, is_leaf.target]);
            b.connect(flags, active.target);

            // Bytes: below len range-checked by the hash gadget, zero from len on.
            let mask = b.prefix_mask(len, cap);
            assert_zero_past(b, &mask, &bytes);
            let hash = b.keccak256_var(&bytes, len);
            let header = list_header(b, &bytes, len, active);

            // The key from the current position: nibble j is key[consumed + j].
            let consumed_bits = b.split_le(consumed, bits_for(cfg.max_key_nibbles + 1));
            let key_here = b.shift_left_var(&key, &consumed_bits, MAX_PATH_NIBBLES);

            // --- branch: scan the items ---------------------------------------------------
            let on_branch = is_branch; // active is implied by the flag sum
            let mut remaining = header.header_len; // bytes until the next item starts
            let mut index = zero; // index of the next item
            let mut starts = zero;
            let mut last_is_empty = zero;
            let mut child_pos = zero;
            let mut child_hits = zero;
            for q in 0..cap {
                let start = b.is_equal(remaining, zero);
                let is_hash = b.is_equal_const(bytes[q], 0xa0);
                let is_empty = b.is_equal_const(bytes[q], 0x80);
                let counted = b.and(start, mask[q]);
                // A started item inside the node is 0x80 or 0xa0 ‖ 32 bytes.
                let kinds = b.add(is_hash.target, is_empty.target);
                let bad = b.sub(one, kinds);
                let g = b.mul(on_branch.target, counted.target);
                assert_zero_if(b, g, bad);
                starts = b.add(starts, counted.target);
                // The item starting at len − 1 (mask_q − mask_{q+1}) is the empty value.
                let at_end = if q + 1 < cap {
                    b.sub(mask[q].target, mask[q + 1].target)
                } else {
                    mask[q].target
                };
                let end_start = b.mul(at_end, start.target);
                last_is_empty = b.mul_add(end_start, is_empty.target, last_is_empty);
                // The child of the key's nibble.
                let is_child = b.is_equal(index, key_here[0]);
                let hit = b.mul(counted.target, is_child.target);
                child_hits = b.add(child_hits, hit);
                child_pos = b.mul_const_add(F::from_canonical_usize(q), hit, child_pos);
                // remaining' = start ? 32·is_hash : remaining − 1; index' = index + counted
                let next_item = b.mul_const(F::from_canonical_u64(32), is_hash.target);
                let dec = b.add_const(remaining, -F::ONE);
                remaining = b.select(start, next_item, dec);
                index = b.add(index, counted.target);
            }
            let c17 = b.add_const(starts, -F::from_canonical_u64(17));
            assert_zero_if(b, on_branch.target, c17);
            let not_last = b.sub(one, last_is_empty);
            assert_zero_if(b, on_branch.target, not_last);
            let c1 = b.add_const(child_hits, -F::ONE);
            assert_zero_if(b, on_branch.target, c1);
            let pos_bits = b.split_le(child_pos, bits_for(cap));
            let at_child = b.shift_left_var(&bytes, &pos_bits, 33);

            // --- extension / leaf: [hp(path), item] ----------------------------------------
            let two_item = b.or(is_extension, is_leaf);
            let hl_minus_one = b.add_const(header.header_len, -F::ONE);
            let hl_bits = b.split_le(hl_minus_one, 2);
            let w = b.shift_left_var(&bytes[1..], &hl_bits, cap - 1);
            let path = b.rlp_short_string(&w, MAX_HP_BYTES, false);
            // A path item has at least the flag byte.
            let empty_path = b.is_equal(path.prefix.data_len, zero);
            assert_zero_if(b, two_item.target, empty_path.target);
            let multi_byte = b.not(path.prefix.is_single_byte);
            let hp = b.shift_left_cond(&w, multi_byte, 1, MAX_HP_BYTES);
            let hp_bits = b.split_bytes_le(&hp);
            // flag nibble of hp[0]: bit 4 = odd, bit 5 = leaf, bits 6, 7 zero
            let odd = hp_bits[4];
            assert_zero_if(b, two_item.target, hp_bits[6].target);
            assert_zero_if(b, two_item.target, hp_bits[7].target);
            let leaf_flag_diff = b.sub(hp_bits[5].target, is_leaf.target);
            assert_zero_if(b, two_item.target, leaf_flag_diff);
            // even paths pad the first nibble with zero
            let low0 = b.le_sum(hp_bits[0..4].iter());
            let even = b.not(odd);
            let g = b.mul(two_item.target, even.target);
            assert_zero_if(b, g, low0);
            let nibble = |b: &mut CircuitBuilder<F, D>, byte: usize, high: bool| {
                let o = 8 * byte + if high { 4 } else { 0 };
                b.le_sum(hp_bits[o..o + 4].iter())
            };
            let mut path_nibbles = Vec::with_capacity(MAX_PATH_NIBBLES);
            for j in 0..MAX_PATH_NIBBLES {
                // odd: [lo(hp0), hi(hp1), lo(hp1), ...]; even: [hi(hp1), lo(hp1), ...]
                let odd_n = if j == 0 {
                    nibble(b, 0, false)
                } else {
                    nibble(b, 1 + (j - 1) / 2, (j - 1) % 2 == 0)
                };
                let even_n =
                    if 1 + j / 2 < MAX_HP_BYTES { nibble(b, 1 + j / 2, j % 2 == 0) } else { zero };
                path_nibbles.push(b.select(odd, odd_n, even_n));
            }
            // path_len = 2 (data_len − 1) + odd
            let dl2 = b.mul_const(F::TWO, path.prefix.data_len);
            let path_len = b.add_const(dl2, -F::TWO);
            let path_len = b.add(path_len, odd.target);
            let path_len = b.mul(two_item.target, path_len);
            let path_mask = b.prefix_mask(path_len, MAX_PATH_NIBBLES);
            // mismatch = OR_j (j < path_len ∧ path_j ≠ key_j)
            let mut mismatch = b._false();
            for j in 0..MAX_PATH_NIBBLES {
                let same = b.is_equal(path_nibbles[j], key_here[j]);
                let differs = b.not(same);
                let counted = b.and(path_mask[j], differs);
                mismatch = b.or(mismatch, counted);
            }
            // the second item
            let item_bits = b.split_le(path.prefix.item_len, bits_for(MAX_HP_BYTES + 1));
            let second = b.shift_left_var(&w, &item_bits, cap - 1);
            let before_second = b.add(header.header_len, path.prefix.item_len);
            // extension: 0xa0 ‖ hash ending the node
            let ext_not_hash = b.add_const(second[0], -F::from_canonical_u64(0xa0));
            assert_zero_if(b, is_extension.target, ext_not_hash);
            let ext_end = b.add_const(before_second, F::from_canonical_u64(33));
            let ext_end = b.sub(ext_end, len);
            assert_zero_if(b, is_extension.target, ext_end);
            let no_nibbles = b.is_equal(path_len, zero);
            assert_zero_if(b, is_extension.target, no_nibbles.target);
            // leaf: a string ending the node, and the path ends the key
            let (vh, vlen) = string_item(b, &second, is_leaf);
            let leaf_end = b.add(before_second, vh);
            let leaf_end = b.add(leaf_end, vlen);
            let leaf_end = b.sub(leaf_end, len);
            assert_zero_if(b, is_leaf.target, leaf_end);
            let key_end = b.add(consumed, path_len);
            let key_end = b.sub(key_end, key_len);
            let ends_key = b.is_equal(key_end, zero);
            let vh_bits = b.split_le(vh, 2);
            let value = b.shift_left_var(&second, &vh_bits, cap);

            // child reference handed to the next level, and the nibbles consumed here
            let child: Vec<Target> = (0..KECCAK256_DIGEST_BYTES)
                .map(|t| {
                    let from_branch = b.mul(is_branch.target, at_child[1 + t]);
                    b.mul_add(is_extension.target, second[1 + t], from_branch)
                })
                .collect();
            let step = b.mul(is_extension.target, path_len);
            let step = b.add(step, is_branch.target);
            consumed = b.add(consumed, step);

            nodes.push(MptNodeTargets { bytes, len, active, is_branch, is_extension, is_leaf });
            hashes.push(hash);
            children.push(child);
            values.push((value, vlen));
            ends.push(LevelEnd { child_tag: at_child[0], mismatch, ends_key });
        }

        // The root (or the empty trie), the links, the active prefix and how the path ends.
        let no_nodes = b.not(nodes[0].active);
        assert_zero_if(b, no_nodes.target, exists.target);
        for (t, byte) in EMPTY_ROOT.iter().enumerate() {
            let linked = b.sub(hashes[0][t], root[t]);
            assert_zero_if(b, nodes[0].active.target, linked);
            let empty = b.add_const(root[t], -F::from_canonical_u8(*byte));
            assert_zero_if(b, no_nodes.target, empty);
        }
        let mut value: Vec<Target> = vec![zero; cap];
        let mut value_len = zero;
        for i in 0..cfg.max_depth {
            let n = &nodes[i];
            let e = &ends[i];
            let next_active = if i + 1 < cfg.max_depth { nodes[i + 1].active.target } else { zero };
            // active_{i+1} ≤ active_i
            let orphan = b.sub(one, n.active.target);
            assert_zero_if(b, next_active, orphan);
            let last = b.sub(n.active.target, next_active);
            if i + 1 < cfg.max_depth {
                for t in 0..KECCAK256_DIGEST_BYTES {
                    let diff = b.sub(children[i][t], hashes[i + 1][t]);
                    assert_zero_if(b, next_active, diff);
                }
            }
            // Inside the path: a branch hands on a hash, an extension's path matches the key,
            // a leaf cannot continue.
            let not_hash = b.add_const(e.child_tag, -F::from_canonical_u64(0xa0));
            let g = b.mul(next_active, n.is_branch.target);
            assert_zero_if(b, g, not_hash);
            let g = b.mul(next_active, n.is_extension.target);
            assert_zero_if(b, g, e.mismatch.target);
            assert_zero_if(b, next_active, n.is_leaf.target);
            // The end of an inclusion: a leaf whose path is the rest of the key.
            let g = b.mul(last, exists.target);
            let not_leaf = b.sub(one, n.is_leaf.target);
            assert_zero_if(b, g, not_leaf);
            assert_zero_if(b, g, e.mismatch.target);
            let not_end = b.not(e.ends_key);
            assert_zero_if(b, g, not_end.target);
            // The end of an exclusion: a branch whose slot for the key's nibble is empty, an
            // extension that leaves the key, or a leaf of another key (a path that differs
            // from the key, or that ends before or after it).
            let g = b.mul(last, absent.target);
            let not_empty = b.add_const(e.child_tag, -F::from_canonical_u64(0x80));
            let gb = b.mul(g, n.is_branch.target);
            assert_zero_if(b, gb, not_empty);
            let matches = b.not(e.mismatch);
            let ge = b.mul(g, n.is_extension.target);
            assert_zero_if(b, ge, matches.target);
            let gl = b.mul(g, n.is_leaf.target);
            let same_key = b.and(matches, e.ends_key);
            assert_zero_if(b, gl, same_key.target);
            // The value: the leaf's on an inclusion, empty on an exclusion.
            let takes = b.mul(last, exists.target);
            for (v, x) in value.iter_mut().zip(&values[i].0) {
                *v = b.mul_add(takes, *x, *v);
            }
            value_len = b.mul_add(takes, values[i].1, value_len);
        }
        MptProofTargets { root, key, key_len, exists, nodes, value, value_len }
    }
}

/// The type of a trie node as the circuit's flags name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// 17-item list.
    Branch,
    /// `[hp(path), child]`, flag 0 or 1.
    Extension,
    /// `[hp(path), value]`, flag 2 or 3.
    Leaf,
}

/// The type of an RLP-encoded trie node (item count and hex-prefix flag); `None` when it is
/// neither.
pub fn node_kind(node: &[u8]) -> Option<NodeKind> {
    let mut buf = node;
    let header = alloy_rlp::Header::decode(&mut buf).ok()?;
    if !header.list || buf.len() != header.payload_length {
        return None;
    }
    let mut items = 0;
    let mut first: Option<Vec<u8>> = None;
    while !buf.is_empty() {
        let h = alloy_rlp::Header::decode(&mut buf).ok()?;
        let take = h.payload_length;
        if buf.len() < take {
            return None;
        }
        if items == 0 && !h.list {
            first = Some(buf[..take].to_vec());
        }
        buf = &buf[take..];
        items += 1;
    }
    match items {
        17 => Some(NodeKind::Branch),
        2 => match first?.first()? >> 4 {
            0 | 1 => Some(NodeKind::Extension),
            2 | 3 => Some(NodeKind::Leaf),
            _ => None,
        },
        _ => None,
    }
}

/// Splits bytes into nibbles, high nibble first (a trie key's path).
pub fn nibbles(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

/// Sets the witness of a proof: `root`, the `key` nibbles, the proof `nodes` (root first, as
/// `eth_getProof` returns them; empty for the empty trie) and whether it shows the key's value
/// (`exists`) or its absence. Everything else (decoding, hashes, the value) is computed by the
/// circuit's generators.
///
/// # Errors
/// More nodes than `max_depth`, a node longer than `max_node_bytes` or of no node type, a key
/// longer than `max_key_nibbles`, or a target set twice inconsistently.
pub fn set_mpt_proof<F: RichField>(
    pw: &mut PartialWitness<F>,
    t: &MptProofTargets,
    root: [u8; 32],
    key: &[u8],
    nodes: &[Vec<u8>],
    exists: bool,
) -> anyhow::Result<()> {
    let kinds = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| node_kind(n).ok_or_else(|| anyhow::anyhow!("node {i} is not a trie node")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    set_mpt_proof_as(pw, t, root, key, nodes, &kinds, exists)
}

/// [`set_mpt_proof`] with the node type flags given (tests claim wrong types with it).
fn set_mpt_proof_as<F: RichField>(
    pw: &mut PartialWitness<F>,
    t: &MptProofTargets,
    root: [u8; 32],
    key: &[u8],
    nodes: &[Vec<u8>],
    kinds: &[NodeKind],
    exists: bool,
) -> anyhow::Result<()> {
    anyhow::ensure!(nodes.len() <= t.nodes.len(), "{} nodes", nodes.len());
    pw.set_bool_target(t.exists, exists)?;
    anyhow::ensure!(key.len() <= t.key.len(), "{} key nibbles", key.len());
    for (x, v) in t.root.iter().zip(root) {
        pw.set_target(*x, F::from_canonical_u8(v))?;
    }
    for (i, x) in t.key.iter().enumerate() {
        pw.set_target(*x, F::from_canonical_u8(key.get(i).copied().unwrap_or(0)))?;
    }
    pw.set_target(t.key_len, F::from_canonical_usize(key.len()))?;
    for (i, slot) in t.nodes.iter().enumerate() {
        let node = nodes.get(i).map(Vec::as_slice).unwrap_or_default();
        anyhow::ensure!(node.len() <= slot.bytes.len(), "node {i}: {} bytes", node.len());
        let kind = kinds.get(i).copied();
        for (j, x) in slot.bytes.iter().enumerate() {
            pw.set_target(*x, F::from_canonical_u8(node.get(j).copied().unwrap_or(0)))?;
        }
        pw.set_target(slot.len, F::from_canonical_usize(node.len()))?;
        pw.set_bool_target(slot.active, kind.is_some())?;
        pw.set_bool_target(slot.is_branch, kind == Some(NodeKind::Branch))?;
        pw.set_bool_target(slot.is_extension, kind == Some(NodeKind::Extension))?;
        pw.set_bool_target(slot.is_leaf, kind == Some(NodeKind::Leaf))?;
    }
    Ok(())
}

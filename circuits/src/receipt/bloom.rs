//! The logs bloom in circuit (Yellow Paper §4.3.1, `M3:2048`): whether a 2048-bit
//! `logs_bloom` (a header's or a receipt's) has the three bits an address or a topic sets.
//!
//! A bloom that lacks any of the three bits proves that no log of the block (or receipt) has
//! that address or topic: this is the rule-out a block map uses to skip a block's receipts
//! (DESIGN.md §4). A bloom that has all three proves nothing (false positives), so callers
//! may only rely on [`bloom_contains`] being 0.
//!
//! # Bit layout
//! For `h = keccak256(item)` and `i ∈ {0, 2, 4}`, the bit index is `k = (256·h[i] + h[i+1]) mod
//! 2048`; it is bit `k mod 8` (least significant first) of byte `255 − ⌊k/8⌋` of the bloom
//! (bytes big-endian, as in the header).
//!
//! # Cost
//! One keccak-f permutation per item (items are at most 135 bytes), two byte decompositions
//! and 262 selects per bit: about 2,100 rows per item (4,213 for an address and a topic).

use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::keccak::CircuitBuilderKeccak;
use crate::mapreduce::{D, F};
use crate::receipt::LOGS_BLOOM_BYTES;

/// `values[index]` for the little-endian `bits` of `index` (`values.len() = 2^bits.len()`): a
/// tree of `values.len() − 1` selects.
fn select_by_bits(b: &mut CircuitBuilder<F, D>, values: &[Target], bits: &[BoolTarget]) -> Target {
    assert_eq!(values.len(), 1 << bits.len());
    let mut level = values.to_vec();
    for bit in bits {
        level = level.chunks(2).map(|p| b.select(*bit, p[1], p[0])).collect();
    }
    level[0]
}

/// 1 when `bloom` has all three bits of `item` (an address, 20 bytes, or a topic, 32), 0 when
/// it lacks one (the item is in no log the bloom covers). See the module doc.
///
/// WARNING: the `bloom` and `item` bytes must be range-checked to 8 bits by the caller (the
/// header decoder's and the receipt decoder's are); `item` must be at most 135 bytes.
pub fn bloom_contains(
    b: &mut CircuitBuilder<F, D>,
    bloom: &[Target; LOGS_BLOOM_BYTES],
    item: &[Target],
) -> BoolTarget {
    assert!(item.len() < 136, "one keccak block");
    let h = b.keccak256_fixed(item);
    // Bloom bytes in bit-index order: reversed[j] = bloom[255 − j].
    let reversed: Vec<Target> = bloom.iter().rev().copied().collect();
    let mut all = b._true();
    for i in [0, 2, 4] {
        let hi = b.split_le(h[i], 8);
        let lo = b.split_le(h[i + 1], 8);
        // ⌊k/8⌋ = 32·(h[i] mod 8) + ⌊h[i+1]/8⌋: little-endian bits lo[3..8] then hi[0..3].
        let byte_bits: Vec<BoolTarget> = lo[3..8].iter().chain(&hi[..3]).copied().collect();
        let byte = select_by_bits(b, &reversed, &byte_bits);
        let bits = b.split_le(byte, 8);
        let bit = select_by_bits(b, &bits.iter().map(|x| x.target).collect::<Vec<_>>(), &lo[..3]);
        // A select of booleans is boolean.
        all = b.and(all, BoolTarget::new_unsafe(bit));
    }
    all
}

#[cfg(test)]
mod tests {
    //! Header blooms of mainnet blocks 1150000 and 19432087: every address and topic their
    //! receipts log is contained, and items alloy's bloom lacks are not, the circuit agreeing
    //! with alloy's `contains_input` on every case (a cleared bit included); claiming a
    //! rule-out the bloom does not support must not prove.

    use super::*;
    use alloy_primitives::{Address, Bloom, BloomInput, B256};
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
    use plonky2::plonk::config::PoseidonGoldilocksConfig;
    use std::path::PathBuf;

    type C = PoseidonGoldilocksConfig;

    struct BloomCircuit {
        data: CircuitData<F, C, D>,
        bloom: [Target; LOGS_BLOOM_BYTES],
        address: [Target; 20],
        topic: [Target; 32],
        /// The rule-out claimed for the address: `bloom_contains` must be its negation.
        claimed_out: Target,
    }

    /// Public inputs: contains(address), contains(topic).
    fn circuit() -> BloomCircuit {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let bloom = b.add_virtual_target_arr::<LOGS_BLOOM_BYTES>();
        let address = b.add_virtual_target_arr::<20>();
        let topic = b.add_virtual_target_arr::<32>();
        for &x in bloom.iter().chain(&address).chain(&topic) {
            b.range_check(x, 8);
        }
        let a = bloom_contains(&mut b, &bloom, &address);
        let t = bloom_contains(&mut b, &bloom, &topic);
        let claimed_out = b.add_virtual_target();
        let out = b.not(a);
        b.connect(out.target, claimed_out);
        b.register_public_inputs(&[a.target, t.target]);
        let rows = b.num_gates();
        let data = b.build::<C>();
        eprintln!("bloom check of two items: {rows} rows, 2^{}", data.common.degree_bits());
        BloomCircuit { data, bloom, address, topic, claimed_out }
    }

    fn prove(
        c: &BloomCircuit,
        bloom: &Bloom,
        address: Address,
        topic: B256,
        claimed_out: bool,
    ) -> Option<(bool, bool)> {
        let mut pw = PartialWitness::new();
        let set = |pw: &mut PartialWitness<F>, ts: &[Target], bytes: &[u8]| {
            for (t, &x) in ts.iter().zip(bytes) {
                pw.set_target(*t, F::from_canonical_u8(x)).unwrap();
            }
        };
        set(&mut pw, &c.bloom, bloom.as_slice());
        set(&mut pw, &c.address, address.as_slice());
        set(&mut pw, &c.topic, topic.as_slice());
        pw.set_target(c.claimed_out, F::from_bool(claimed_out)).unwrap();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let proof = c.data.prove(pw).ok()?;
            c.data.verify(proof.clone()).ok()?;
            let p: Vec<u64> = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
            Some((p[0] == 1, p[1] == 1))
        }));
        res.ok().flatten()
    }

    /// The header's bloom and the (address, first topic) of each log of block `number`.
    fn block(number: u64) -> Option<(Bloom, Vec<(Address, B256)>)> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
        let header = std::fs::read(dir.join(format!("headers/{number}.json"))).ok()?;
        let header: alloy_consensus::Header = serde_json::from_slice(&header).expect("header");
        let receipts = std::fs::read(dir.join(format!("receipts/{number}.json"))).ok()?;
        let receipts: Vec<serde_json::Value> = serde_json::from_slice(&receipts).expect("JSON");
        let logs = receipts
            .iter()
            .flat_map(|r| r["logs"].as_array().unwrap().clone())
            .map(|l| {
                let address: Address = l["address"].as_str().unwrap().parse().unwrap();
                let topic: B256 = l["topics"][0].as_str().unwrap().parse().unwrap();
                (address, topic)
            })
            .collect();
        Some((header.logs_bloom, logs))
    }

    fn contains(bloom: &Bloom, item: &[u8]) -> bool {
        bloom.contains_input(BloomInput::Raw(item))
    }

    #[test]
    fn bloom_checks_equal_alloy_on_mainnet_blooms() {
        let Some((early, early_logs)) = block(1_150_000) else { return };
        let Some((late, late_logs)) = block(19_432_087) else { return };
        let c = circuit();
        // Logged items: contained.
        for (bloom, (address, topic)) in [(early, early_logs[0]), (late, late_logs[7])] {
            assert!(contains(&bloom, address.as_slice()) && contains(&bloom, topic.as_slice()));
            assert_eq!(prove(&c, &bloom, address, topic, false), Some((true, true)));
        }
        // Items the bloom lacks (found by search, checked with alloy): not contained.
        let absent_address = (0u8..=255)
            .map(Address::repeat_byte)
            .find(|a| !contains(&early, a.as_slice()))
            .unwrap();
        let absent_topic =
            (0u8..=255).map(B256::repeat_byte).find(|t| !contains(&late, t.as_slice())).unwrap();
        assert_eq!(
            prove(&c, &early, absent_address, early_logs[0].1, true),
            Some((false, true)),
            "an address 1150000's bloom lacks"
        );
        let (address, _) = late_logs[0];
        assert_eq!(prove(&c, &late, address, absent_topic, false), Some((true, false)));
        // One of a logged address's three bits cleared: no longer contained.
        let (address, topic) = early_logs[0];
        let mut cleared = early;
        let h = alloy_primitives::keccak256(address);
        let k = ((h[0] as usize) << 8 | h[1] as usize) & 0x7ff;
        cleared.0[255 - k / 8] &= !(1 << (k % 8));
        assert!(!contains(&cleared, address.as_slice()));
        assert_eq!(prove(&c, &cleared, address, topic, true), Some((false, true)));
    }

    #[test]
    fn rejects_a_rule_out_the_bloom_does_not_support() {
        let Some((bloom, logs)) = block(1_150_000) else { return };
        let c = circuit();
        let (address, topic) = logs[0];
        assert!(prove(&c, &bloom, address, topic, true).is_none(), "a logged address ruled out");
        let mut empty = Bloom::ZERO;
        assert!(prove(&c, &empty, address, topic, false).is_none(), "an empty bloom's item kept");
        empty.accrue(BloomInput::Raw(address.as_slice()));
        assert!(prove(&c, &empty, address, topic, true).is_none(), "its own bloom rules it out");
    }
}

//! Every receipt of mainnet block 1150000 (pre-Byzantium: post-state roots, logs) and one
//! receipt of each type 0 to 3 of block 19432087 (EIP-658 status), decoded in circuit and
//! compared field by field with alloy's decoding of the same bytes; a wrong log count, a
//! wrong length, a forged topic-list header or data prefix must not prove.

use super::*;
use alloy::eips::eip2718::Encodable2718;
use alloy::rpc::types::TransactionReceipt;
use alloy_consensus::{Eip658Value, ReceiptEnvelope, TxReceipt};
use plonky2::field::types::PrimeField64;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use std::path::PathBuf;
use std::sync::OnceLock;

type C = PoseidonGoldilocksConfig;

/// Fits every receipt of 1150000 (largest 1,195 bytes, 4 logs, 160 data bytes).
const SHAPE: ReceiptShape = ReceiptShape { max_bytes: 1_280, max_logs: 4, max_data_bytes: 160 };

struct TestCircuit {
    data: CircuitData<F, C, D>,
    value: Vec<Target>,
    value_len: Target,
    t: ReceiptTargets,
}

/// The decoding circuit: range-checked value bytes in, every decoded field out as public
/// inputs (see [`expected_public_inputs`] for the order).
fn circuit() -> &'static TestCircuit {
    static CELL: OnceLock<TestCircuit> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let value: Vec<Target> = b.add_virtual_targets(SHAPE.max_bytes);
        for &x in &value {
            b.range_check(x, 8);
        }
        let value_len = b.add_virtual_target();
        let t = decode_receipt(&mut b, &value, value_len, &SHAPE);
        b.register_public_inputs(&[t.tx_type, t.has_status.target, t.status]);
        b.register_public_inputs(&t.post_state);
        b.register_public_inputs(&t.cumulative_gas_used.limbs);
        b.register_public_inputs(&[t.cumulative_gas_felt, t.log_count]);
        b.register_public_inputs(&t.logs_bloom);
        for log in &t.logs {
            // Inactive slots are unspecified: expose them gated.
            let gate = |b: &mut CircuitBuilder<F, D>, x: Target| b.mul(log.active.target, x);
            let mut out = vec![log.active.target];
            out.extend(log.address.iter().map(|&x| gate(&mut b, x)));
            out.push(gate(&mut b, log.topic_count));
            out.extend(log.topics.iter().flatten().map(|&x| gate(&mut b, x)));
            out.push(gate(&mut b, log.data_len));
            out.extend(log.data.iter().map(|&x| gate(&mut b, x)));
            b.register_public_inputs(&out);
        }
        let rows = b.num_gates();
        let data = b.build::<C>();
        eprintln!("receipt decoding {SHAPE:?}: {rows} rows, 2^{}", data.common.degree_bits());
        TestCircuit { data, value, value_len, t }
    })
}

/// The public inputs the circuit must expose for `r`, from alloy's decoding.
fn expected_public_inputs(r: &ReceiptEnvelope) -> Vec<u64> {
    let mut v = vec![r.tx_type() as u64];
    match r.status_or_post_state() {
        Eip658Value::Eip658(ok) => v.extend([1, ok as u64]),
        Eip658Value::PostState(_) => v.extend([0, 0]),
    }
    let root = match r.status_or_post_state() {
        Eip658Value::PostState(h) => h.0,
        Eip658Value::Eip658(_) => [0; 32],
    };
    v.extend(root.iter().map(|&x| x as u64));
    let gas = r.cumulative_gas_used();
    v.extend((0..16).map(|i| if i < 4 { (gas >> (16 * i)) & 0xffff } else { 0 }));
    v.extend([gas, r.logs().len() as u64]);
    v.extend(r.bloom().0.iter().map(|&x| x as u64));
    for j in 0..SHAPE.max_logs {
        let Some(log) = r.logs().get(j) else {
            v.extend(std::iter::repeat_n(0, 1 + 20 + 1 + 128 + 1 + SHAPE.max_data_bytes));
            continue;
        };
        v.push(1);
        v.extend(log.address.0.iter().map(|&x| x as u64));
        v.push(log.topics().len() as u64);
        for m in 0..MAX_TOPICS {
            let topic = log.topics().get(m).map(|t| t.0).unwrap_or([0; 32]);
            v.extend(topic.iter().map(|&x| x as u64));
        }
        let data = &log.data.data;
        v.push(data.len() as u64);
        v.extend((0..SHAPE.max_data_bytes).map(|i| data.get(i).copied().unwrap_or(0) as u64));
    }
    v
}

/// Proves the decoding of `bytes` (claimed length `len`, `logs` active slots); the public
/// inputs, or an error (a prover panic included).
fn prove(bytes: &[u8], len: usize, logs: usize) -> Result<Vec<u64>, String> {
    let c = circuit();
    let mut pw = PartialWitness::new();
    let set = |pw: &mut PartialWitness<F>| -> anyhow::Result<()> {
        anyhow::ensure!(bytes.len() <= SHAPE.max_bytes, "{} bytes", bytes.len());
        for (i, &x) in c.value.iter().enumerate() {
            pw.set_target(x, F::from_canonical_u8(bytes.get(i).copied().unwrap_or(0)))?;
        }
        pw.set_target(c.value_len, F::from_canonical_usize(len))?;
        set_receipt_witness(pw, &c.t, logs)
    };
    set(&mut pw).map_err(|e| format!("witness: {e}"))?;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let proof = c.data.prove(pw).map_err(|e| format!("prove: {e}"))?;
        let pis: Vec<u64> = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
        c.data.verify(proof).map_err(|e| format!("verify: {e}"))?;
        Ok::<_, String>(pis)
    }));
    res.unwrap_or_else(|_| Err("prover panicked".into()))
}

/// A block's receipts from `../shared/fixtures/mainnet/receipts/`, as consensus receipts;
/// `None` (the test returns early) when the shared fixtures are not there.
fn fixture_receipts(block: u64) -> Option<Vec<ReceiptEnvelope>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../shared/fixtures/mainnet/receipts/{block}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return None;
    };
    let rpc: Vec<TransactionReceipt> = serde_json::from_str(&text).expect("receipts JSON");
    Some(rpc.into_iter().map(|r| r.into_primitives_receipt().inner).collect())
}

/// Whether the receipt fits `shape`.
fn fits_shape(r: &ReceiptEnvelope, shape: &ReceiptShape) -> bool {
    r.encoded_2718().len() <= shape.max_bytes
        && r.logs().len() <= shape.max_logs
        && r.logs().iter().all(|l| l.data.data.len() <= shape.max_data_bytes)
}

/// Whether the receipt fits [`SHAPE`].
fn fits(r: &ReceiptEnvelope) -> bool {
    fits_shape(r, &SHAPE)
}

fn decodes_as_alloy(name: &str, r: &ReceiptEnvelope) {
    let bytes = r.encoded_2718();
    assert_eq!(native_log_count(&bytes).unwrap(), r.logs().len());
    let t = std::time::Instant::now();
    let pis = prove(&bytes, bytes.len(), r.logs().len()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(pis, expected_public_inputs(r), "{name}");
    eprintln!("{name}: {} bytes, {} logs, {:?}", bytes.len(), r.logs().len(), t.elapsed());
}

/// The cases the tests prove: all of 1150000, then of 19432087 the first fitting receipt of
/// each type 0 to 3 with a log where one exists, and the first fitting failed receipt.
fn cases() -> Option<Vec<(String, ReceiptEnvelope)>> {
    let mut out: Vec<(String, ReceiptEnvelope)> = fixture_receipts(1_150_000)?
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("1150000 receipt {i}"), r))
        .collect();
    let late = fixture_receipts(19_432_087)?;
    let pick = |pred: &dyn Fn(&ReceiptEnvelope) -> bool| {
        late.iter()
            .enumerate()
            .filter(|(_, r)| fits(r) && pred(r))
            .max_by_key(|(_, r)| r.logs().len().min(1))
            .map(|(i, r)| (format!("19432087 receipt {i} (type {})", r.tx_type() as u8), r.clone()))
    };
    for ty in 0..=3u8 {
        out.push(pick(&|r| r.tx_type() as u8 == ty).expect("a receipt of each type"));
    }
    out.push(pick(&|r| !r.status()).expect("a failed receipt"));
    Some(out)
}

#[test]
fn decodes_mainnet_receipts_as_alloy() {
    let Some(cases) = cases() else { return };
    assert!(cases.iter().take(9).all(|(_, r)| fits(r)), "1150000 fits the shape");
    assert!(cases.iter().any(|(_, r)| r.logs().len() == SHAPE.max_logs), "a full log slot set");
    for (name, r) in &cases {
        decodes_as_alloy(name, r);
    }
}

/// Hand-built receipts for the encodings mainnet fixtures of this shape lack: a type-4
/// receipt, single-byte data below `0x80`, data of exactly 55 and 56 bytes (the short/long
/// string boundary), a log long enough for a `0xf9` list header (4 topics, 160 data bytes), a
/// failed typed receipt without logs, and an 8-byte cumulative gas.
#[test]
fn decodes_hand_built_edge_cases_as_alloy() {
    use alloy_consensus::{Receipt, ReceiptWithBloom};
    use alloy_primitives::{Address, Bytes, Log, B256};
    let log = |topics: usize, data: Vec<u8>| {
        let topics = (0..topics).map(|k| B256::repeat_byte(0x10 + k as u8)).collect();
        Log::new(Address::repeat_byte(0xab), topics, Bytes::from(data)).unwrap()
    };
    let receipt = |ok: bool, gas: u64, logs: Vec<Log>| {
        let r = Receipt { status: Eip658Value::Eip658(ok), cumulative_gas_used: gas, logs };
        ReceiptWithBloom::from(r)
    };
    let cases = [
        ReceiptEnvelope::Eip7702(receipt(
            true,
            0xfedc_ba98_7654_3210,
            vec![log(1, vec![0x05]), log(0, vec![0x42; 55]), log(2, vec![0x99; 56])],
        )),
        ReceiptEnvelope::Legacy(receipt(
            true,
            21_000,
            vec![log(4, vec![0x7f; 160]), log(3, vec![])],
        )),
        ReceiptEnvelope::Eip2930(receipt(false, 1, vec![])),
        ReceiptEnvelope::Eip1559(receipt(true, 0, vec![log(1, vec![0x00]); 4])),
    ];
    let first = cases[1].encoded_2718();
    let log_at = first.len() - logs_payload_len(&first);
    assert_eq!(first[log_at], 0xf9, "a log with a two-byte list header");
    for (i, r) in cases.iter().enumerate() {
        assert!(fits(r), "case {i} fits the shape");
        decodes_as_alloy(&format!("hand-built case {i}"), r);
    }
}

/// The receipts of 1150000 with the most and the fewest logs, encoded, with their log counts.
fn busiest_and_quietest() -> Option<[(Vec<u8>, usize); 2]> {
    let rs = fixture_receipts(1_150_000)?;
    let enc = |r: &ReceiptEnvelope| (r.encoded_2718(), r.logs().len());
    let most = rs.iter().max_by_key(|r| r.logs().len()).unwrap();
    let fewest = rs.iter().min_by_key(|r| r.logs().len()).unwrap();
    Some([enc(most), enc(fewest)])
}

#[test]
fn rejects_wrong_log_counts_lengths_and_headers() {
    let Some([(bytes, logs), (quiet, quiet_logs)]) = busiest_and_quietest() else { return };
    assert!(logs >= 2 && quiet_logs < SHAPE.max_logs);
    let reject = |what: &str, bytes: &[u8], len: usize, logs: usize| {
        assert!(prove(bytes, len, logs).is_err(), "{what} was accepted");
    };
    // A log left out, one too many.
    reject("a skipped log", &bytes, bytes.len(), logs - 1);
    reject("an extra log", &quiet, quiet.len(), quiet_logs + 1);
    // The length one byte off either way (the extra byte is zero).
    reject("a longer value", &bytes, bytes.len() + 1, logs);
    reject("a shorter value", &bytes, bytes.len() - 1, logs);
    // The first log's topic list claimed one topic shorter: its items no longer tile.
    let first_log = bytes.len() - logs_payload_len(&bytes);
    let mut forged = bytes.clone();
    let topics_at = first_log + log_header_len(forged[first_log]) + 21;
    assert_eq!(forged[topics_at], 0xf8, "a log with 2 to 4 topics");
    forged[topics_at + 1] -= 33;
    reject("a forged topic-list length", &forged, bytes.len(), logs);
    // The first log's address item prefix changed.
    let mut forged = bytes.clone();
    let address_at = first_log + log_header_len(forged[first_log]);
    forged[address_at] = 0x95;
    reject("a forged address prefix", &forged, bytes.len(), logs);
    // The status/root item of another kind.
    let mut forged = bytes.clone();
    forged[3] = 0x81;
    reject("a forged state-root prefix", &forged, bytes.len(), logs);
}

/// Bytes of the logs list's payload (the list closes the receipt).
fn logs_payload_len(receipt: &[u8]) -> usize {
    let mut buf = receipt;
    let outer = alloy_rlp::Header::decode(&mut buf).unwrap();
    assert!(outer.list);
    // status or root, cumulative gas, bloom: skip three items.
    for _ in 0..3 {
        let h = alloy_rlp::Header::decode(&mut buf).unwrap();
        buf = &buf[h.payload_length..];
    }
    let logs = alloy_rlp::Header::decode(&mut buf).unwrap();
    assert_eq!(buf.len(), logs.payload_length);
    logs.payload_length
}

/// Header bytes of a list whose prefix is `p`.
fn log_header_len(p: u8) -> usize {
    match p {
        0xc0..=0xf7 => 1,
        0xf8 => 2,
        0xf9 => 3,
        _ => panic!("not a list prefix {p:#x}"),
    }
}

mod leaf_proofs {
    //! Receipts proven in their block's `receipts_root`: every receipt of 1150000 and the
    //! absence of receipt 9 (so the block's count and gas are complete), and one typed receipt
    //! of 18000000; a proof presented for another index, an exclusion claimed for a receipt
    //! that exists, a forged leaf byte and another block's root must not prove.

    use super::super::leaf::*;
    use super::*;
    use crate::mpt::testing::trie_proof;
    use alloy_primitives::B256;

    /// Fits every receipt of 1150000; depth 3 covers tries of up to 127 receipts.
    const LEAF_SHAPE: ReceiptShape =
        ReceiptShape { max_bytes: 1_200, max_logs: 4, max_data_bytes: 160 };
    const DEPTH: usize = 3;

    struct LeafCircuit {
        data: CircuitData<F, C, D>,
        t: ReceiptProofTargets,
    }

    /// Public inputs: root (32), index, exists, cumulative gas, log count, type, has_status,
    /// status, gas used, cumulative gas after.
    fn circuit() -> &'static LeafCircuit {
        static CELL: OnceLock<LeafCircuit> = OnceLock::new();
        CELL.get_or_init(|| {
            let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
            let t = add_receipt_proof(&mut b, &LEAF_SHAPE, DEPTH);
            b.register_public_inputs(&t.mpt.root);
            let r = &t.receipt;
            b.register_public_inputs(&[t.index, t.mpt.exists.target, r.cumulative_gas_felt]);
            b.register_public_inputs(&[r.log_count, r.tx_type, r.has_status.target, r.status]);
            b.register_public_inputs(&[t.gas.gas_used, t.gas.cumulative_gas_after]);
            let rows = b.num_gates();
            let data = b.build::<C>();
            eprintln!("receipt proof, depth {DEPTH}: {rows} rows, 2^{}", data.common.degree_bits());
            LeafCircuit { data, t }
        })
    }

    /// What one proof exposes.
    #[derive(Debug, PartialEq)]
    struct Leaf {
        root: B256,
        index: u64,
        exists: bool,
        cumulative_gas: u64,
        log_count: u64,
        tx_type: u64,
        has_status: bool,
        status: bool,
        gas_used: u64,
        cumulative_gas_after: u64,
    }

    fn prove_leaf(
        root: B256,
        index: u64,
        nodes: &[Vec<u8>],
        receipt: Option<&[u8]>,
        prev_gas: u64,
    ) -> Result<Leaf, String> {
        let c = circuit();
        let mut pw = PartialWitness::new();
        set_receipt_proof(&mut pw, &c.t, root.0, index, nodes, receipt, prev_gas)
            .map_err(|e| format!("witness: {e}"))?;
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let proof = c.data.prove(pw).map_err(|e| format!("prove: {e}"))?;
            let p: Vec<u64> = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
            c.data.verify(proof).map_err(|e| format!("verify: {e}"))?;
            Ok::<_, String>(p)
        }));
        let p = res.unwrap_or_else(|_| Err("prover panicked".into()))?;
        Ok(Leaf {
            root: B256::from_slice(&p[..32].iter().map(|&x| x as u8).collect::<Vec<_>>()),
            index: p[32],
            exists: p[33] == 1,
            cumulative_gas: p[34],
            log_count: p[35],
            tx_type: p[36],
            has_status: p[37] == 1,
            status: p[38] == 1,
            gas_used: p[39],
            cumulative_gas_after: p[40],
        })
    }

    /// A block's receipts trie entries `(rlp(i), encoding_2718)`, its `receiptsRoot` and
    /// `gasUsed` from the header fixture; the trie's root is checked against the header.
    fn block(number: u64) -> Option<(Vec<ReceiptEnvelope>, Vec<(Vec<u8>, Vec<u8>)>, B256, u64)> {
        let receipts = fixture_receipts(number)?;
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../shared/fixtures/mainnet/headers/{number}.json"));
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).ok()?).expect("header JSON");
        let header: alloy_consensus::Header = serde_json::from_value(json).expect("header");
        let entries: Vec<(Vec<u8>, Vec<u8>)> = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| (alloy_rlp::encode(i), r.encoded_2718()))
            .collect();
        let (root, _, _) = trie_proof(&entries, &entries[0].0);
        assert_eq!(root, header.receipts_root, "{number}: receipts trie root");
        Some((receipts, entries, header.receipts_root, header.gas_used))
    }

    fn expected(root: B256, index: u64, r: Option<&ReceiptEnvelope>, prev_gas: u64) -> Leaf {
        let Some(r) = r else {
            return Leaf {
                root,
                index,
                exists: false,
                cumulative_gas: 0,
                log_count: 0,
                tx_type: 0,
                has_status: true,
                status: true,
                gas_used: 0,
                cumulative_gas_after: prev_gas,
            };
        };
        let status = r.status_or_post_state();
        Leaf {
            root,
            index,
            exists: true,
            cumulative_gas: r.cumulative_gas_used(),
            log_count: r.logs().len() as u64,
            tx_type: r.tx_type() as u64,
            has_status: status.is_eip658(),
            status: status.coerce_status() && status.is_eip658(),
            gas_used: r.cumulative_gas_used() - prev_gas,
            cumulative_gas_after: r.cumulative_gas_used(),
        }
    }

    #[test]
    fn rlp_index_keys_equal_alloy_rlp() {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let index = b.add_virtual_target();
        let (key, len) = rlp_index_key(&mut b, index);
        b.register_public_inputs(&key);
        b.register_public_input(len);
        let data = b.build::<C>();
        let run = |i: u64| {
            let mut pw = PartialWitness::new();
            pw.set_target(index, F::from_canonical_u64(i)).unwrap();
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let proof = data.prove(pw).ok()?;
                data.verify(proof.clone()).ok()?;
                Some(proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect::<Vec<_>>())
            }));
            res.ok().flatten()
        };
        for i in [0u64, 1, 9, 15, 16, 127, 128, 200, 255, 256, 316, 4660, 65535] {
            let pis = run(i).unwrap_or_else(|| panic!("index {i} rejected"));
            let want = crate::mpt::nibbles(&alloy_rlp::encode(i));
            assert_eq!(pis[6] as usize, want.len(), "index {i}: key length");
            let mut padded = want.iter().map(|&x| x as u64).collect::<Vec<_>>();
            padded.resize(RECEIPT_KEY_NIBBLES, 0);
            assert_eq!(pis[..6], padded[..], "index {i}");
        }
        assert!(run(1 << 16).is_none(), "an index of 17 bits accepted");
    }

    /// Proves receipt `i` of a block (or its absence past the end) and compares the exposed
    /// fields with alloy's decoding.
    fn prove_and_compare(
        number: u64,
        receipts: &[ReceiptEnvelope],
        entries: &[(Vec<u8>, Vec<u8>)],
        root: B256,
        i: usize,
    ) -> Leaf {
        let t = std::time::Instant::now();
        let (_, nodes, value) = trie_proof(entries, &alloy_rlp::encode(i));
        assert!(nodes.len() <= DEPTH, "{number} receipt {i}: {} nodes", nodes.len());
        let prev = i.checked_sub(1).map_or(0, |j| receipts[j].cumulative_gas_used());
        let leaf = prove_leaf(root, i as u64, &nodes, value.as_deref(), prev)
            .unwrap_or_else(|e| panic!("{number} receipt {i}: {e}"));
        let want = expected(root, i as u64, receipts.get(i), prev);
        assert_eq!(leaf, want, "{number} receipt {i}");
        eprintln!("{number} receipt {i}: {} nodes, proved in {:?}", nodes.len(), t.elapsed());
        leaf
    }

    /// Default tier (each proof is 2^17 rows, about a minute here): of 1150000, its receipt
    /// with 4 logs and the absence of receipt 9 (the block's end); of 18000000, a type-2
    /// receipt with a log, in its 94-receipt trie.
    #[test]
    fn proves_receipts_of_two_blocks_and_the_end_of_one() {
        let Some((receipts, entries, root, _)) = block(1_150_000) else { return };
        let busiest = (0..receipts.len()).max_by_key(|&i| receipts[i].logs().len()).unwrap();
        assert_eq!(receipts[busiest].logs().len(), LEAF_SHAPE.max_logs);
        prove_and_compare(1_150_000, &receipts, &entries, root, busiest);
        let end = prove_and_compare(1_150_000, &receipts, &entries, root, receipts.len());
        assert!(!end.exists);

        let Some((receipts, entries, root, _)) = block(18_000_000) else { return };
        let i = receipts
            .iter()
            .position(|r| {
                r.tx_type() as u8 == 2 && !r.logs().is_empty() && fits_shape(r, &LEAF_SHAPE)
            })
            .expect("a type-2 receipt that fits");
        prove_and_compare(18_000_000, &receipts, &entries, root, i);
    }

    /// The gas link alone, on 1150000's cumulative gas values: `gas_used` equals the fixture's
    /// per-transaction `gasUsed`; a previous value above the receipt's, a non-zero previous
    /// value at index 0 and a cumulative gas of 2^62 must not prove.
    #[test]
    fn gas_links_equal_the_fixture_and_reject_bad_links() {
        use crate::uint256::{set_u256, CircuitBuilderU256};
        let Some((receipts, _, _, _)) = block(1_150_000) else { return };
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let index = b.add_virtual_target();
        let exists = b.add_virtual_bool_target_safe();
        let cum = b.add_virtual_u256();
        let g = add_gas_link(&mut b, index, exists, &cum);
        b.register_public_inputs(&[g.gas_used, g.cumulative_gas_after]);
        let data = b.build::<C>();
        let run = |i: u64, present: bool, c: alloy_primitives::U256, prev: u64| {
            let mut pw = PartialWitness::new();
            pw.set_target(index, F::from_canonical_u64(i)).unwrap();
            pw.set_bool_target(exists, present).unwrap();
            set_u256(&mut pw, &cum, c);
            pw.set_target(g.prev_cumulative_gas, F::from_noncanonical_u64(prev)).unwrap();
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let proof = data.prove(pw).ok()?;
                data.verify(proof.clone()).ok()?;
                Some((
                    proof.public_inputs[0].to_canonical_u64(),
                    proof.public_inputs[1].to_canonical_u64(),
                ))
            }));
            res.ok().flatten()
        };
        let fixture: Vec<serde_json::Value> = serde_json::from_slice(
            &std::fs::read(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../shared/fixtures/mainnet/receipts/1150000.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut prev = 0;
        for (i, r) in receipts.iter().enumerate() {
            let cum = r.cumulative_gas_used();
            let want = u64::from_str_radix(
                fixture[i]["gasUsed"].as_str().unwrap().trim_start_matches("0x"),
                16,
            )
            .unwrap();
            let got = run(i as u64, true, alloy_primitives::U256::from(cum), prev);
            assert_eq!(got, Some((want, cum)), "receipt {i}");
            prev = cum;
        }
        // The end: nothing used, the block's gas carried.
        let n = receipts.len() as u64;
        assert_eq!(run(n, false, alloy_primitives::U256::ZERO, prev), Some((0, prev)));
        let c = alloy_primitives::U256::from(21_000u64);
        assert!(run(3, true, c, 21_001).is_none(), "a negative gas_used");
        assert!(run(0, true, c, 1).is_none(), "a previous gas at index 0");
        let big = alloy_primitives::U256::from(1u64 << 62);
        assert!(run(3, true, big, 0).is_none(), "a cumulative gas of 2^62");
    }

    /// Every receipt of 1150000 and the absence of receipt 9, against the header's
    /// `receipts_root`: the proven count (9), the receipts' `gas_used` (differences of
    /// cumulative gas, linked proof to proof) summing to the header's `gas_used`, and every
    /// field equal to alloy's decoding.
    /// Full tier (10 proofs of about a minute); the default tier proves one receipt with the
    /// most logs and the end.
    #[test]
    #[ignore = "full tier (about 12 minutes): bash scripts/test.sh --full"]
    fn proves_every_receipt_of_block_1150000_and_its_end() {
        let Some((receipts, entries, root, gas_used)) = block(1_150_000) else { return };
        let proven: Vec<Leaf> = (0..=receipts.len())
            .map(|i| prove_and_compare(1_150_000, &receipts, &entries, root, i))
            .collect();
        // The proofs say: receipts 0..n exist, n does not.
        let n = proven.iter().take_while(|l| l.exists).count();
        assert_eq!(n, receipts.len());
        assert!(!proven[n].exists);
        let total: u64 = proven.iter().map(|l| l.gas_used).sum();
        assert_eq!(total, gas_used, "the header's gas_used");
        assert_eq!(proven[n].cumulative_gas_after, gas_used, "the end carries the block's gas");
        // Each proof's previous cumulative gas is the one before it exposes.
        for w in proven.windows(2) {
            assert_eq!(w[1].cumulative_gas_after - w[1].gas_used, w[0].cumulative_gas_after);
        }
    }

    #[test]
    fn rejects_other_indices_false_exclusions_forged_leaves_and_roots() {
        let Some((receipts, entries, root, _)) = block(1_150_000) else { return };
        let proof = |i: usize| trie_proof(&entries, &alloy_rlp::encode(i));
        let prev = receipts[2].cumulative_gas_used();
        let reject = |what: &str, root: B256, index: u64, nodes: &[Vec<u8>], r: Option<&[u8]>| {
            assert!(prove_leaf(root, index, nodes, r, prev).is_err(), "{what} was accepted");
        };
        // Receipt 3's proof presented as receipt 4.
        let (_, nodes, value) = proof(3);
        reject("receipt 3 as receipt 4", root, 4, &nodes, value.as_deref());
        // Receipt 8 exists: its path cannot show it absent.
        let (_, nodes, _) = proof(8);
        reject("an exclusion of receipt 8", root, 8, &nodes, None);
        // A forged byte in the leaf (the last byte of receipt 3's value).
        let (_, mut nodes, value) = proof(3);
        let last = nodes.last_mut().unwrap();
        let end = last.len() - 1;
        last[end] ^= 1;
        let mut forged = value.unwrap();
        *forged.last_mut().unwrap() ^= 1;
        reject("a forged leaf byte", root, 3, &nodes, Some(&forged));
        // Another block's root.
        let (_, nodes, value) = proof(3);
        let other = B256::repeat_byte(0x11);
        reject("another root", other, 3, &nodes, value.as_deref());
        assert_eq!(receipts.len(), 9);
    }
}

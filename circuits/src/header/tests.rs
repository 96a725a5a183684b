//! Header decoding: circuit vs native twin vs alloy on every mainnet fixture, row count and
//! negative tests that tamper with the witness.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use alloy_consensus::Header;
use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::iop::target::Target;
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};

use super::*;
use crate::uint256::{u256_to_limbs, U256Target};

const D: usize = 2;
type C = PoseidonGoldilocksConfig;
type F = <C as GenericConfig<D>>::F;

/// A mainnet fixture: block number, alloy header (hash checked), its RLP.
struct Fixture {
    number: u64,
    header: Header,
    rlp: Vec<u8>,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet/headers")
}

/// All header fixtures, sorted by number, each checked against its JSON `hash`; `None`
/// (with a note) when the fixtures are missing.
fn fixtures() -> Option<&'static [Fixture]> {
    static FIXTURES: OnceLock<Option<Vec<Fixture>>> = OnceLock::new();
    FIXTURES
        .get_or_init(|| {
            let dir = fixtures_dir();
            let Ok(entries) = std::fs::read_dir(&dir) else {
                eprintln!("note: no header fixtures at {}, skipping", dir.display());
                return None;
            };
            let mut out = Vec::new();
            for e in entries {
                let path = e.expect("dir entry").path();
                if path.extension().and_then(|x| x.to_str()) != Some("json") {
                    continue;
                }
                let json: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).expect("read fixture"))
                        .expect("json");
                let header: Header = serde_json::from_value(json.clone()).expect("header fields");
                let hash: B256 = json["hash"].as_str().expect("hash").parse().expect("hash hex");
                assert_eq!(header.hash_slow(), hash, "{}: hash", path.display());
                let mut rlp = Vec::new();
                header.encode(&mut rlp);
                out.push(Fixture { number: header.number, header, rlp });
            }
            out.sort_by_key(|f| f.number);
            Some(out)
        })
        .as_deref()
}

fn fixture(number: u64) -> Option<&'static Fixture> {
    Some(fixtures()?.iter().find(|f| f.number == number).expect("fixture present"))
}

/// The caller's contract of `decode_header`, enforced the simple (costly) way for the tests:
/// bytes range-checked, zero from `len` on, `len ≤ MAX_HEADER_BYTES`.
fn enforce_caller_contract(b: &mut CircuitBuilder<F, D>, bytes: &[Target], len: Target) {
    let max = b.constant(F::from_canonical_usize(MAX_HEADER_BYTES));
    let slack = b.sub(max, len);
    b.range_check(slack, 10);
    let zero = b.zero();
    let one = b.one();
    let mut past_end = zero;
    let mut to_end = len; // len − i
    for &byte in bytes {
        b.range_check(byte, 8);
        let at_end = b.is_equal(to_end, zero);
        to_end = b.sub(to_end, one);
        past_end = b.add(past_end, at_end.target);
        let masked = b.mul(past_end, byte);
        b.assert_zero(masked);
    }
}

/// The decoder's outputs in a fixed order (registered as public inputs).
fn outputs(t: &HeaderFieldsTargets) -> Vec<Target> {
    let mut v = Vec::new();
    let u = |v: &mut Vec<Target>, x: &U256Target| v.extend_from_slice(&x.limbs);
    v.extend_from_slice(&t.parent_hash);
    v.extend_from_slice(&t.ommers_hash);
    v.extend_from_slice(&t.beneficiary);
    v.extend_from_slice(&t.state_root);
    v.extend_from_slice(&t.transactions_root);
    v.extend_from_slice(&t.receipts_root);
    v.extend_from_slice(&t.logs_bloom);
    for x in [&t.difficulty, &t.number, &t.gas_limit, &t.gas_used, &t.timestamp] {
        u(&mut v, x);
    }
    v.extend_from_slice(&t.mix_hash);
    v.extend_from_slice(&t.nonce);
    u(&mut v, &t.base_fee_per_gas);
    v.extend_from_slice(&t.withdrawals_root);
    u(&mut v, &t.blob_gas_used);
    u(&mut v, &t.excess_blob_gas);
    v.extend_from_slice(&t.parent_beacon_block_root);
    v.extend_from_slice(&t.requests_hash);
    v.extend(
        [t.has_base_fee_per_gas, t.has_withdrawals_root, t.has_cancun_fields, t.has_requests_hash]
            .map(|b| b.target),
    );
    v
}

/// [`outputs`] of a header, computed from alloy's fields (absent fields zero).
fn expected_outputs(h: &Header) -> Vec<u64> {
    let mut v = Vec::new();
    let bytes = |v: &mut Vec<u64>, b: &[u8]| v.extend(b.iter().map(|&x| x as u64));
    let u = |v: &mut Vec<u64>, x: U256| v.extend(u256_to_limbs(x));
    bytes(&mut v, h.parent_hash.as_slice());
    bytes(&mut v, h.ommers_hash.as_slice());
    bytes(&mut v, h.beneficiary.as_slice());
    bytes(&mut v, h.state_root.as_slice());
    bytes(&mut v, h.transactions_root.as_slice());
    bytes(&mut v, h.receipts_root.as_slice());
    bytes(&mut v, h.logs_bloom.as_slice());
    u(&mut v, h.difficulty);
    for x in [h.number, h.gas_limit, h.gas_used, h.timestamp] {
        u(&mut v, U256::from(x));
    }
    bytes(&mut v, h.mix_hash.as_slice());
    bytes(&mut v, h.nonce.as_slice());
    u(&mut v, U256::from(h.base_fee_per_gas.unwrap_or(0)));
    bytes(&mut v, h.withdrawals_root.unwrap_or_default().as_slice());
    u(&mut v, U256::from(h.blob_gas_used.unwrap_or(0)));
    u(&mut v, U256::from(h.excess_blob_gas.unwrap_or(0)));
    bytes(&mut v, h.parent_beacon_block_root.unwrap_or_default().as_slice());
    bytes(&mut v, h.requests_hash.unwrap_or_default().as_slice());
    v.extend(
        [
            h.base_fee_per_gas.is_some(),
            h.withdrawals_root.is_some(),
            h.parent_beacon_block_root.is_some(),
            h.requests_hash.is_some(),
        ]
        .map(u64::from),
    );
    v
}

struct TestCircuit {
    data: CircuitData<F, C, D>,
    targets: HeaderFieldsTargets,
}

/// Virtual header bytes and length under the caller's contract, decoded.
fn add_decoder(b: &mut CircuitBuilder<F, D>) -> HeaderFieldsTargets {
    let bytes = b.add_virtual_targets(MAX_HEADER_BYTES);
    let len = b.add_virtual_target();
    enforce_caller_contract(b, &bytes, len);
    b.decode_header(&bytes, len)
}

/// The decoder with every output public; built once.
fn test_circuit() -> &'static TestCircuit {
    static CIRCUIT: OnceLock<TestCircuit> = OnceLock::new();
    CIRCUIT.get_or_init(|| {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let targets = add_decoder(&mut b);
        b.register_public_inputs(&outputs(&targets));
        let start = Instant::now();
        let data = b.build::<C>();
        eprintln!(
            "test circuit: degree 2^{}, built in {:?}",
            data.common.degree_bits(),
            start.elapsed()
        );
        TestCircuit { data, targets }
    })
}

/// Proves and verifies; the public inputs, or an error (including a prover panic).
fn prove(data: &CircuitData<F, C, D>, pw: PartialWitness<F>) -> Result<Vec<u64>, String> {
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let proof = data.prove(pw).map_err(|e| format!("prove: {e}"))?;
        let pis = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect::<Vec<_>>();
        data.verify(proof).map_err(|e| format!("verify: {e}"))?;
        Ok(pis)
    }));
    res.unwrap_or_else(|_| Err("prover panicked".into()))
}

/// Asserts that proving failed, printing why.
fn assert_rejected(res: Result<Vec<u64>, String>, what: &str) {
    match res {
        Ok(_) => panic!("{what} accepted"),
        Err(e) => eprintln!("{what}: rejected ({})", e.lines().next().unwrap_or_default()),
    }
}

/// Proves the test circuit on the given (possibly tampered) witness.
fn prove_raw(bytes: &[u8], len: usize, presence: HeaderPresence) -> Result<Vec<u64>, String> {
    let c = test_circuit();
    let mut pw = PartialWitness::new();
    set_header_witness_unchecked(&mut pw, &c.targets, bytes, len, presence)
        .map_err(|e| e.to_string())?;
    prove(&c.data, pw)
}

#[test]
fn offsets_match_real_headers() {
    let Some(fixtures) = fixtures() else { return };
    for f in fixtures {
        let r = &f.rlp;
        assert_eq!(r[0], HEADER_LIST_PREFIX);
        for o in [
            PARENT_HASH_OFFSET,
            OMMERS_HASH_OFFSET,
            STATE_ROOT_OFFSET,
            TRANSACTIONS_ROOT_OFFSET,
            RECEIPTS_ROOT_OFFSET,
        ] {
            assert_eq!(r[o], 0xa0, "block {} offset {o}", f.number);
        }
        assert_eq!(
            &r[PARENT_HASH_OFFSET + 1..PARENT_HASH_OFFSET + 33],
            f.header.parent_hash.as_slice()
        );
        assert_eq!(r[BENEFICIARY_OFFSET], 0x94);
        assert_eq!(&r[BENEFICIARY_OFFSET + 1..STATE_ROOT_OFFSET], f.header.beneficiary.as_slice());
        assert_eq!(
            &r[RECEIPTS_ROOT_OFFSET + 1..LOGS_BLOOM_OFFSET],
            f.header.receipts_root.as_slice()
        );
        assert_eq!(&r[LOGS_BLOOM_OFFSET..LOGS_BLOOM_OFFSET + 3], &[0xb9, 0x01, 0x00]);
        assert_eq!(&r[LOGS_BLOOM_OFFSET + 3..DIFFICULTY_OFFSET], f.header.logs_bloom.as_slice());
    }
    let max = fixtures.iter().map(|f| f.rlp.len()).max().unwrap();
    eprintln!("{} fixtures, largest header {max} bytes", fixtures.len());
}

#[test]
fn native_matches_alloy() {
    let Some(fixtures) = fixtures() else { return };
    for f in fixtures {
        let native =
            decode_header_native(&f.rlp).unwrap_or_else(|e| panic!("block {}: {e}", f.number));
        assert_eq!(native, HeaderFieldsNative::from_header(&f.header));
    }
    // Errors.
    let f = &fixtures[0];
    let mut long = f.rlp.clone();
    long.push(0);
    assert!(matches!(
        decode_header_native(&long),
        Err(HeaderDecodeError::TrailingBytes { got: 1 })
    ));
    assert!(matches!(decode_header_native(&f.rlp[..100]), Err(HeaderDecodeError::Rlp(_))));
    assert!(matches!(
        decode_header_native(&[0u8; 700]),
        Err(HeaderDecodeError::TooLong { got: 700, .. })
    ));
    let mut partial = fixture(19_432_087).unwrap().header.clone();
    partial.parent_beacon_block_root = None;
    partial.requests_hash = None;
    let mut rlp = Vec::new();
    partial.encode(&mut rlp);
    assert!(matches!(
        decode_header_native(&rlp),
        Err(HeaderDecodeError::PartialCancunFields { .. })
    ));
}

/// Row count of the decoder alone (no caller's contract, no public inputs).
#[test]
fn decoder_rows() {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let bytes = b.add_virtual_targets(MAX_HEADER_BYTES);
    let len = b.add_virtual_target();
    b.decode_header(&bytes, len);
    let rows = b.num_gates();
    eprintln!("decode_header: {rows} rows (standard_recursion_config)");
    assert!(rows <= 1_500, "{rows} rows");
}

/// Every fixture decodes in the circuit (proved and verified) to alloy's values.
#[test]
fn circuit_decodes_all_fixtures() {
    let Some(fixtures) = fixtures() else { return };
    let c = test_circuit();
    for f in fixtures {
        let mut pw = PartialWitness::new();
        let native = set_header_witness(&mut pw, &c.targets, &f.rlp).expect("witness");
        assert_eq!(native, HeaderFieldsNative::from_header(&f.header));
        let start = Instant::now();
        let pis = prove(&c.data, pw).unwrap_or_else(|e| panic!("block {}: {e}", f.number));
        eprintln!(
            "block {:>8} ({} bytes): proved and verified in {:?}",
            f.number,
            f.rlp.len(),
            start.elapsed()
        );
        assert_eq!(pis, expected_outputs(&f.header), "block {}", f.number);
    }
}

#[test]
fn rejects_flipped_prefix_bytes() {
    let Some(f) = fixture(12_965_000) else { return };
    let presence = decode_header_native(&f.rlp).unwrap().presence();
    assert!(prove_raw(&f.rlp, f.rlp.len(), presence).is_ok(), "untampered");
    let base_fee_len = f.header.base_fee_per_gas.unwrap().length();
    let mix_hash_prefix = f.rlp.len() - base_fee_len - 9 - 33;
    assert_eq!(f.rlp[mix_hash_prefix], 0xa0);
    // 0: list; 3: parent_hash; 69: beneficiary; 190: bloom length; 448: difficulty
    // (0xb8: long string); then the mix hash prefix.
    for (i, v) in
        [(0, 0xf8), (3, 0xa1), (69, 0x95), (190, 0x02), (448, 0xb8), (mix_hash_prefix, 0xa1)]
    {
        let mut bytes = f.rlp.clone();
        bytes[i] = v;
        assert_rejected(
            prove_raw(&bytes, bytes.len(), presence),
            &format!("byte {i} set to {v:#x}"),
        );
    }
}

#[test]
fn rejects_wrong_presence_flags() {
    let Some(london) = fixture(12_965_000) else {
        return;
    };
    let Some(shanghai) = fixture(18_000_000) else {
        return;
    };
    let Some(cancun) = fixture(19_432_087) else {
        return;
    };
    let Some(prague) = fixture(23_182_607) else {
        return;
    };
    let p = |b, w, c, r| HeaderPresence {
        base_fee_per_gas: b,
        withdrawals_root: w,
        cancun_fields: c,
        requests_hash: r,
    };
    let cases = [
        (london, p(false, false, false, false), "London without base fee"),
        (london, p(true, true, false, false), "London with withdrawals root"),
        (shanghai, p(true, false, false, false), "Shanghai without withdrawals root"),
        (shanghai, p(true, true, true, false), "Shanghai with Cancun fields"),
        (cancun, p(true, true, false, false), "Cancun without Cancun fields"),
        (cancun, p(true, true, true, true), "Cancun with requests hash"),
        (prague, p(true, true, true, false), "Prague without requests hash"),
        (prague, p(true, true, false, true), "non-monotone flags"),
    ];
    for (f, presence, what) in cases {
        assert_rejected(prove_raw(&f.rlp, f.rlp.len(), presence), what);
    }
}

#[test]
fn rejects_wrong_len() {
    let Some(f) = fixture(19_432_087) else { return };
    let presence = decode_header_native(&f.rlp).unwrap().presence();
    // One more than the list says (the extra byte is a zero).
    assert_rejected(prove_raw(&f.rlp, f.rlp.len() + 1, presence), "len + 1");
    // A trailing zero byte inside the list: list length and len agree, fields do not.
    let mut bytes = f.rlp.clone();
    let payload = u16::from_be_bytes([bytes[1], bytes[2]]) + 1;
    bytes[1..3].copy_from_slice(&payload.to_be_bytes());
    bytes.push(0);
    assert_rejected(prove_raw(&bytes, bytes.len(), presence), "trailing zero byte in the list");
    // The list one byte shorter and the last byte dropped.
    let mut bytes = f.rlp.clone();
    let payload = u16::from_be_bytes([bytes[1], bytes[2]]) - 1;
    bytes[1..3].copy_from_slice(&payload.to_be_bytes());
    bytes.pop();
    assert_rejected(prove_raw(&bytes, bytes.len(), presence), "truncated header");
}

/// A circuit that claims the fields of one header: proves for it, fails for another.
#[test]
fn rejects_wrong_claimed_value() {
    let Some(london) = fixture(12_965_000) else {
        return;
    };
    let Some(other) = fixture(13_000_000) else {
        return;
    };
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let targets = add_decoder(&mut b);
    let claimed_number = b.constant_u256(U256::from(london.header.number));
    b.connect_u256(&targets.number, &claimed_number);
    let claimed_base_fee = b.constant_u256(U256::from(london.header.base_fee_per_gas.unwrap()));
    b.connect_u256(&targets.base_fee_per_gas, &claimed_base_fee);
    let data = b.build::<C>();
    let witness = |f: &Fixture| {
        let mut pw = PartialWitness::new();
        set_header_witness(&mut pw, &targets, &f.rlp).expect("witness");
        pw
    };
    assert!(prove(&data, witness(london)).is_ok(), "claimed values of the same header");
    assert_rejected(prove(&data, witness(other)), "claimed values of another header");
}

/// Headers re-encoded with fields at the edges of the RLP cases and the circuit's limits:
/// 32-byte difficulty, full-width u64s, 32 bytes of extra data, single-byte values (< 0x80),
/// the single byte 0x80 as a 2-byte string, empty strings (0).
#[test]
fn circuit_decodes_edge_values() {
    let Some(frontier) = fixture(1_150_000) else {
        return;
    };
    let Some(prague) = fixture(23_182_607) else {
        return;
    };
    let mut wide = frontier.header.clone();
    wide.difficulty = U256::MAX;
    wide.number = u64::MAX;
    wide.gas_limit = u64::MAX;
    wide.gas_used = u64::MAX;
    wide.timestamp = u64::MAX;
    wide.extra_data = vec![0xee; HEADER_EXTRA_DATA_MAX_BYTES].into();
    let mut small = prague.header.clone();
    small.number = 0x80;
    small.gas_used = 0;
    small.timestamp = 0x7f;
    small.base_fee_per_gas = Some(u64::MAX);
    small.blob_gas_used = Some(0x7f);
    small.excess_blob_gas = Some(0);
    small.extra_data = vec![0x01].into();
    let c = test_circuit();
    for h in [wide, small] {
        let mut rlp = Vec::new();
        h.encode(&mut rlp);
        let mut pw = PartialWitness::new();
        set_header_witness(&mut pw, &c.targets, &rlp).expect("witness");
        let pis = prove(&c.data, pw).unwrap_or_else(|e| panic!("{} bytes: {e}", rlp.len()));
        assert_eq!(pis, expected_outputs(&h));
    }
}

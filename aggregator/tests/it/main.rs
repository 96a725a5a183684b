//! Aggregator integration tests: the circuit-key cache (build, store, load, reject a corrupt
//! entry) and proof files (prove real mainnet headers, round-trip the file, verify, reject
//! tampered files); `evm`: the committed EVM fixture of the mainnet headers demo.

mod evm;

use std::path::PathBuf;
use std::sync::OnceLock;

use alloy_consensus::Header;
use alloy_primitives::{hex, B256};
use alloy_rlp::Encodable;
use annals_aggregator::cache::{
    entry_path, load_root_verifier, read_entry, read_verifier_entry, verifier_entry_path,
};
use annals_aggregator::{verify_file, ProofEnvelope, Prover};
use annals_query_lang::columns::header_row;
use annals_query_lang::compile;

/// Cache shared by every test binary of the workspace (entries are keyed by the circuits'
/// source hash, so sharing is safe).
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("annals-circuit-cache")
}

fn prover() -> &'static Prover {
    static P: OnceLock<Prover> = OnceLock::new();
    P.get_or_init(|| Prover::load_or_build(&cache_dir()).expect("circuits"))
}

fn fixtures(range: std::ops::RangeInclusive<u64>) -> Option<Vec<(Header, Vec<u8>)>> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet/headers");
    range
        .map(|n| {
            let Ok(bytes) = std::fs::read(dir.join(format!("{n}.json"))) else {
                eprintln!("note: mainnet fixtures missing, skipping");
                return None;
            };
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let h: Header = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(h.hash_slow(), json["hash"].as_str().unwrap().parse::<B256>().unwrap());
            let mut rlp = Vec::new();
            h.encode(&mut rlp);
            Some((h, rlp))
        })
        .collect()
}

#[test]
fn cache_round_trips_and_rejects_corruption() {
    let _ = prover(); // builds or loads the entry
    let path = entry_path(&cache_dir());
    assert!(path.exists());
    assert!(path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .contains(annals_circuits::CIRCUITS_SOURCE_HASH));
    let loaded = read_entry(&path).expect("entry loads");
    assert_eq!(
        loaded.root.data.verifier_only.circuit_digest,
        prover().circuits().root.data.verifier_only.circuit_digest
    );
    // A flipped byte in a copy of the entry is detected by the content hash.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join(path.file_name().unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&copy, &bytes).unwrap();
    let err = read_entry(&copy).err().expect("corrupt entry rejected").to_string();
    assert!(err.contains("content hash mismatch"), "{err}");
    // A truncated entry too.
    std::fs::write(&copy, &bytes[..10]).unwrap();
    assert!(read_entry(&copy).is_err());

    // The small root-verifier entry: written beside the full one, same key, same checks, and
    // a full entry is not mistaken for it.
    let vpath = verifier_entry_path(&cache_dir());
    let verifier = load_root_verifier(&cache_dir()).expect("root verifier loads");
    assert!(vpath.exists());
    assert_eq!(
        verifier.verifier_only.circuit_digest,
        prover().circuits().root.data.verifier_only.circuit_digest
    );
    assert_eq!(verifier.common, prover().circuits().root.data.common);
    let mut vbytes = std::fs::read(&vpath).unwrap();
    let last = vbytes.len() - 1;
    vbytes[last] ^= 1;
    let vcopy = tmp.path().join(vpath.file_name().unwrap());
    std::fs::write(&vcopy, &vbytes).unwrap();
    let err = read_verifier_entry(&vcopy).expect_err("corrupt verifier rejected").to_string();
    assert!(err.contains("content hash mismatch"), "{err}");
    assert!(read_verifier_entry(&path).is_err(), "full entry read as a verifier entry");
}

#[test]
fn proof_file_round_trips_and_verifies_on_mainnet_headers() {
    let Some(fx) = fixtures(17_000_000..=17_000_002) else { return };
    let sql = "SELECT COUNT(*), AVG(base_fee_per_gas), MAX(gas_used), MIN(timestamp) \
               FROM headers WHERE number BETWEEN 17000000 AND 17000002 AND gas_used > 0";
    let q = compile(sql).unwrap();
    let rows: Vec<_> = fx.iter().map(|(h, _)| header_row(h, h.hash_slow())).collect();
    let expected = q.evaluate(&rows).unwrap();
    let rlps: Vec<Vec<u8>> = fx.iter().map(|(_, r)| r.clone()).collect();
    let p = prover();
    let proven = p
        .prove(sql, &q.program, (q.from_block, q.to_block), &rlps, &expected, &|_| {})
        .expect("proves");
    let env = proven.envelope;
    assert_eq!(env.query_hash, q.query_hash());
    assert_eq!(env.anchor_hash, fx[2].0.hash_slow());

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("proof.json");
    env.save(&file).unwrap();
    let back = ProofEnvelope::load(&file).unwrap();
    assert_eq!(back, env);
    let v = p.verify(&back).expect("verifies");
    assert_eq!(v.rows, expected);
    // The same with only the cached root verifying key (what `annals verify` does).
    let v2 = verify_file(&cache_dir(), &back).expect("verifies from the verifier entry");
    assert_eq!(v2.rows, expected);
    assert_eq!((v.from_block, v.to_block), (17_000_000, 17_000_002));

    // Tampering with any part of the file is rejected.
    let mut bad = env.clone();
    bad.anchor_hash = fx[1].0.hash_slow();
    assert!(p.verify(&bad).is_err(), "wrong anchor accepted");
    let mut bad = env.clone();
    bad.to_block += 1;
    assert!(p.verify(&bad).is_err(), "wrong range accepted");
    let mut bad = env.clone();
    bad.rows[0][0] = serde_json::json!("4");
    assert!(p.verify(&bad).is_err(), "wrong displayed result accepted");
    let mut bad = env.clone();
    let mut abi = hex::decode(&bad.rows_abi).unwrap();
    let last = abi.len() - 1;
    abi[last] ^= 1;
    bad.rows_abi = hex::encode_prefixed(abi);
    assert!(p.verify(&bad).is_err(), "wrong result accepted");
    let mut bad = env.clone();
    let other =
        compile("SELECT COUNT(*) FROM headers WHERE number BETWEEN 17000000 AND 17000002").unwrap();
    bad.plan = hex::encode_prefixed(other.program.encode());
    bad.query_hash = other.query_hash();
    assert!(p.verify(&bad).is_err(), "proof of another query accepted");
    let mut bad = env.clone();
    let mut proof = hex::decode(&bad.proof).unwrap();
    let mid = proof.len() / 2;
    proof[mid] ^= 1;
    bad.proof = hex::encode_prefixed(proof);
    assert!(p.verify(&bad).is_err(), "flipped proof byte accepted");
}

#[test]
fn non_aggregate_query_is_refused_clearly() {
    let q = compile("SELECT number FROM headers WHERE number BETWEEN 1 AND 2").unwrap();
    let err = prover().prove(&q.sql, &q.program, (1, 2), &[], &[], &|_| {}).err().unwrap();
    assert!(err.to_string().contains("aggregate"), "{err}");
}

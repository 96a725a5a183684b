//! Integration tests of the MapReduce circuits on real mainnet headers: the whole tree
//! (header map → wrap → reduce → root) against the native twins, and negative tests for every
//! link the tree must not accept.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use alloy_consensus::Header;
use alloy_primitives::{keccak256, B256, U256};
use alloy_rlp::Encodable;
use annals_circuits::mapreduce::recursion::ChildKind::{HeaderWrap, Reduce};
use annals_circuits::mapreduce::root::RootStatement;
use annals_circuits::mapreduce::statement::Statement;
use annals_circuits::mapreduce::{CircuitSet, Proof};
use annals_circuits::vm::{eval_program_native, finalize_native, merge_native, NativeAggregate};
use annals_query_lang::columns::{header_row, HeaderColumn};
use annals_query_lang::plan::{
    encode_result_rows, Aggregate, Op, Opcode, Output, Program, Table, ValueType, MAX_OUTPUTS,
};

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet/headers")
}

/// Header and RLP of a mainnet fixture, or `None` (with a note) without `../shared`.
fn fixture(number: u64) -> Option<(Header, Vec<u8>)> {
    let path = fixture_dir().join(format!("{number}.json"));
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("note: {} missing, skipping", path.display());
        return None;
    };
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let header: Header = serde_json::from_value(json.clone()).unwrap();
    let hash: B256 = json["hash"].as_str().unwrap().parse().unwrap();
    assert_eq!(header.hash_slow(), hash);
    let mut rlp = Vec::new();
    header.encode(&mut rlp);
    Some((header, rlp))
}

fn circuits() -> &'static CircuitSet {
    static SET: OnceLock<CircuitSet> = OnceLock::new();
    SET.get_or_init(|| {
        let t = Instant::now();
        // nextest runs each test in its own process: share the built circuits through a file
        // keyed by the source hash (the same idea as the aggregator's cache).
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("circuits-it-{}.bin", annals_circuits::CIRCUITS_SOURCE_HASH));
        let set = match std::fs::read(&path).ok().and_then(|b| CircuitSet::from_bytes(&b).ok()) {
            Some(set) => set,
            None => {
                let set = CircuitSet::build().expect("circuits build");
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&tmp, set.to_bytes().unwrap()).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
                set
            }
        };
        // A row count, not a timing: a reduce verifying two shape proofs must stay within 2^13
        // rows (the shape config's reason to exist; bench/results.md has the times).
        assert_eq!(set.shape.common.degree_bits(), 13, "shape circuits outgrew 2^13 rows");
        eprintln!(
            "circuit set ready in {:.1}s: leaf 2^{}, shape 2^{}, root 2^{}",
            t.elapsed().as_secs_f64(),
            set.leaf.data.common.degree_bits(),
            set.shape.common.degree_bits(),
            set.root.data.common.degree_bits()
        );
        set
    })
}

/// `SELECT COUNT(*), AVG(base_fee_per_gas), MAX(gas_used), SUM(gas_used) FROM headers
///  WHERE number BETWEEN .. AND gas_used > 1000`, compiled by hand.
fn program() -> Program {
    let op = |opcode, a, b| Op { opcode, a, b };
    let out = |aggregate, reg, name: &str| Output {
        aggregate,
        reg,
        name: name.into(),
        value_type: ValueType::Uint256,
    };
    Program {
        table: Table::Headers,
        constants: vec![U256::from(1000u64)],
        ops: vec![
            op(Opcode::Column, HeaderColumn::GasUsed as u8, 0),
            op(Opcode::Const, 0, 0),
            op(Opcode::Lt, 1, 0),
            op(Opcode::Column, HeaderColumn::BaseFeePerGas as u8, 0),
        ],
        filter: Some(2),
        slot_keys: 0,
        outputs: vec![
            out(Aggregate::CountStar, 0, "count"),
            out(Aggregate::Avg, 3, "avg_base_fee"),
            out(Aggregate::Max, 0, "max_gas_used"),
            out(Aggregate::Sum, 0, "sum_gas_used"),
        ],
    }
}

fn native_result(program: &Program, headers: &[Header]) -> Vec<Option<U256>> {
    let mut acc = [NativeAggregate::EMPTY; MAX_OUTPUTS];
    for h in headers {
        let row = header_row(h, h.hash_slow());
        let r = eval_program_native(program, &row).unwrap();
        let this = core::array::from_fn(|j| r.outputs[j].aggregate);
        acc = merge_native(program, &acc, &this).unwrap();
    }
    finalize_native(program, &acc).unwrap()[..program.outputs.len()].to_vec()
}

/// Whether proving fails, as an error or a panic in a witness generator.
fn rejects<T>(f: impl FnOnce() -> anyhow::Result<T>) -> bool {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.is_err(),
        Err(_) => true,
    }
}

fn leaf(set: &CircuitSet, program: &Program, rlp: &[u8]) -> Proof {
    let t = Instant::now();
    let p = set.leaf.prove(program, rlp).unwrap();
    let w = set.shape.wrap.prove(&p).unwrap();
    eprintln!("leaf + wrap in {:.1}s", t.elapsed().as_secs_f64());
    w
}

struct Run {
    leaves: Vec<Proof>,
    headers: Vec<Header>,
}

fn run_17m() -> Option<&'static Run> {
    static RUN: OnceLock<Option<Run>> = OnceLock::new();
    RUN.get_or_init(|| {
        let fx: Vec<_> = (17_000_000..=17_000_002).map(fixture).collect::<Option<_>>()?;
        let set = circuits();
        let program = program();
        let leaves = fx.iter().map(|(_, rlp)| leaf(set, &program, rlp)).collect();
        Some(Run { leaves, headers: fx.into_iter().map(|(h, _)| h).collect() })
    })
    .as_ref()
}

/// One test over the shared leaves (each nextest test is a process that would prove them again).
#[test]
fn tree_over_three_mainnet_headers_and_its_negative_cases() {
    tree_over_three_mainnet_headers_matches_native();
    reduce_rejects_gap_overlap_and_broken_link();
    root_rejects_other_query_and_foreign_children();
    leaf_rejects_flipped_header_byte();
}

fn tree_over_three_mainnet_headers_matches_native() {
    let Some(run) = run_17m() else { return };
    let set = circuits();
    let program = program();
    let t = Instant::now();
    let r01 =
        set.shape.reduce.prove(&run.leaves[0], HeaderWrap, &run.leaves[1], HeaderWrap).unwrap();
    eprintln!("reduce in {:.1}s", t.elapsed().as_secs_f64());
    set.shape.verify_reduce(&r01).unwrap();
    let r = set.shape.reduce.prove(&r01, Reduce, &run.leaves[2], HeaderWrap).unwrap();
    let s = Statement::from_public_inputs(&r.public_inputs);
    assert_eq!((s.from_block, s.to_block), (17_000_000, 17_000_002));
    assert_eq!(s.last_hash, run.headers[2].hash_slow());
    assert_eq!(s.first_parent_hash, run.headers[0].parent_hash);

    let t = Instant::now();
    let (root, rows) = set.root.prove(&r, Reduce, &program).unwrap();
    eprintln!("root in {:.1}s, proof {} bytes", t.elapsed().as_secs_f64(), root.to_bytes().len());
    set.root.data.verify(root.clone()).unwrap();
    let expected = native_result(&program, &run.headers);
    assert_eq!(rows, vec![expected.clone()]);
    let st = RootStatement::from_public_inputs(&root.public_inputs);
    assert_eq!(st.query_hash, program.query_hash());
    assert_eq!(st.from_block, 17_000_000);
    assert_eq!(st.to_block, 17_000_002);
    assert_eq!(st.anchor_hash, run.headers[2].hash_slow());
    assert_eq!(st.result_hash, keccak256(encode_result_rows(&[expected])));

    // Serialization round trip of the root proof.
    let bytes = root.to_bytes();
    let back = Proof::from_bytes(bytes, &set.root.data.common).unwrap();
    set.root.data.verify(back).unwrap();
}

fn reduce_rejects_gap_overlap_and_broken_link() {
    let Some(run) = run_17m() else { return };
    let set = circuits();
    // Gap: 17000000 then 17000002.
    assert!(rejects(|| set.shape.reduce.prove(
        &run.leaves[0],
        HeaderWrap,
        &run.leaves[2],
        HeaderWrap
    )));
    // Overlap: the same block twice.
    assert!(rejects(|| set.shape.reduce.prove(
        &run.leaves[1],
        HeaderWrap,
        &run.leaves[1],
        HeaderWrap
    )));
    // Wrong order (left.last_hash is not right.first_parent_hash, ranges not adjacent).
    assert!(rejects(|| set.shape.reduce.prove(
        &run.leaves[1],
        HeaderWrap,
        &run.leaves[0],
        HeaderWrap
    )));
}

#[test]
fn reduce_rejects_broken_parent_link_between_adjacent_numbers() {
    // 16000000 and a copy of 16000001 whose parent_hash points elsewhere: adjacent numbers,
    // both valid header encodings, but not linked.
    let (Some((_, a)), Some((mut h, _))) = (fixture(16_000_000), fixture(16_000_001)) else {
        return;
    };
    h.parent_hash = B256::repeat_byte(0x11);
    let mut forged = Vec::new();
    h.encode(&mut forged);
    let set = circuits();
    let program = program();
    let la = leaf(set, &program, &a);
    let lb = leaf(set, &program, &forged);
    assert!(rejects(|| set.shape.reduce.prove(&la, HeaderWrap, &lb, HeaderWrap)));
    // The honest pair reduces.
    let (_, b) = fixture(16_000_001).unwrap();
    let lb = leaf(set, &program, &b);
    set.shape.reduce.prove(&la, HeaderWrap, &lb, HeaderWrap).unwrap();
}

fn root_rejects_other_query_and_foreign_children() {
    let Some(run) = run_17m() else { return };
    let set = circuits();
    let program = program();
    // A different plan than the leaves ran: program_hash differs.
    let mut other = program.clone();
    other.constants[0] = U256::from(1001u64);
    assert!(rejects(|| set.root.prove(&run.leaves[0], HeaderWrap, &other)));
    // A wrap proof claimed to be a reduce proof: verified against the wrong verifier data.
    assert!(rejects(|| set.root.prove(&run.leaves[0], Reduce, &program)));
    // A raw header-map proof (a circuit outside the allowed set) cannot be given to reduce.
    let (_, rlp) = fixture(17_000_000).unwrap();
    let raw = set.leaf.prove(&program, &rlp).unwrap();
    assert!(set.shape.wrap.data.verify(raw.clone()).is_err());
    // A wrong aggregate claimed in a child: tamper a public input of a valid wrap proof.
    let mut forged = run.leaves[1].clone();
    forged.public_inputs[22] += plonky2::field::types::Field::ONE;
    assert!(rejects(|| set.shape.reduce.prove(&run.leaves[0], HeaderWrap, &forged, HeaderWrap)));
}

fn leaf_rejects_flipped_header_byte() {
    let Some((_, mut rlp)) = fixture(17_000_001) else { return };
    let set = circuits();
    rlp[100] ^= 1;
    // The decoded row and hash are consistent with the flipped bytes, but the hash no longer
    // links to the neighbours; a flipped prefix byte fails decoding outright.
    let flipped_hash = set
        .leaf
        .prove(&program(), &rlp)
        .map(|p| Statement::from_public_inputs(&p.public_inputs).last_hash);
    if let Ok(h) = flipped_hash {
        assert_ne!(h, fixture(17_000_001).unwrap().0.hash_slow());
        let run = run_17m().unwrap();
        let forged = set.shape.wrap.prove(&set.leaf.prove(&program(), &rlp).unwrap()).unwrap();
        assert!(rejects(|| set.shape.reduce.prove(
            &forged,
            HeaderWrap,
            &run.leaves[2],
            HeaderWrap
        )));
    }
    let mut bad_prefix = fixture(17_000_001).unwrap().1;
    bad_prefix[3] ^= 0x01; // the parent_hash string prefix 0xa0
    assert!(rejects(|| set.leaf.prove(&program(), &bad_prefix)));
}

/// `SELECT <aggregate>(2^255) FROM headers WHERE number BETWEEN 16000000 AND 16000001`,
/// compiled by hand: every row contributes 2^255, so the two rows' SUM is 2^256.
fn constant_program(aggregates: &[Aggregate]) -> Program {
    let outputs = aggregates
        .iter()
        .map(|&aggregate| Output {
            aggregate,
            reg: 0,
            name: format!("{aggregate:?}"),
            value_type: ValueType::Uint256,
        })
        .collect();
    Program {
        table: Table::Headers,
        constants: vec![U256::from(1u8) << 255],
        ops: vec![Op { opcode: Opcode::Const, a: 0, b: 0 }],
        filter: None,
        outputs,
        slot_keys: 0,
    }
}

/// A SUM that exceeds 2^256 - 1 across two leaves: the reduce adds the lazy limbs, and the root
/// circuit itself (normalizing them) (without the prover's native pre-check) refuses it for SUM and AVG, while
/// COUNT and MAX over the same values still prove and equal the native result.
#[test]
fn sum_overflow_across_leaves_is_rejected_by_the_root_circuit() {
    let (Some((ha, a)), Some((hb, b))) = (fixture(16_000_000), fixture(16_000_001)) else {
        return;
    };
    let set = circuits();
    for (aggregates, must_prove) in [
        (&[Aggregate::Sum][..], false),
        (&[Aggregate::CountStar, Aggregate::Avg][..], false),
        (&[Aggregate::CountStar, Aggregate::Max][..], true),
    ] {
        let program = constant_program(aggregates);
        let (la, lb) = (leaf(set, &program, &a), leaf(set, &program, &b));
        let r = set.shape.reduce.prove(&la, HeaderWrap, &lb, HeaderWrap).unwrap();
        let s = Statement::from_public_inputs(&r.public_inputs);
        assert!(s.aggregates[aggregates.len() - 1].sum_overflow);
        // The native twin agrees that SUM/AVG overflow and the others do not.
        let mut acc = [NativeAggregate::EMPTY; MAX_OUTPUTS];
        let mut native_ok = true;
        for h in [&ha, &hb] {
            let r = eval_program_native(&program, &header_row(h, h.hash_slow())).unwrap();
            let this = core::array::from_fn(|j| r.outputs[j].aggregate);
            match merge_native(&program, &acc, &this) {
                Ok(m) => acc = m,
                Err(_) => native_ok = false,
            }
        }
        assert_eq!(native_ok, must_prove, "{aggregates:?}");
        assert!(set.root.prove(&r, Reduce, &program).is_ok() == must_prove);
        let unchecked = || set.root.prove_without_native_checks(&r, Reduce, &program);
        if must_prove {
            let (root, rows) = unchecked().unwrap();
            set.root.data.verify(root).unwrap();
            assert_eq!(rows, vec![native_result(&program, &[ha.clone(), hb.clone()])]);
            assert_eq!(rows[0][1], Some(U256::from(1u8) << 255));
        } else {
            assert!(rejects(unchecked), "{aggregates:?}");
        }
    }
}

/// Differential, default tier: the in-circuit keccak256 over the header bytes equals alloy's
/// `hash_slow` for one mainnet header of each header shape: Frontier (genesis, 15 fields, 4
/// absorbed blocks), Homestead, London (base fee), Shanghai (withdrawals root), Cancun (blob
/// gas, beacon root), Prague (requests hash) and Osaka. The full tier proves all 37.
#[test]
fn circuit_block_hash_equals_alloy_for_a_header_of_each_fork() {
    prove_header_hashes(&[
        0, 1_150_000, 12_965_000, 18_000_000, 19_432_087, 23_094_898, 24_630_100,
    ]);
}

/// Differential, full tier: the in-circuit keccak256 over the header bytes (capacity
/// `MAX_HEADER_BYTES`, 5 permutations, padding in circuit) equals alloy's `hash_slow` for every
/// mainnet fixture header, Frontier to Osaka (37 proofs, about 7 minutes on 2 cores).
#[test]
#[ignore = "full tier (about 7 minutes): bash scripts/test.sh --full"]
fn circuit_block_hash_equals_alloy_for_every_fixture_header() {
    let Ok(entries) = std::fs::read_dir(fixture_dir()) else {
        eprintln!("note: no fixtures, skipping");
        return;
    };
    let mut numbers: Vec<u64> =
        entries.filter_map(|e| e.ok()?.path().file_stem()?.to_str()?.parse().ok()).collect();
    numbers.sort();
    assert_eq!(numbers.len(), 37);
    prove_header_hashes(&numbers);
}

/// Proves keccak256 of each fixture header's RLP with the variable-length gadget over
/// `MAX_HEADER_BYTES` and compares the digest with alloy's `hash_slow`.
fn prove_header_hashes(numbers: &[u64]) {
    use annals_circuits::header::MAX_HEADER_BYTES;
    use annals_circuits::keccak::CircuitBuilderKeccak;
    use annals_circuits::mapreduce::{Cfg, D, F};
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::CircuitConfig;

    if !fixture_dir().exists() {
        eprintln!("note: no fixtures, skipping");
        return;
    }
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let bytes = b.add_virtual_targets(MAX_HEADER_BYTES);
    let len = b.add_virtual_target();
    let digest = b.keccak256_var(&bytes, len);
    b.register_public_inputs(&digest);
    let data = b.build::<Cfg>();
    for &n in numbers {
        let (h, rlp) = fixture(n).unwrap_or_else(|| panic!("fixture header {n}"));
        let mut pw = PartialWitness::new();
        for (i, t) in bytes.iter().enumerate() {
            pw.set_target(*t, F::from_canonical_u8(rlp.get(i).copied().unwrap_or(0))).unwrap();
        }
        pw.set_target(len, F::from_canonical_usize(rlp.len())).unwrap();
        let proof = data.prove(pw).unwrap();
        let got: Vec<u8> = proof.public_inputs.iter().map(|x| x.to_canonical_u64() as u8).collect();
        assert_eq!(B256::from_slice(&got), h.hash_slow(), "block {n}");
        data.verify(proof).unwrap();
    }
}

/// Every mainnet `eth_getProof` fixture through the full-depth `state_map` leaf (2^18 rows,
/// about 90 s per proof): each account's `SUM(balance)`, `MAX(nonce)` and each slot's
/// `SUM(value)` equal the fixture's values (which `verify_fixtures.py` and the indexer check
/// against the header with alloy-trie). Run with
/// `cargo test --release -p annals-circuits --test it -- --ignored mainnet_state`.
#[test]
#[ignore = "full tier (about 20 minutes: 8 proofs of a 2^18-row circuit): bash scripts/test.sh --full"]
fn mainnet_state_proofs_prove_in_the_state_map_leaf() {
    use alloy_primitives::{Address, Bytes};
    use annals_circuits::mapreduce::state_map::{PointWitness, StateMapCircuit, StateMapConfig};
    let dir = fixture_dir().join("../proofs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("note: {} missing, skipping", dir.display());
        return;
    };
    let t = Instant::now();
    let c = StateMapCircuit::build(StateMapConfig::MAINNET);
    eprintln!("state_map built in {:.1}s", t.elapsed().as_secs_f64());
    let nodes = |v: &serde_json::Value| -> Vec<Vec<u8>> {
        serde_json::from_value::<Vec<Bytes>>(v.clone())
            .unwrap()
            .into_iter()
            .map(|b| b.to_vec())
            .collect()
    };
    let u256 = |v: &serde_json::Value| {
        U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let mut proven = 0;
    for e in entries {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let number: u64 = name.split('-').next().unwrap().parse().unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let p = json.get("result").unwrap_or(&json);
        let address: Address = p["address"].as_str().unwrap().parse().unwrap();
        let (_, rlp) = fixture(number).expect("header fixture");
        let range = format!("block_number BETWEEN {number} AND {number}");
        let account = PointWitness {
            account_proof: nodes(&p["accountProof"]),
            account_exists: true,
            ..Default::default()
        };
        let q = annals_query_lang::compile(&format!(
            "SELECT SUM(balance), MAX(nonce) FROM accounts WHERE address = {address} AND {range}"
        ))
        .unwrap();
        let t = Instant::now();
        let proof = c.prove(&q.program, &rlp, &account).unwrap();
        c.data.verify(proof.clone()).unwrap();
        let st = Statement::from_public_inputs(&proof.public_inputs);
        eprintln!("{name}: account proven in {:.1}s", t.elapsed().as_secs_f64());
        assert_eq!(
            (st.aggregates[0].sum, st.aggregates[1].max),
            (u256(&p["balance"]), u256(&p["nonce"]))
        );
        proven += 1;
        for s in p["storageProof"].as_array().unwrap() {
            let slot = B256::left_padding_from(
                &alloy_primitives::hex::decode(s["key"].as_str().unwrap()).unwrap(),
            );
            let q = annals_query_lang::compile(&format!(
                "SELECT SUM(value) FROM storage WHERE address = {address} AND slot = {slot} AND {range}"
            ))
            .unwrap();
            let value = u256(&s["value"]);
            let w = PointWitness {
                storage_proof: nodes(&s["proof"]),
                slot_exists: !value.is_zero(),
                ..account.clone()
            };
            let t = Instant::now();
            let proof = c.prove(&q.program, &rlp, &w).unwrap();
            c.data.verify(proof.clone()).unwrap();
            let st = Statement::from_public_inputs(&proof.public_inputs);
            eprintln!("{name} slot {slot}: proven in {:.1}s", t.elapsed().as_secs_f64());
            assert_eq!(st.aggregates[0].sum, value);
            proven += 1;
        }
    }
    // 4 accounts (USDC, CryptoPunks, the deposit contract, an account without storage) and
    // their 4 slots.
    assert_eq!(proven, 8, "points proven");
}

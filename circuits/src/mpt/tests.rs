//! Inclusion proofs of real mainnet tries (the `eth_getProof` fixtures: state and storage
//! tries) and of a receipts trie built by alloy-trie, each value compared with alloy-trie's
//! own verification; tampered proofs (a forged node, a wrong child slot, a truncated path, a
//! wrong key, a wrong root, a node flagged as the wrong type) must not prove.

use super::testing::trie_proof;
use super::*;
use alloy_primitives::{keccak256, B256, U256};
use alloy_trie::proof::verify_proof;
use alloy_trie::Nibbles;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use std::path::PathBuf;
use std::sync::OnceLock;

const D: usize = 2;
type C = PoseidonGoldilocksConfig;
type F = <C as plonky2::plonk::config::GenericConfig<D>>::F;

/// Depth of the small circuit most tests use (a 3-node mainnet storage proof, receipts tries
/// of 40 keys), and of the full one (the deepest fixture: USDC's account, 9 nodes).
const SMALL: usize = 3;
const FULL: usize = 9;

struct TestCircuit {
    data: CircuitData<F, C, D>,
    t: MptProofTargets,
}

/// The circuit of `max_depth` (SMALL or FULL), public inputs `value_len ‖ value`.
fn circuit(max_depth: usize) -> &'static TestCircuit {
    static SMALL_C: OnceLock<TestCircuit> = OnceLock::new();
    static FULL_C: OnceLock<TestCircuit> = OnceLock::new();
    let cell = if max_depth == SMALL { &SMALL_C } else { &FULL_C };
    cell.get_or_init(|| {
        let cfg =
            MptConfig { max_depth, max_node_bytes: MAX_BRANCH_NODE_BYTES, max_key_nibbles: 64 };
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let t = b.add_mpt_proof(&cfg);
        b.register_public_input(t.value_len);
        b.register_public_inputs(&t.value);
        let gates = b.num_gates();
        let data = b.build::<C>();
        eprintln!(
            "mpt inclusion, depth {max_depth}: {gates} rows, 2^{}",
            data.common.degree_bits()
        );
        TestCircuit { data, t }
    })
}

/// One proof: root, key nibbles, nodes, and the value alloy-trie verified.
#[derive(Clone)]
struct Case {
    name: String,
    root: B256,
    key: Vec<u8>,
    nodes: Vec<Vec<u8>>,
    /// The key's value (empty when the proof shows it absent).
    value: Vec<u8>,
    exists: bool,
}

fn hex(v: &serde_json::Value) -> Vec<u8> {
    alloy_primitives::hex::decode(v.as_str().unwrap()).unwrap()
}

/// Account and storage proofs of the mainnet fixtures, checked with alloy-trie first.
fn fixture_cases() -> Option<Vec<Case>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    if !root.join("proofs").is_dir() {
        eprintln!("note: no mainnet fixtures; mpt fixture tests skipped");
        return None;
    }
    let mut cases = Vec::new();
    let mut paths: Vec<_> =
        std::fs::read_dir(root.join("proofs")).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let block: u64 = name.split('-').next().unwrap().parse().unwrap();
        let p: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let header: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("headers/{block}.json"))).unwrap(),
        )
        .unwrap();
        // An inclusion proof of `preimage`'s keccak256 under `root`, checked with alloy-trie.
        let included = |name: String, root: B256, preimage: &[u8], proof: &serde_json::Value| {
            let nodes: Vec<Vec<u8>> = proof.as_array().unwrap().iter().map(hex).collect();
            let value = leaf_value(nodes.last().unwrap());
            let key = keccak256(preimage);
            check_with_alloy(root, key, &nodes, &value);
            Case { name, root, key: nibbles(&key.0), nodes, value, exists: true }
        };
        let state_root = B256::from_slice(&hex(&header["stateRoot"]));
        let address = hex(&p["address"]);
        cases.push(included(format!("{name} account"), state_root, &address, &p["accountProof"]));
        let storage_root = B256::from_slice(&hex(&p["storageHash"]));
        for s in p["storageProof"].as_array().unwrap() {
            let slot = B256::left_padding_from(&hex(&s["key"]));
            cases.push(included(format!("{name} slot {slot}"), storage_root, &slot.0, &s["proof"]));
        }
    }
    Some(cases)
}

/// The value string of a leaf node (decoded natively with alloy-rlp).
fn leaf_value(leaf: &[u8]) -> Vec<u8> {
    let items: Vec<alloy_primitives::Bytes> = alloy_rlp::Decodable::decode(&mut &leaf[..]).unwrap();
    assert_eq!(items.len(), 2, "a leaf");
    items[1].to_vec()
}

fn check_with_alloy(root: B256, key: B256, nodes: &[Vec<u8>], value: &[u8]) {
    let proof: Vec<alloy_primitives::Bytes> = nodes.iter().map(|n| n.clone().into()).collect();
    verify_proof(root, Nibbles::unpack(key), Some(value.to_vec()), &proof).unwrap();
}

/// A proof built by alloy-trie's `HashBuilder` for `target` in the trie of `entries` (key
/// bytes, value), checked with alloy-trie's `verify_proof` (inclusion when the key is there,
/// exclusion otherwise).
fn trie_case(name: String, entries: &[(Vec<u8>, Vec<u8>)], target: &[u8]) -> Case {
    let (root, nodes, value) = trie_proof(entries, target);
    Case {
        name,
        root,
        key: nibbles(target),
        nodes,
        exists: value.is_some(),
        value: value.unwrap_or_default(),
    }
}

/// A receipts trie (keys `rlp(i)`, 40 receipt-like values of 120..=400 bytes): the proof of
/// key `rlp(index)` (absent from index 40 on: the "no receipt `n`" proof of a block map).
fn receipts_trie_case(index: usize) -> Case {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..40usize)
        .map(|i| {
            let payload: Vec<u8> = (0..120 + 7 * i).map(|j| (i * 31 + j) as u8).collect();
            (alloy_rlp::encode(i), alloy_rlp::encode(alloy_primitives::Bytes::from(payload)))
        })
        .collect();
    trie_case(format!("receipts trie key rlp({index})"), &entries, &alloy_rlp::encode(index))
}

/// A secure trie (keys keccak256 of 0..40, short values): the proof of keccak256(`i`).
fn secure_trie_case(i: u64) -> Case {
    let key = |i: u64| keccak256(i.to_be_bytes()).to_vec();
    let entries: Vec<(Vec<u8>, Vec<u8>)> =
        (0..40u64).map(|i| (key(i), alloy_rlp::encode(U256::from(i + 1)))).collect();
    trie_case(format!("secure trie key keccak({i})"), &entries, &key(i))
}

/// A trie whose root is an extension: two 5-byte keys sharing 4 bytes, 60-byte values; the
/// proof of `target` (present or not).
fn extension_trie_case(target: &[u8]) -> Case {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = [0x00u8, 0x01]
        .iter()
        .map(|&last| {
            let value = alloy_rlp::encode(alloy_primitives::Bytes::from(vec![last ^ 0x5a; 60]));
            (vec![0x12, 0x34, 0x56, 0x78, last], value)
        })
        .collect();
    let name = format!("extension trie key 0x{}", alloy_primitives::hex::encode(target));
    trie_case(name, &entries, target)
}

/// Proves and verifies with the circuit of `depth`; the value the circuit exposes, or an error
/// (a prover panic included).
fn prove(depth: usize, case: &Case) -> Result<Vec<u8>, String> {
    let c = circuit(depth);
    let mut pw = PartialWitness::new();
    set_mpt_proof(&mut pw, &c.t, case.root.0, &case.key, &case.nodes, case.exists)
        .map_err(|e| format!("witness: {e}"))?;
    prove_witness(depth, pw)
}

fn prove_witness(depth: usize, pw: PartialWitness<F>) -> Result<Vec<u8>, String> {
    use plonky2::field::types::PrimeField64;
    let c = circuit(depth);
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let proof = c.data.prove(pw).map_err(|e| format!("prove: {e}"))?;
        let pis: Vec<u64> = proof.public_inputs.iter().map(|x| x.to_canonical_u64()).collect();
        c.data.verify(proof).map_err(|e| format!("verify: {e}"))?;
        Ok::<_, String>(pis)
    }));
    let pis = res.unwrap_or_else(|_| Err("prover panicked".into()))?;
    let len = pis[0] as usize;
    Ok(pis[1..1 + len].iter().map(|&b| b as u8).collect())
}

#[test]
fn node_kinds_of_real_nodes() {
    let Some(cases) = fixture_cases() else { return };
    for c in &cases {
        let kinds: Vec<_> = c.nodes.iter().map(|n| node_kind(n).unwrap()).collect();
        assert_eq!(kinds.last(), Some(&NodeKind::Leaf), "{}", c.name);
        assert!(kinds[..kinds.len() - 1].iter().all(|k| *k != NodeKind::Leaf), "{}", c.name);
    }
    let r = receipts_trie_case(3);
    assert!(r.nodes.iter().any(|n| node_kind(n) == Some(NodeKind::Extension)) || r.nodes.len() > 1);
    assert_eq!(node_kind(&[0xc0]), None);
}

fn prove_and_compare(depth: usize, case: &Case) {
    let t = std::time::Instant::now();
    let value = prove(depth, case).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(value, case.value, "{}", case.name);
    eprintln!("{}: {} nodes proved in {:?}", case.name, case.nodes.len(), t.elapsed());
}

/// The mainnet storage proof of 3 nodes (the deposit contract's slot 1 at 21925176), checked
/// with alloy-trie first.
fn small_storage_case(cases: &[Case]) -> &Case {
    cases.iter().find(|c| c.name.contains("21925176") && c.name.contains("slot")).unwrap()
}

/// A real 3-node storage proof and two receipts-trie proofs prove, and the circuit's value
/// equals the one alloy-trie verified.
#[test]
fn proves_small_tries() {
    prove_and_compare(SMALL, &receipts_trie_case(0));
    prove_and_compare(SMALL, &receipts_trie_case(33));
    // Through an extension node: extension, branch, leaf.
    let ext = extension_trie_case(&[0x12, 0x34, 0x56, 0x78, 0x01]);
    let kinds: Vec<_> = ext.nodes.iter().map(|n| node_kind(n).unwrap()).collect();
    assert_eq!(kinds, [NodeKind::Extension, NodeKind::Branch, NodeKind::Leaf]);
    prove_and_compare(SMALL, &ext);
    let Some(cases) = fixture_cases() else { return };
    let case = small_storage_case(&cases);
    assert_eq!(case.nodes.len(), 3);
    prove_and_compare(SMALL, case);
}

/// The deepest fixture, USDC's account at 19000000 (9 nodes), at full depth. Full tier, like
/// `proves_every_mainnet_proof_fixture` (which includes this case): the default tier proves the
/// same gadget at the small shape.
#[test]
#[ignore = "full tier (about a minute): bash scripts/test.sh --full"]
fn proves_a_full_depth_account_proof() {
    let Some(cases) = fixture_cases() else { return };
    let case = cases.iter().find(|c| c.name.contains("19000000") && c.name.ends_with("account"));
    prove_and_compare(FULL, case.unwrap());
}

/// Every mainnet account and storage proof (4 accounts, 4 slots), about a minute each on 2
/// cores: `cargo test -p annals-circuits --lib mpt -- --ignored`.
#[test]
#[ignore = "full tier (about 10 minutes): bash scripts/test.sh --full"]
fn proves_every_mainnet_proof_fixture() {
    let Some(cases) = fixture_cases() else { return };
    for case in &cases {
        prove_and_compare(FULL, case);
    }
}

fn assert_rejected(case: &Case, what: &str) {
    match prove(SMALL, case) {
        Ok(v) => panic!("{what}: proved (value {} bytes)", v.len()),
        Err(e) => eprintln!("{what}: rejected ({e})"),
    }
}

#[test]
fn rejects_tampered_proofs() {
    let Some(cases) = fixture_cases() else { return };
    // Branch, branch, leaf.
    let honest = small_storage_case(&cases);
    assert!(prove(SMALL, honest).is_ok());
    let tamper = |what: &str, f: &dyn Fn(&mut Case)| {
        let mut c = honest.clone();
        f(&mut c);
        assert_rejected(&c, what);
    };
    tamper("forged byte in an intermediate node", &|c| c.nodes[1][60] ^= 1);
    tamper("wrong key nibble at a branch (wrong child slot)", &|c| c.key[1] ^= 1);
    tamper("wrong key nibble in the leaf path", &|c| c.key[63] ^= 1);
    tamper("truncated path (leaf dropped)", &|c| {
        c.nodes.pop();
    });
    tamper("proof against another root", &|c| c.root.0[0] ^= 1);
    tamper("shorter key", &|c| {
        c.key.pop();
    });
    // A node flagged as the wrong type: the leaf claimed as an extension, a branch as a leaf.
    let c = circuit(SMALL);
    let kinds: Vec<NodeKind> = honest.nodes.iter().map(|n| node_kind(n).unwrap()).collect();
    for (i, wrong) in [(kinds.len() - 1, NodeKind::Extension), (0, NodeKind::Leaf)] {
        let mut k = kinds.clone();
        k[i] = wrong;
        let mut pw = PartialWitness::new();
        set_mpt_proof_as(&mut pw, &c.t, honest.root.0, &honest.key, &honest.nodes, &k, true)
            .unwrap();
        assert!(prove_witness(SMALL, pw).is_err(), "node {i} flagged as {wrong:?}");
    }
}

/// Exclusion proofs: absent receipts-trie keys (`rlp(40)`, the first index past the block's
/// receipts, and a 4-nibble key), absent secure-trie keys, and the empty trie. Full tier: in
/// the default tier, `state_map`'s `proves_points_and_rejects_forged_state_proofs` proves an
/// exclusion (an absent account) and `rejects_wrong_existence_claims` refuses false ones.
#[test]
#[ignore = "full tier (about 2 minutes): bash scripts/test.sh --full"]
fn proves_absent_keys() {
    let mut cases = vec![receipts_trie_case(40), receipts_trie_case(200)];
    cases.extend([1000, 1002].map(secure_trie_case));
    // An extension that leaves the key, and a leaf whose key is a strict prefix of ours.
    let off_extension = extension_trie_case(&[0x12, 0x35, 0x56, 0x78, 0x00]);
    assert_eq!(node_kind(off_extension.nodes.last().unwrap()), Some(NodeKind::Extension));
    cases.push(off_extension);
    let short_leaf = trie_case(
        "single-leaf trie, longer key".into(),
        &[(vec![0x12], alloy_rlp::encode(alloy_primitives::Bytes::from(vec![7u8; 40])))],
        &[0x12, 0x34],
    );
    assert_eq!(short_leaf.nodes.len(), 1);
    cases.push(short_leaf);
    assert!(cases.iter().all(|c| !c.exists));
    let kinds: Vec<NodeKind> =
        cases.iter().map(|c| node_kind(c.nodes.last().unwrap()).unwrap()).collect();
    assert!(kinds.contains(&NodeKind::Branch), "an empty branch slot among {kinds:?}");
    cases.push(Case {
        name: "empty trie".into(),
        root: B256::from(EMPTY_ROOT),
        key: nibbles(&keccak256([7u8]).0),
        nodes: vec![],
        value: vec![],
        exists: false,
    });
    assert_eq!(B256::from(EMPTY_ROOT), alloy_trie::EMPTY_ROOT_HASH);
    for case in &cases {
        prove_and_compare(SMALL, case);
    }
}

#[test]
fn rejects_wrong_existence_claims() {
    let mut present = secure_trie_case(7);
    assert!(present.exists && prove(SMALL, &present).is_ok());
    present.exists = false;
    assert_rejected(&present, "exclusion claimed for a key that exists");
    let mut absent = receipts_trie_case(40);
    absent.exists = true;
    assert_rejected(&absent, "inclusion claimed for an absent key");
    // An exclusion cut short: the path stops at a branch whose slot holds a hash.
    let mut cut = receipts_trie_case(200);
    assert!(cut.nodes.len() > 1);
    cut.nodes.pop();
    assert_rejected(&cut, "exclusion proof without its last node");
    let empty = Case {
        name: "no nodes under a non-empty root".into(),
        root: present.root,
        key: present.key.clone(),
        nodes: vec![],
        value: vec![],
        exists: false,
    };
    assert_rejected(&empty, "empty-trie exclusion under a non-empty root");
}

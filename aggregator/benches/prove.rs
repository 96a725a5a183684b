//! Proving benchmarks (a bench binary, not a timed test): writes a markdown table to
//! `bench/results.md`. Run with `cargo bench -p annals-aggregator --features p3-compare`; it does nothing unless
//! invoked with `--bench` (nextest lists bench targets during test runs).
//!
//! Measured: rows and proving time of keccak-f at 1 and 8 permutations, header-map rows and
//! time per header, wrap and 2-to-1 reduce time, root time and proof size, peak memory, and
//! end to end for 16 anvil headers (index + prove + verify); MPT account and storage proofs of
//! one mainnet storage slot, and that slot through the `state_map` leaf, shrink and wrap;
//! keccak-f per receipt on the mainnet receipt fixtures and a block's receipts proven in their
//! trie;
//! keccak-f permutations per second in
//! the STARK table and its recursive verification, and with `--features p3-compare` the same for
//! Plonky3's `p3-keccak-air` ([`p3`]); last, the EVM wrap of the 16-header root proof (chain,
//! Groth16 setup and proof, key sizes, peak memory).

// In a subdirectory, not `benches/p3.rs`, which cargo would take for a bench target of its own.
#[cfg(feature = "p3-compare")]
#[path = "prove/p3.rs"]
mod p3;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use annals_aggregator::{ProofEnvelope, Prover};
use annals_circuits::keccak::CircuitBuilderKeccak;
use annals_circuits::mapreduce::recursion::ChildKind::HeaderWrap;
use annals_circuits::mapreduce::{Cfg, D, F};
use annals_indexer::testing::{produce_blocks, Anvil};
use annals_indexer::{HeaderProvider, IndexOptions, Store};
use annals_query_lang::columns::header_row;
use annals_query_lang::compile;
use plonky2::field::types::Field;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CircuitConfig;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn keccak_bench(perms: usize) -> (usize, f64) {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let input = b.add_virtual_targets(136 * perms - 1);
    let digest = b.keccak256_fixed(&input);
    b.register_public_inputs(&digest);
    let rows = b.num_gates();
    let data = b.build::<Cfg>();
    let mut pw = PartialWitness::new();
    for (i, t) in input.iter().enumerate() {
        pw.set_target(*t, F::from_canonical_u8((i * 7 % 256) as u8)).unwrap();
    }
    let t = Instant::now();
    let proof = data.prove(pw).unwrap();
    let s = t.elapsed().as_secs_f64();
    data.verify(proof).unwrap();
    (rows, s)
}

/// keccak-f permutations proven in the STARK table (trace generation + starky proof, 100
/// conjectured bits), then the recursive verification of the last proof inside plonky2.
fn keccak_stark_bench(out: &mut String) {
    use annals_circuits::keccak_stark::{
        degree_bits, prove_permutations, verify_permutations, PermutationVerifierCircuit,
    };
    // Deterministic pseudo-random states (splitmix64): the prover's cost does not depend on
    // the values, only on the count.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut last = None;
    let mut inputs_256 = Vec::new();
    for perms in [256usize, 1024] {
        let inputs: Vec<[u64; 25]> = (0..perms).map(|_| core::array::from_fn(|_| next())).collect();
        if perms == 256 {
            inputs_256.clone_from(&inputs);
        }
        let t = Instant::now();
        let proof = prove_permutations(&inputs).unwrap();
        let ours = t.elapsed().as_secs_f64();
        verify_permutations(proof.clone()).unwrap();
        writeln!(
            out,
            "| keccak-f STARK table, {perms} permutations | 2^{} rows × {} columns | {ours:.1} s prove ({:.1} perm/s) | target: within 3× of p3-keccak-air in this run |",
            degree_bits(perms),
            annals_circuits::keccak_stark::layout::NUM_COLUMNS,
            perms as f64 / ours
        )
        .unwrap();
        #[cfg(feature = "p3-compare")]
        {
            let s = p3::prove_seconds(&inputs);
            writeln!(
                out,
                "| p3-keccak-air 0.8 (Goldilocks, Poseidon2), {perms} permutations | same 100 bits: blowup 2, 84 queries, 16 grinding bits | {s:.1} s prove ({:.1} perm/s) | ours takes {:.2}× its time |",
                perms as f64 / s,
                ours / s
            )
            .unwrap();
        }
        last = Some((perms, proof));
    }
    lookup_table_bench(out, &inputs_256);
    let (perms, proof) = last.unwrap();
    let t = Instant::now();
    let circuit = PermutationVerifierCircuit::build(degree_bits(perms));
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let outer = circuit.prove(&proof).unwrap();
    let s = t.elapsed().as_secs_f64();
    circuit.data.verify(outer).unwrap();
    let what = format!("recursive verification of the {perms}-permutation table proof in plonky2");
    circuit_row(out, &what, circuit.rows, circuit.data.common.degree_bits(), s, build_s);
}

/// The lookup form of the table (`keccak_stark::lookup`): the same permutations proven with
/// the multiplicity column, the LogUp columns and three challenge pairs, seeded by the
/// lookups' commitment; then `LookupCheckCircuit`, the plonky2 circuit that verifies that proof
/// and balances the lookups' sum against it (one lookup per permutation).
fn lookup_table_bench(out: &mut String, inputs: &[[u64; 25]]) {
    use annals_circuits::keccak_stark::degree_bits;
    use annals_circuits::keccak_stark::lookup::{
        lookups_commitment, pairs_of, prove_lookup_table, verify_lookup_table, LookupCheckCircuit,
    };
    let perms = inputs.len();
    let pairs = pairs_of(inputs);
    let seed = lookups_commitment(&pairs);
    let t = Instant::now();
    let proof = prove_lookup_table(&seed, inputs).unwrap();
    let s = t.elapsed().as_secs_f64();
    verify_lookup_table(&seed, &proof).unwrap();
    writeln!(
        out,
        "| keccak-f lookup table (multiplicity, LogUp columns, 3 challenge pairs), {perms} permutations | 2^{} rows | {s:.1} s prove ({:.1} perm/s) | the table side of the lookup |",
        degree_bits(perms),
        perms as f64 / s
    )
    .unwrap();
    let t = Instant::now();
    let check = LookupCheckCircuit::build(degree_bits(perms), perms);
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let outer = check.prove(&proof, &pairs).unwrap();
    let s = t.elapsed().as_secs_f64();
    check.data.verify(outer).unwrap();
    let what =
        format!("lookup check in plonky2: that table proof verified and {perms} lookups balanced");
    circuit_row(out, &what, check.rows, check.data.common.degree_bits(), s, build_s);
}

/// A results row for a plonky2 circuit: gates before padding, degree bits, prove and build
/// seconds.
fn circuit_row(out: &mut String, what: &str, rows: usize, bits: usize, prove_s: f64, build_s: f64) {
    writeln!(
        out,
        "| {what} | {rows} rows (2^{bits}) | {prove_s:.1} s prove | build {build_s:.1} s |"
    )
    .unwrap();
}

/// One storage slot read from mainnet fixtures: USDC's account proof (9 nodes) against
/// block 19,000,000's `state_root`, then one of its slots (7 nodes) against the account's
/// `storage_root`, each in an MPT circuit of depth 9 with 532-byte nodes. Skipped when
/// `../shared/fixtures` is absent.
fn mpt_bench(out: &mut String) {
    use alloy_primitives::keccak256;
    use annals_circuits::mpt::{
        nibbles, set_mpt_proof, CircuitBuilderMpt, MptConfig, MAX_BRANCH_NODE_BYTES,
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    let file = dir.join("proofs/19000000-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        writeln!(out, "| MPT proofs | | | skipped: no {} |", file.display()).unwrap();
        return;
    };
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("headers/19000000.json")).unwrap())
            .unwrap();
    let bytes =
        |v: &serde_json::Value| hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let word = |v: &serde_json::Value| -> [u8; 32] {
        let b = bytes(v);
        let mut w = [0u8; 32];
        w[32 - b.len()..].copy_from_slice(&b);
        w
    };
    let nodes = |v: &serde_json::Value| -> Vec<Vec<u8>> {
        v.as_array().unwrap().iter().map(bytes).collect()
    };
    let cfg =
        MptConfig { max_depth: 9, max_node_bytes: MAX_BRANCH_NODE_BYTES, max_key_nibbles: 64 };
    let t = Instant::now();
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let targets = b.add_mpt_proof(&cfg);
    b.register_public_input(targets.value_len);
    b.register_public_inputs(&targets.value);
    let rows = b.num_gates();
    let data = b.build::<Cfg>();
    let build_s = t.elapsed().as_secs_f64();
    let slot = &p["storageProof"][0];
    let paths = [
        (
            "account",
            word(&header["stateRoot"]),
            keccak256(bytes(&p["address"])),
            nodes(&p["accountProof"]),
        ),
        (
            "storage slot",
            word(&p["storageHash"]),
            keccak256(word(&slot["key"])),
            nodes(&slot["proof"]),
        ),
    ];
    let mut total = 0.0;
    for (what, root, key, path) in paths {
        let mut pw = PartialWitness::new();
        set_mpt_proof(&mut pw, &targets, root, &nibbles(&key.0), &path, true).unwrap();
        let t = Instant::now();
        let proof = data.prove(pw).unwrap();
        let s = t.elapsed().as_secs_f64();
        data.verify(proof).unwrap();
        total += s;
        writeln!(
            out,
            "| MPT {what} proof, USDC at 19,000,000 ({} nodes) | {rows} rows (2^{}), depth 9 × 532 bytes | {s:.1} s prove | build {build_s:.1} s |",
            path.len(),
            data.common.degree_bits()
        )
        .unwrap();
    }
    writeln!(
        out,
        "| MPT account + storage path alone | 2 proofs | {total:.1} s | the state_map leaf below holds both |"
    )
    .unwrap();
    writeln!(
        out,
        "| peak memory (VmHWM) after the MPT proofs | {:.0} MiB | | bench process so far |",
        peak_rss_mib()
    )
    .unwrap();
}

/// A mainnet fixture block's `n` receipts (EIP-2718 encodings, in order), its receipts root,
/// and the receipts-trie proof nodes (root first, built with alloy-trie) of every key `rlp(i)`
/// for `i` in `0..=n`: the last path shows `rlp(n)` absent. `None` when `../shared/fixtures` is
/// absent.
fn fixture_receipt_trie(number: u64) -> Option<(Vec<Vec<u8>>, [u8; 32], Vec<Vec<Vec<u8>>>)> {
    use alloy_eips::eip2718::Encodable2718;
    use alloy_trie::proof::ProofRetainer;
    use alloy_trie::{HashBuilder, Nibbles};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    let text = std::fs::read_to_string(dir.join(format!("receipts/{number}.json"))).ok()?;
    let rpc: Vec<alloy_rpc_types_eth::TransactionReceipt> = serde_json::from_str(&text).unwrap();
    let receipts: Vec<Vec<u8>> =
        rpc.into_iter().map(|r| r.into_primitives_receipt().inner.encoded_2718()).collect();
    let keys: Vec<Nibbles> =
        (0..=receipts.len()).map(|i| Nibbles::unpack(alloy_rlp::encode(i))).collect();
    let mut sorted: Vec<(Nibbles, &[u8])> =
        keys.iter().copied().zip(receipts.iter().map(Vec::as_slice)).collect();
    sorted.sort_by_key(|e| e.0);
    let mut hb = HashBuilder::default().with_proof_retainer(ProofRetainer::new(keys.clone()));
    for (k, v) in &sorted {
        hb.add_leaf(*k, v);
    }
    let root = hb.root();
    let nodes = hb.take_proof_nodes().into_nodes_sorted();
    let paths = keys
        .iter()
        .map(|k| {
            let mut path: Vec<(usize, Vec<u8>)> = nodes
                .iter()
                .filter(|(p, _)| k.starts_with(p))
                .map(|(p, n)| (p.len(), n.to_vec()))
                .collect();
            path.sort_by_key(|(depth, _)| *depth);
            path.into_iter().map(|(_, n)| n).collect()
        })
        .collect();
    Some((receipts, root.0, paths))
}

/// Receipts (issue 4): keccak-f permutations per receipt on every mainnet receipt fixture (the
/// trie path's nodes hashed at their own length, as a keccak table would; and at the circuit's
/// fixed capacity), then every receipt of 1150000 and the absence of receipt 9 proven with
/// `receipt::leaf` (depth 3, 1,200-byte receipts, 4 logs): receipts proven per minute.
fn receipts_bench(out: &mut String) {
    use annals_circuits::receipt::leaf::{
        add_receipt_proof, receipt_node_bytes, set_receipt_proof,
    };
    use annals_circuits::receipt::ReceiptShape;
    let perms = |len: usize| len / 136 + 1;
    for number in [1_150_000u64, 10_000_000, 18_000_000, 19_432_087, 21_925_176] {
        let Some((receipts, _, paths)) = fixture_receipt_trie(number) else {
            writeln!(out, "| receipts | | | skipped: no fixtures |").unwrap();
            return;
        };
        let paths = &paths[..receipts.len()];
        let total: usize = paths.iter().flatten().map(|n| perms(n.len())).sum();
        let depth = paths.iter().map(Vec::len).max().unwrap();
        let largest = receipts.iter().map(Vec::len).max().unwrap();
        writeln!(
            out,
            "| keccak-f per receipt, mainnet {number} ({} receipts, trie depth {depth}, largest {largest} bytes) | {:.1} per receipt at node length | | {:.1} per receipt with one circuit for the block's largest receipt |",
            receipts.len(),
            total as f64 / receipts.len() as f64,
            (depth * perms(3 + 5 + 3 + largest).max(perms(532))) as f64
        )
        .unwrap();
    }
    let (receipts, root, paths) = fixture_receipt_trie(1_150_000).unwrap();
    // Cumulative gas of receipt i − 1 (0 before the first).
    let prev_gas = |i: usize| {
        use alloy_eips::eip2718::Decodable2718;
        i.checked_sub(1).map_or(0, |j| {
            let r = alloy_consensus::ReceiptEnvelope::decode_2718(&mut receipts[j].as_slice());
            r.unwrap().cumulative_gas_used()
        })
    };
    // Builds the depth-3 receipt circuit of `shape` and proves the receipts `indices` (an index
    // past the last is the end's exclusion): rows, degree bits, build and prove seconds.
    let run = |shape: &ReceiptShape, indices: &[usize]| {
        let t = Instant::now();
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let targets = add_receipt_proof(&mut b, shape, 3);
        b.register_public_inputs(&targets.mpt.root);
        let rows = b.num_gates();
        let data = b.build::<Cfg>();
        let build_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for &i in indices {
            let mut pw = PartialWitness::new();
            let receipt = receipts.get(i).map(Vec::as_slice);
            set_receipt_proof(&mut pw, &targets, root, i as u64, &paths[i], receipt, prev_gas(i))
                .unwrap();
            let proof = data.prove(pw).unwrap();
            data.verify(proof).unwrap();
        }
        (rows, data.common.degree_bits(), build_s, t.elapsed().as_secs_f64())
    };
    let shape = ReceiptShape { max_bytes: 1_200, max_logs: 4, max_data_bytes: 160 };
    let all: Vec<usize> = (0..paths.len()).collect();
    let (rows, bits, build_s, s) = run(&shape, &all);
    writeln!(
        out,
        "| receipt in `receipts_root` (`receipt::leaf`): all 9 receipts of 1150000 and the absence of the 10th | {rows} rows (2^{bits}), depth 3 × {} bytes | {s:.1} s for 10 proofs ({:.2} receipts/min) | build {build_s:.1} s; one proof at a time, 2 cores |",
        receipt_node_bytes(&shape),
        all.len() as f64 * 60.0 / s
    )
    .unwrap();
    // A smaller shape for the common receipt (the median mainnet receipt is ~430 bytes): nodes
    // of branch size, so 4 permutations a level.
    let small = ReceiptShape { max_bytes: 512, max_logs: 2, max_data_bytes: 96 };
    let fitting: Vec<usize> = (0..receipts.len()).filter(|&i| receipts[i].len() <= 512).collect();
    let (rows, bits, build_s, s) = run(&small, &fitting);
    writeln!(
        out,
        "| receipt in `receipts_root`, small shape (512 bytes, 2 logs, 96 data bytes): the {} receipts of 1150000 that fit | {rows} rows (2^{bits}), depth 3 × {} bytes | {s:.1} s ({:.2} receipts/min) | build {build_s:.1} s |",
        fitting.len(),
        receipt_node_bytes(&small),
        fitting.len() as f64 * 60.0 / s
    )
    .unwrap();
    writeln!(
        out,
        "| peak memory (VmHWM) after the receipt proofs | {:.0} MiB | | bench process so far |",
        peak_rss_mib()
    )
    .unwrap();
}

/// One storage slot at one block through the query path: the `state_map` leaf (header, account
/// path, storage path, plan) for USDC's first fixture slot at 19,000,000, then its shrink and
/// wrap into the shape.
fn state_bench(out: &mut String, set: &annals_circuits::mapreduce::CircuitSet) {
    use annals_circuits::mapreduce::recursion::ChildKind;
    use annals_circuits::mapreduce::state_map::PointWitness;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    let file = dir.join("proofs/19000000-0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        writeln!(out, "| state_map leaf | | | skipped: no {} |", file.display()).unwrap();
        return;
    };
    let p: serde_json::Value = serde_json::from_str(&text).unwrap();
    let header: alloy_consensus::Header =
        serde_json::from_str(&std::fs::read_to_string(dir.join("headers/19000000.json")).unwrap())
            .unwrap();
    let rlp = alloy_rlp::encode(&header);
    let bytes =
        |v: &serde_json::Value| hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap();
    let nodes = |v: &serde_json::Value| -> Vec<Vec<u8>> {
        v.as_array().unwrap().iter().map(bytes).collect()
    };
    let slot = &p["storageProof"][0];
    let q = compile(&format!(
        "SELECT SUM(value) FROM storage WHERE address = {} AND slot = {} \
         AND block_number BETWEEN 19000000 AND 19000000",
        p["address"].as_str().unwrap(),
        slot["key"].as_str().unwrap()
    ))
    .unwrap();
    let point = PointWitness {
        account_proof: nodes(&p["accountProof"]),
        account_exists: true,
        storage_proof: nodes(&slot["proof"]),
        slot_exists: true,
    };
    let t = Instant::now();
    let c = set.state_leaf.circuit().unwrap();
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let leaf = c.prove(&q.program, &rlp, &point).unwrap();
    let leaf_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let shrunk = set.shape.state_shrink.prove(&leaf).unwrap();
    let shrink_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let wrapped = set.shape.state_wrap.prove(&shrunk).unwrap();
    let wrap_s = t.elapsed().as_secs_f64();
    set.shape.wrap_leaf(ChildKind::StateWrap, &leaf).unwrap();
    assert_eq!(wrapped.public_inputs[..22], leaf.public_inputs[..22]);
    let total = leaf_s + shrink_s + wrap_s;
    writeln!(
        out,
        "| state_map leaf: one storage slot at one block (header + account path + storage path + plan), USDC at 19,000,000 | 2^{}, depths 10 + 10 | {leaf_s:.1} s prove | proving key ready in {build_s:.1} s (not cached on disk: rebuilt once per process, 0 s when the set was built in this process) |",
        c.data.common.degree_bits()
    )
    .unwrap();
    writeln!(
        out,
        "| state shrink + wrap, per sampled block | 2^{} + 2^{} | {shrink_s:.1} s + {wrap_s:.1} s | |",
        set.shape.state_shrink.data.common.degree_bits(),
        set.shape.common.degree_bits()
    )
    .unwrap();
    writeln!(
        out,
        "| one storage slot at one block, leaf to shape | 3 proofs | {total:.1} s | target < 60 s; keccak in-circuit |"
    )
    .unwrap();
    writeln!(
        out,
        "| peak memory (VmHWM) after the state_map proofs | {:.0} MiB | | bench process so far |",
        peak_rss_mib()
    )
    .unwrap();
}

/// One header: leaf, wrap, then a 2-to-1 reduce.
fn one_header_rows(
    out: &mut String,
    set: &annals_circuits::mapreduce::CircuitSet,
    program: &annals_query_lang::plan::Program,
    rlps: &[Vec<u8>],
) {
    let t = Instant::now();
    let leaf = set.leaf.prove(program, &rlps[0]).unwrap();
    let leaf_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let w0 = set.shape.wrap.prove(&leaf).unwrap();
    let wrap_s = t.elapsed().as_secs_f64();
    let w1 = set.shape.wrap.prove(&set.leaf.prove(program, &rlps[1]).unwrap()).unwrap();
    // The mean of a few reduce proofs: one is too noisy to compare with the target.
    const REDUCE_RUNS: u32 = 4;
    let t = Instant::now();
    for _ in 0..REDUCE_RUNS {
        set.shape.reduce.prove(&w0, HeaderWrap, &w1, HeaderWrap).unwrap();
    }
    let reduce_s = t.elapsed().as_secs_f64() / f64::from(REDUCE_RUNS);
    writeln!(out, "| header map (keccak + RLP + plan VM), per header | 2^{} | {leaf_s:.1} s | target ≤ 15 s |", set.leaf.data.common.degree_bits()).unwrap();
    writeln!(
        out,
        "| wrap (leaf → shape), per header | 2^{} | {wrap_s:.1} s | |",
        set.shape.common.degree_bits()
    )
    .unwrap();
    writeln!(
        out,
        "| reduce, 2-to-1 (mean of {REDUCE_RUNS}) | 2^{} | {reduce_s:.2} s | target ≤ 3.5 s |",
        set.shape.common.degree_bits()
    )
    .unwrap();
}

/// The EVM wrap (issue 6) of a root proof: the plonky2 chain (build, prove), Groth16 setup with
/// OS randomness into a fresh key directory, the Groth16 proof, key sizes, native verification
/// of the EVM proof file, and the process's peak memory after it.
fn evm_bench(out: &mut String, cache: &Path, envelope: &ProofEnvelope) {
    use annals_aggregator::evm::{pk_path, verify_evm_file, vk_path, EvmProver};
    let root = annals_aggregator::cache::load_root_verifier(cache).unwrap();
    // A fresh directory, so the setup runs and is measured.
    let keys = tempfile::tempdir().unwrap();
    let prover = EvmProver::new(keys.path(), root.clone()).unwrap();
    let (file, tm) = prover.prove(envelope).unwrap();
    let layers: Vec<String> =
        prover.chain().degree_bits().iter().map(|b| format!("2^{b}")).collect();
    let mib = |p: PathBuf| std::fs::metadata(p).unwrap().len() as f64 / (1024.0 * 1024.0);
    let vk_bytes = std::fs::metadata(vk_path(keys.path())).unwrap().len();
    let t = Instant::now();
    verify_evm_file(&root, &prover.verifying_key().unwrap(), &file).unwrap();
    let verify_s = t.elapsed().as_secs_f64();
    let total = tm.chain_build_s + tm.chain_prove_s + tm.setup_s + tm.groth16_s;
    let rows = [
        format!(
            "| EVM wrap: plonky2 chain (statement, shrink, BN254-config last layer) | layers {} | build {:.1} s, prove {:.1} s | |",
            layers.join(", "),
            tm.chain_build_s,
            tm.chain_prove_s
        ),
        format!(
            "| EVM wrap: Groth16 setup (OS randomness, once per circuit version) | pk {:.0} MiB, vk {vk_bytes} bytes (cache entries, uncompressed pk) | {:.1} s | R1CS 2,757,615 constraints (`bn254::chain` test) |",
            mib(pk_path(keys.path())),
            tm.setup_s
        ),
        format!("| EVM wrap: Groth16 proof | 128 bytes compressed, 10 calldata words | {:.1} s | |", tm.groth16_s),
        format!(
            "| EVM wrap, steps 1–4: with the setup / with cached keys | | {total:.1} s / {:.1} s + key load | target < 10 min |",
            total - tm.setup_s
        ),
        format!("| verify EVM proof file (plonky2 file + Groth16, native) | | {verify_s:.2} s | on chain: see `contracts/.gas-snapshot` |"),
        format!(
            "| peak memory (VmHWM) after the EVM wrap | {:.0} MiB | | target < 20 GiB; whole bench process |",
            peak_rss_mib()
        ),
    ];
    for row in rows {
        writeln!(out, "{row}").unwrap();
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut out = String::from(
        "# Benchmarks\n\nMeasured by `cargo bench -p annals-aggregator --features p3-compare` (release profile) on this 2-core, 24 GiB \
         machine (Goldilocks, Poseidon; every plonky2 circuit under plonky2's standard recursion config: \
         rate 1/8, 28 FRI queries, 16 grinding bits, 100 conjectured bits). Rows = gates before padding.\n\n\
         | what | rows / size | time | notes |\n|---|---|---|---|\n",
    );
    if std::env::var_os("ANNALS_BENCH_MPT_ONLY").is_some() {
        // Quick iteration on the trie proofs alone: print, do not overwrite results.md.
        mpt_bench(&mut out);
        print!("{out}");
        return;
    }
    if std::env::var_os("ANNALS_BENCH_RECEIPTS_ONLY").is_some() {
        // Quick iteration on the receipt proofs alone: print, do not overwrite results.md.
        receipts_bench(&mut out);
        print!("{out}");
        return;
    }
    if std::env::var_os("ANNALS_BENCH_STATE_ONLY").is_some() {
        // Quick iteration on the state leaf alone: print, do not overwrite results.md.
        let prover = Prover::load_or_build(
            &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("annals-circuit-cache"),
        )
        .unwrap();
        state_bench(&mut out, prover.circuits());
        print!("{out}");
        return;
    }
    if std::env::var_os("ANNALS_BENCH_KECCAK_STARK_ONLY").is_some() {
        // Quick iteration on the table alone: print, do not overwrite results.md.
        keccak_stark_bench(&mut out);
        print!("{out}");
        return;
    }
    // Quick iteration on the EVM wrap: the header pipeline's end-to-end proof, then the wrap;
    // print, do not overwrite results.md.
    let evm_only = std::env::var_os("ANNALS_BENCH_EVM_ONLY").is_some();
    for perms in if evm_only { vec![] } else { vec![1, 8] } {
        let (rows, s) = keccak_bench(perms);
        writeln!(
            out,
            "| keccak256, {perms} permutation(s) | {rows} rows ({:.0}/perm) | {s:.2} s prove | target ≤ 4,500 rows/perm |",
            rows as f64 / perms as f64
        )
        .unwrap();
    }

    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("annals-circuit-cache");
    let t = Instant::now();
    let prover = Prover::load_or_build(&cache).unwrap();
    let set = prover.circuits();
    writeln!(out, "| circuit set load or build | header leaf 2^{}, state leaf 2^{}, shape 2^{}, root 2^{} | {:.1} s | cache in target/ |",
        set.leaf.data.common.degree_bits(), set.state_leaf.verifier.common.degree_bits(), set.shape.common.degree_bits(),
        set.root.data.common.degree_bits(), t.elapsed().as_secs_f64()).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let anvil = rt.block_on(Anvil::spawn()).unwrap();
    let url = anvil.url();
    let head = rt.block_on(produce_blocks(&url, 20, 1..=4)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", tmp.path().join("b.db").display());
    let store = rt.block_on(Store::connect(&db)).unwrap();
    let opts = IndexOptions { quiet: true, ..IndexOptions::default() };
    rt.block_on(annals_indexer::index_range(&store, &url, 0, head, &opts)).unwrap();
    let (a, b) = (head - 15, head);
    let sql = format!(
        "SELECT COUNT(*), AVG(base_fee_per_gas), MAX(gas_used), SUM(gas_used) FROM headers WHERE number BETWEEN {a} AND {b}"
    );
    let q = compile(&sql).unwrap();
    let headers = rt.block_on(store.headers_range(a..=b)).unwrap();
    let rows: Vec<_> = headers.iter().map(|h| header_row(&h.header, h.hash)).collect();
    let expected = q.evaluate(&rows).unwrap();
    let rlps: Vec<Vec<u8>> = headers.iter().map(|h| h.rlp.clone()).collect();

    if !evm_only {
        one_header_rows(&mut out, set, &q.program, &rlps);
    }

    let t = Instant::now();
    let proven = prover.prove(&sql, &q.program, (a, b), &rlps, &expected, &|_| {}).unwrap();
    let e2e = t.elapsed().as_secs_f64();
    let proof_len = proven.envelope.proof.len() / 2 - 1;
    let tm = &proven.timings;
    writeln!(out, "| root | {proof_len} bytes proof | {:.1} s | |", tm.root_s).unwrap();
    writeln!(
        out,
        "| end to end, 16 anvil headers (prove) | leaves {:.1} s, reduce {:.1} s, root {:.1} s | {e2e:.1} s | 2 cores, rayon over leaves |",
        tm.leaves_s, tm.reduce_s, tm.root_s
    )
    .unwrap();
    let t = Instant::now();
    prover.verify(&proven.envelope).unwrap();
    writeln!(out, "| verify proof file | | {:.2} s | |", t.elapsed().as_secs_f64()).unwrap();
    // The header pipeline's peak, before the keccak STARK tables (much larger traces) run.
    writeln!(
        out,
        "| peak memory (VmHWM), header pipeline | {:.0} MiB | | bench process so far |",
        peak_rss_mib()
    )
    .unwrap();
    if evm_only {
        evm_bench(&mut out, &cache, &proven.envelope);
        print!("{out}");
        return;
    }
    mpt_bench(&mut out);
    receipts_bench(&mut out);
    state_bench(&mut out, prover.circuits());
    keccak_stark_bench(&mut out);
    writeln!(
        out,
        "| peak memory (VmHWM), with the keccak STARK tables | {:.0} MiB | | whole bench process |",
        peak_rss_mib()
    )
    .unwrap();

    // Last: the largest memory of the run.
    evm_bench(&mut out, &cache, &proven.envelope);

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/results.md");
    std::fs::write(&path, &out).unwrap();
    print!("{out}");
    drop(anvil);
}

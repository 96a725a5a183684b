use alloy_primitives::keccak256;
use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};
use plonky2::util::timing::TimingTree;
use rand::{Rng, SeedableRng};
use starky::prover::prove;
use starky::stark_testing::{test_stark_circuit_constraints, test_stark_low_degree};

use super::*;
use crate::keccak::native::{
    keccak256_pad, keccak256_permutation_inputs, keccak_f_native, KECCAK256_RATE_BYTES,
};

const D: usize = 2;
type C = PoseidonGoldilocksConfig;
type F = <C as GenericConfig<D>>::F;
type S = KeccakPermutationStark<F, D>;

fn random_states(n: usize, seed: u64) -> Vec<[u64; NUM_LANES]> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| core::array::from_fn(|_| rng.gen())).collect()
}

/// Whether the table rejects a trace: the prover refuses it or its proof does not verify.
/// starky's debug-only constraint check is off (workspace profile), so a bad trace reaches the
/// verifier; a panic is a test failure, not a rejection.
fn rejects(trace: Vec<PolynomialValues<F>>) -> bool {
    match prove::<F, C, S, D>(
        S::new(),
        &stark_config(),
        trace,
        &[],
        None,
        &mut TimingTree::default(),
    ) {
        Err(_) => true,
        Ok(proof) => verify_permutations(proof).is_err(),
    }
}

#[test]
fn trace_matches_native_and_proves() {
    let inputs = random_states(3, 1);
    let stark = S::new();
    let trace = stark.generate_trace(&inputs);
    assert_eq!(trace.len(), NUM_COLUMNS);
    assert_eq!(trace[0].len(), 128);
    assert_eq!((trace_rows(1), trace_rows(1024)), (32, 32768));
    for (p, input) in inputs.iter().enumerate() {
        let mut expected = *input;
        keccak_f_native(&mut expected);
        assert_eq!(read_input(&trace, p * NUM_ROUNDS), *input);
        assert_eq!(read_output(&trace, p * NUM_ROUNDS + NUM_ROUNDS - 1), expected, "perm {p}");
    }
    assert!(!rejects(trace));
}

/// Checks every message's keccak256 against the table: one trace holds every message's
/// permutations, each next input is the previous output xored
/// with the next block (read from the trace, not recomputed), and the first 32 bytes of the
/// last output are alloy's keccak256. Returns the trace.
fn check_digests_from_table(messages: &[Vec<u8>]) -> Vec<PolynomialValues<F>> {
    let schedules: Vec<Vec<[u64; NUM_LANES]>> =
        messages.iter().map(|m| keccak256_permutation_inputs(m)).collect();
    let all: Vec<[u64; NUM_LANES]> = schedules.iter().flatten().copied().collect();
    let trace = S::new().generate_trace(&all);
    let mut perm = 0;
    for (m, schedule) in messages.iter().zip(&schedules) {
        assert_eq!(schedule.len(), m.len() / KECCAK256_RATE_BYTES + 1);
        let padded = keccak256_pad(m);
        let mut out = [0u64; NUM_LANES];
        for (k, block) in padded.chunks(KECCAK256_RATE_BYTES).enumerate() {
            let input = read_input(&trace, perm * NUM_ROUNDS);
            let mut expected = out;
            for (lane, bytes) in expected.iter_mut().zip(block.chunks(8)) {
                *lane ^= u64::from_le_bytes(bytes.try_into().unwrap());
            }
            assert_eq!(input, expected, "{} bytes, block {k}", m.len());
            out = read_output(&trace, perm * NUM_ROUNDS + NUM_ROUNDS - 1);
            perm += 1;
        }
        let digest: Vec<u8> = out[..4].iter().flat_map(|l| l.to_le_bytes()).collect();
        assert_eq!(digest, keccak256(m).as_slice(), "message of {} bytes", m.len());
    }
    trace
}

/// Every length class of the sponge (empty, one byte, a block minus one, exactly one and two
/// blocks and their neighbours) up to 10 kB, on random bytes; the table's trace for them also
/// proves and verifies.
#[test]
fn sponge_digests_of_every_length_class_equal_alloy_keccak256() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let lengths = [0usize, 1, 32, 135, 136, 137, 271, 272, 273, 1000, 4096, 10_240];
    let messages: Vec<Vec<u8>> =
        lengths.iter().map(|&n| (0..n).map(|_| rng.gen()).collect()).collect();
    let trace = check_digests_from_table(&messages);
    assert!(!rejects(trace));
}

/// The block hash of every mainnet header fixture (Frontier → Osaka) from the table.
#[test]
fn mainnet_header_hashes_from_the_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/mainnet/headers");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("note: no header fixtures at {}, skipping", dir.display());
        return;
    };
    let mut rlps = Vec::new();
    for e in entries {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let header: alloy_consensus::Header = serde_json::from_value(json.clone()).unwrap();
        let hash: alloy_primitives::B256 = json["hash"].as_str().unwrap().parse().unwrap();
        let mut rlp = Vec::new();
        alloy_rlp::Encodable::encode(&header, &mut rlp);
        assert_eq!(keccak256(&rlp), hash, "{}", path.display());
        rlps.push(rlp);
    }
    assert_eq!(rlps.len(), 37);
    check_digests_from_table(&rlps);
}

/// keccak256 of every receipt of the five mainnet receipt fixtures (EIP-2718 encodings, up
/// to several kB each; legacy with post-state root, legacy with status, types 1, 2 and 3)
/// from the table. The encodings are first checked to rebuild each header's `receipts_root`
/// (alloy's ordered trie), so they are the real receipts. Traces are generated in batches of
/// at most 512 permutations to bound memory.
#[test]
fn mainnet_receipt_hashes_from_the_table() {
    use alloy::eips::eip2718::Encodable2718;
    use alloy::rpc::types::TransactionReceipt;
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    let Ok(entries) = std::fs::read_dir(root.join("receipts")) else {
        eprintln!("note: no receipt fixtures under {}, skipping", root.display());
        return;
    };
    let (mut blocks, mut batch, mut perms) = (0, Vec::new(), 0);
    for e in entries {
        let path = e.unwrap().path();
        let receipts: Vec<TransactionReceipt> =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let envelopes: Vec<_> =
            receipts.into_iter().map(|r| r.into_primitives_receipt().inner).collect();
        let header: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.join("headers").join(path.file_name().unwrap())).unwrap(),
        )
        .unwrap();
        let receipts_root: alloy_primitives::B256 =
            header["receiptsRoot"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            alloy_consensus::proofs::calculate_receipt_root(&envelopes),
            receipts_root,
            "{}",
            path.display()
        );
        for envelope in &envelopes {
            let encoded = envelope.encoded_2718();
            perms += encoded.len() / KECCAK256_RATE_BYTES + 1;
            batch.push(encoded);
            if perms >= 512 {
                check_digests_from_table(&std::mem::take(&mut batch));
                perms = 0;
            }
        }
        blocks += 1;
    }
    check_digests_from_table(&batch);
    assert_eq!(blocks, 5);
}

#[test]
fn constraints_have_degree_3() {
    test_stark_low_degree::<F, S, D>(S::new()).unwrap();
}

#[test]
fn recursive_constraints_match_native() {
    test_stark_circuit_constraints::<F, C, S, D>(S::new()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Negative tests: each tampered trace must be rejected.

#[test]
fn flipped_theta_bit_is_rejected() {
    let mut trace = S::new().generate_trace(&random_states(1, 2));
    let v = &mut trace[a_prime_bit(7, 13)].values[5];
    *v = F::ONE - *v;
    assert!(rejects(trace));
}

#[test]
fn changed_input_limb_is_rejected() {
    // The round-0 row of the second permutation claims another input than its θ bits encode.
    let mut trace = S::new().generate_trace(&random_states(2, 3));
    trace[a_limb(3, 1)].values[NUM_ROUNDS] += F::ONE;
    assert!(rejects(trace));
}

/// A wrong permutation whose rows are each internally consistent except one: round 5's χ
/// output is changed, and rounds 6..24 are recomputed honestly from the changed state, so only
/// the χ constraint of that row is broken.
#[test]
fn wrong_round_output_is_rejected() {
    let input = random_states(1, 4)[0];
    let mut trace = S::new().generate_trace(&[input]);
    let mut cols: Vec<Vec<F>> = trace.iter().map(|p| p.values.clone()).collect();
    let mut state = input;
    for i in 0..=5 {
        state = fill_round(&mut cols, i, i, &state, ROUND_CONSTANTS[i]);
    }
    state[9] ^= 1 << 40;
    cols[a_chi_limb(9, 1)][5] = F::from_canonical_u64(state[9] >> 32);
    for (i, rc) in ROUND_CONSTANTS.iter().enumerate().skip(6) {
        state = fill_round(&mut cols, i, i, &state, *rc);
    }
    trace = cols.into_iter().map(PolynomialValues::new).collect();
    let mut honest = input;
    keccak_f_native(&mut honest);
    assert_ne!(read_output(&trace, NUM_ROUNDS - 1), honest);
    assert!(rejects(trace));
}

#[test]
fn wrong_round_constant_is_rejected() {
    // Round 3's successor row starts from a state with ι of round 4 instead of round 3.
    let input = random_states(1, 5)[0];
    let trace = S::new().generate_trace(&[input]);
    let mut cols: Vec<Vec<F>> = trace.iter().map(|p| p.values.clone()).collect();
    let mut state = input;
    for i in 0..NUM_ROUNDS {
        let rc = if i == 3 { ROUND_CONSTANTS[4] } else { ROUND_CONSTANTS[i] };
        state = fill_round(&mut cols, i, i, &state, rc);
    }
    assert!(rejects(cols.into_iter().map(PolynomialValues::new).collect()));
}

#[test]
fn skipped_round_flag_is_rejected() {
    // Round flags must cycle: row 7 claims round 8.
    let trace = S::new().generate_trace(&random_states(1, 6));
    let mut cols: Vec<Vec<F>> = trace.iter().map(|p| p.values.clone()).collect();
    cols[round_flag(7)][7] = F::ZERO;
    cols[round_flag(8)][7] = F::ONE;
    assert!(rejects(cols.into_iter().map(PolynomialValues::new).collect()));
}

// ---------------------------------------------------------------------------------------------
// Recursive verification inside plonky2.

/// One proof of one permutation (32 rows): its verifier circuit proves it, and the same proof
/// with one opened trace value changed, or with one Merkle sibling of a FRI query changed, is
/// refused: plonky2's prover fails on the unsatisfiable witness, or its proof does not verify.
fn refuses(circuit: &PermutationVerifierCircuit, proof: &PermutationProof) -> bool {
    match circuit.prove(proof) {
        Err(_) => true,
        Ok(outer) => circuit.data.verify(outer).is_err(),
    }
}

#[test]
fn recursive_verifier_accepts_honest_and_refuses_tampered_proofs() {
    let proof = prove_permutations(&random_states(1, 7)).unwrap();
    verify_permutations(proof.clone()).unwrap();
    let circuit = PermutationVerifierCircuit::build(degree_bits(1));
    let outer = circuit.prove(&proof).unwrap();
    circuit.data.verify(outer).unwrap();

    let mut opened = proof.clone();
    opened.proof.openings.local_values[100] += <C as GenericConfig<D>>::FE::ONE;
    assert!(verify_permutations(opened.clone()).is_err());
    assert!(refuses(&circuit, &opened));

    let mut sibling = proof.clone();
    let path =
        &mut sibling.proof.opening_proof.query_round_proofs[3].initial_trees_proof.evals_proofs[0]
            .1
            .siblings;
    path[0].elements[1] += F::ONE;
    assert!(verify_permutations(sibling.clone()).is_err());
    assert!(refuses(&circuit, &sibling));

    // A proof of another size is refused before proving.
    let other = prove_permutations(&random_states(2, 8)).unwrap();
    assert!(circuit.prove(&other).is_err());
}

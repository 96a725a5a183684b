//! Test helper shared by the circuits' unit tests: MPT proofs built with alloy-trie.

use alloy_primitives::B256;
use alloy_trie::proof::{verify_proof, ProofRetainer};
use alloy_trie::{HashBuilder, Nibbles};

/// The root of the trie of `entries` (key bytes, value) and the proof of `target` built by
/// alloy-trie's `HashBuilder` (root first), checked with alloy-trie's `verify_proof`; the
/// value when the key is there (the proof is then an inclusion proof, else an exclusion proof).
pub(crate) fn trie_proof(
    entries: &[(Vec<u8>, Vec<u8>)],
    target: &[u8],
) -> (B256, Vec<Vec<u8>>, Option<Vec<u8>>) {
    let target_nibbles = Nibbles::unpack(target);
    let mut sorted: Vec<(Nibbles, &[u8])> =
        entries.iter().map(|(k, v)| (Nibbles::unpack(k), v.as_slice())).collect();
    sorted.sort_by_key(|e| e.0);
    let mut hb =
        HashBuilder::default().with_proof_retainer(ProofRetainer::new(vec![target_nibbles]));
    for (k, v) in &sorted {
        hb.add_leaf(*k, v);
    }
    let root = hb.root();
    let mut nodes: Vec<(Nibbles, Vec<u8>)> = hb
        .take_proof_nodes()
        .into_nodes_sorted()
        .into_iter()
        .filter(|(path, _)| target_nibbles.starts_with(path))
        .map(|(p, n)| (p, n.to_vec()))
        .collect();
    nodes.sort_by_key(|(p, _)| p.len());
    let nodes: Vec<Vec<u8>> = nodes.into_iter().map(|(_, n)| n).collect();
    let value = entries.iter().find(|(k, _)| k == target).map(|(_, v)| v.clone());
    let proof: Vec<alloy_primitives::Bytes> = nodes.iter().map(|n| n.clone().into()).collect();
    verify_proof(root, target_nibbles, value.clone(), &proof).unwrap();
    (root, nodes, value)
}

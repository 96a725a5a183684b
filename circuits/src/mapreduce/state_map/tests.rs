//! The `state_map` leaf on a state built with alloy-trie (41 accounts, a token with 40 set
//! slots plus a `balanceOf` and an `allowance` entry; paths of up to 3 nodes, so a small
//! circuit serves): rows equal the native
//! evaluator's for a set slot, an account, and an unset slot of an absent account; and the
//! proofs the issue names must not prove: a value from another slot, a proof against another
//! block's root, a forged intermediate node, an exclusion proof for a key that exists. The
//! `header_map` leaf of a skipped block of a sampled points query contributes nothing, and
//! only on a block the sampling skips. Mainnet `eth_getProof` fixtures run in the integration
//! tests with the full-depth circuit.

use super::*;
use crate::mapreduce::header_map::HeaderMapCircuit;
use crate::mapreduce::statement::Statement;
use crate::mpt::testing::trie_proof;
use alloy_consensus::Header;
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_trie::TrieAccount;
use annals_query_lang::columns::{account_row, mapping_slot, storage_row};
use annals_query_lang::{compile, CompiledQuery};
use std::sync::OnceLock;

const SMALL: StateMapConfig = StateMapConfig { account_depth: 3, storage_depth: 3 };
const BLOCK: u64 = 1_000;

fn circuit() -> &'static StateMapCircuit {
    static C: OnceLock<StateMapCircuit> = OnceLock::new();
    C.get_or_init(|| {
        let (b, targets) = wire_state_map(SMALL);
        let rows = b.num_gates();
        let data = b.build::<Cfg>();
        eprintln!("state_map {SMALL:?}: {rows} rows, 2^{}", data.common.degree_bits());
        StateMapCircuit { data, targets }
    })
}

fn token() -> Address {
    Address::with_last_byte(0xaa)
}

fn slot(i: u64) -> B256 {
    B256::from(U256::from(i))
}

fn slot_value(i: u64) -> U256 {
    U256::from(i * 1_000_003 + 7) << 100
}

/// The token's `balanceOf[HOLDER]` (mapping at slot 0) and `allowance[HOLDER][SPENDER]`
/// (slot 1), as Solidity lays them out.
const HOLDER: u64 = 0x11;
const SPENDER: u64 = 0x22;

fn balance_slot() -> B256 {
    B256::from(mapping_slot(U256::from(HOLDER), U256::ZERO))
}

fn allowance_slot() -> B256 {
    B256::from(mapping_slot(U256::from(SPENDER), mapping_slot(U256::from(HOLDER), U256::from(1))))
}

/// 40 externally owned accounts (nonce i, balance i ether) and the token, whose storage holds
/// slots 1..=40, [`balance_slot`] = 41 and [`allowance_slot`] = 42 (as `slot_value`).
struct World {
    accounts: Vec<(Address, TrieAccount)>,
    storage: Vec<(Vec<u8>, Vec<u8>)>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let storage: Vec<(Vec<u8>, Vec<u8>)> = (1..=40u64)
            .map(|i| (slot(i), slot_value(i)))
            .chain([(balance_slot(), slot_value(41)), (allowance_slot(), slot_value(42))])
            .map(|(s, v)| (keccak256(s).to_vec(), alloy_rlp::encode(v)))
            .collect();
        let (storage_root, _, _) = trie_proof(&storage, &[0; 32]);
        let mut accounts: Vec<(Address, TrieAccount)> = (1..=40u64)
            .map(|i| {
                let a = TrieAccount {
                    nonce: i,
                    balance: U256::from(i) * U256::from(10u64).pow(U256::from(18)),
                    storage_root: B256::from(crate::mpt::EMPTY_ROOT),
                    code_hash: crate::state::keccak_empty(),
                };
                (Address::with_last_byte(i as u8), a)
            })
            .collect();
        let code_hash = keccak256(b"token code");
        accounts.push((
            token(),
            TrieAccount { nonce: 1, balance: U256::ZERO, storage_root, code_hash },
        ));
        World { accounts, storage }
    })
}

fn state_entries(w: &World) -> Vec<(Vec<u8>, Vec<u8>)> {
    w.accounts.iter().map(|(a, acc)| (keccak256(a).to_vec(), alloy_rlp::encode(acc))).collect()
}

/// The state root and the witness of `address` (and `slot`) in the world.
fn point(w: &World, address: Address, slot: Option<B256>) -> (B256, PointWitness) {
    let (root, account_proof, account) =
        trie_proof(&state_entries(w), keccak256(address).as_slice());
    let mut p =
        PointWitness { account_proof, account_exists: account.is_some(), ..Default::default() };
    if let (Some(s), Some(_)) = (slot, account) {
        if address == token() {
            let (_, nodes, value) = trie_proof(&w.storage, keccak256(s).as_slice());
            p.storage_proof = nodes;
            p.slot_exists = value.is_some();
        }
    }
    (root, p)
}

fn header_rlp(number: u64, state_root: B256) -> Vec<u8> {
    let h = Header { number, state_root, gas_limit: 30_000_000, ..Default::default() };
    alloy_rlp::encode(&h)
}

fn statement(proof: &Proof) -> Statement {
    Statement::from_public_inputs(&proof.public_inputs)
}

/// Proves and verifies; an error (or a prover panic) is a rejection.
fn prove(q: &CompiledQuery, rlp: &[u8], p: &PointWitness) -> anyhow::Result<Statement> {
    prove_program(&q.program, rlp, p).map(|proof| statement(&proof))
}

/// [`prove`] for a program that may be hand-made (the prover does not validate it).
fn prove_program(
    program: &annals_query_lang::plan::Program,
    rlp: &[u8],
    p: &PointWitness,
) -> anyhow::Result<Proof> {
    let c = circuit();
    let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.prove(program, rlp, p)))
        .map_err(|_| anyhow::anyhow!("prover panicked"))??;
    c.data.verify(proof.clone())?;
    Ok(proof)
}

/// The native result of `q` on one row, as the statement's first slots must finalize to.
fn native(q: &CompiledQuery, row: annals_query_lang::columns::Row) -> Vec<Option<U256>> {
    q.evaluate(&[row]).unwrap().remove(0)
}

fn storage_query(address: Address, s: B256) -> CompiledQuery {
    compile(&format!(
        "SELECT SUM(value), COUNT(*), MAX(value) FROM storage WHERE address = {address} \
         AND slot = {s} AND block_number BETWEEN {BLOCK} AND {BLOCK}"
    ))
    .unwrap()
}

#[test]
fn proves_points_and_rejects_forged_state_proofs() {
    let w = world();
    // A set slot of the token.
    let q = storage_query(token(), slot(5));
    let (root, p) = point(w, token(), Some(slot(5)));
    assert!(p.account_exists && p.slot_exists && p.account_proof.len() >= 2);
    let rlp = header_rlp(BLOCK, root);
    let st = prove(&q, &rlp, &p).unwrap();
    assert_eq!((st.from_block, st.to_block), (BLOCK, BLOCK));
    assert_eq!(st.last_hash, keccak256(&rlp));
    let v = slot_value(5);
    assert_eq!(
        native(&q, storage_row(BLOCK, token(), slot(5), v)),
        vec![Some(v), Some(U256::from(1)), Some(v)]
    );
    assert_eq!((st.aggregates[0].count, st.aggregates[0].sum), (1, v));
    assert_eq!((st.aggregates[1].count, st.aggregates[2].max), (1, v));

    // An account's fields (the first whose path fits the small circuit).
    let (i, who, pa) = (1..=40u8)
        .map(|i| (i, Address::with_last_byte(i)))
        .map(|(i, a)| (i, a, point(w, a, None).1))
        .find(|(_, _, p)| p.account_proof.len() <= SMALL.account_depth)
        .unwrap();
    // (`nonce > 0` puts a constant where a storage program's slot sits.)
    let q = compile(&format!(
        "SELECT SUM(balance), MAX(nonce), COUNT(*) FROM accounts WHERE address = {who} \
         AND nonce > 0 AND block_number BETWEEN {BLOCK} AND {BLOCK}"
    ))
    .unwrap();
    assert!(q.program.constants.len() > 1);
    let st = prove(&q, &rlp, &pa).unwrap();
    let acc = &w.accounts[i as usize - 1].1;
    let row = account_row(BLOCK, who, acc.nonce, acc.balance, acc.storage_root, acc.code_hash);
    let nonce = U256::from(acc.nonce);
    assert_eq!(native(&q, row), vec![Some(acc.balance), Some(nonce), Some(U256::from(1))]);
    assert_eq!(
        (st.aggregates[0].sum, st.aggregates[1].max, st.aggregates[2].count),
        (acc.balance, nonce, 1)
    );

    // A slot of an absent account: exclusion in the state trie, the empty storage trie.
    let ghost = Address::with_last_byte(0xee);
    let q0 = storage_query(ghost, slot(5));
    let (_, pg) = point(w, ghost, Some(slot(5)));
    assert!(!pg.account_exists && pg.storage_proof.is_empty());
    let st = prove(&q0, &rlp, &pg).unwrap();
    assert_eq!(native(&q0, storage_row(BLOCK, ghost, slot(5), U256::ZERO))[1], Some(U256::from(1)));
    assert_eq!((st.aggregates[0].sum, st.aggregates[1].count), (U256::ZERO, 1));

    // A value from another slot: the token's slot 6 proof for the query of slot 5.
    let (_, p6) = point(w, token(), Some(slot(6)));
    assert!(prove(&q, &rlp, &p6).is_err(), "another slot's proof");
    // A proof against another block's root: the same proof under a header whose state differs.
    let other = header_rlp(BLOCK, keccak256(b"another state"));
    assert!(prove(&q, &other, &p).is_err(), "another block's root");
    // A forged intermediate node: one byte of the account path's middle node.
    let mut forged = p.clone();
    let mid = forged.account_proof.len() / 2;
    let n = forged.account_proof[mid].len();
    forged.account_proof[mid][n - 3] ^= 1;
    assert!(prove(&q, &rlp, &forged).is_err(), "forged node");
    // An exclusion proof for a key that exists: slot 5's nodes, claimed absent.
    let mut absent = p.clone();
    absent.slot_exists = false;
    assert!(prove(&q, &rlp, &absent).is_err(), "exclusion of a set slot");
}

/// The header leaf stands for a block a sampled points query skips (empty aggregates), and
/// only for such a block: not for a sampled block, not for an unsampled query.
#[test]
fn header_leaf_skips_only_unsampled_blocks_of_points_queries() {
    static H: OnceLock<HeaderMapCircuit> = OnceLock::new();
    let h = H.get_or_init(HeaderMapCircuit::build);
    let sampled = |n: u64| {
        compile(&format!(
            "SELECT SUM(value), COUNT(*) FROM storage WHERE address = {} AND slot = 1 \
             AND block_number BETWEEN 990 AND 1010 AND block_number % 4 = 1",
            token()
        ))
        .map(|q| (q, header_rlp(n, B256::ZERO)))
        .unwrap()
    };
    assert_eq!(h.data.common.degree_bits(), 14, "the header leaf outgrew 2^14 rows");
    let (q, skipped) = sampled(BLOCK + 2);
    let proof = h.prove(&q.program, &skipped).unwrap();
    h.data.verify(proof.clone()).unwrap();
    let st = statement(&proof);
    assert_eq!(st.from_block, BLOCK + 2);
    assert!(st.aggregates.iter().all(|a| a.count == 0 && a.sum == U256::ZERO));
    let verify = |q: &CompiledQuery, rlp: &[u8]| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.prove(&q.program, rlp)))
            .map_err(|_| anyhow::anyhow!("panic"))
            .and_then(|r| r)
            .and_then(|p| h.data.verify(p))
    };
    let (q, kept) = sampled(BLOCK + 1);
    assert!(verify(&q, &kept).is_err(), "a sampled block has a row");
    // A skipped block has no rows, so an op that would fail on it (block_number − 1003
    // underflows at 1002) does not stop its proof, as the native evaluator never runs it.
    let q = compile(&format!(
        "SELECT SUM(balance) FROM accounts WHERE address = {} \
         AND block_number BETWEEN 1002 AND 1005 AND block_number % 4 = 1 \
         AND block_number - 1003 > 1",
        token()
    ))
    .unwrap();
    let proof = h.prove(&q.program, &header_rlp(BLOCK + 2, B256::ZERO)).unwrap();
    h.data.verify(proof).unwrap();
    let unsampled = storage_query(token(), slot(1));
    assert!(verify(&unsampled, &kept).is_err(), "an unsampled query has rows at every block");
}

/// Tampering with the prelude check of the header leaf: a wrong `sampled` witness for a
/// sampled program, and a points program whose filter does not keep the prelude as a top-level
/// conjunct (hand-made: `Not(prelude)`), are rejected on a block the sampling skips.
#[test]
fn header_leaf_rejects_a_tampered_points_prelude() {
    use crate::mapreduce::header_map::set_header_link;
    use crate::mapreduce::plan::set_plan;
    use annals_query_lang::plan::{Op, Opcode};
    use plonky2::iop::witness::WitnessWrite;
    static H: OnceLock<HeaderMapCircuit> = OnceLock::new();
    let h = H.get_or_init(HeaderMapCircuit::build);
    let q = compile(&format!(
        "SELECT SUM(value) FROM storage WHERE address = {} AND slot = 1 \
         AND block_number BETWEEN 990 AND 1010 AND block_number % 4 = 1",
        token()
    ))
    .unwrap();
    let rlp = header_rlp(BLOCK + 2, B256::ZERO);
    let run = |program: &annals_query_lang::plan::Program, sampled: bool| {
        let t = &h.targets;
        let mut pw = PartialWitness::new();
        set_header_link(&mut pw, &t.header, &rlp)?;
        set_plan(&mut pw, &t.plan, program)?;
        pw.set_bool_target(t.prelude.sampled, sampled)?;
        for (i, f) in t.prelude.slot_keys.iter().enumerate() {
            pw.set_bool_target(*f, i == 0)?;
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.data.prove(pw)))
            .map_err(|_| anyhow::anyhow!("panic"))
            .and_then(|r| r)
            .and_then(|p| h.data.verify(p))
    };
    assert!(run(&q.program, true).is_ok(), "the honest witness proves");
    assert!(run(&q.program, false).is_err(), "sampled claimed false");
    let mut negated = q.program.clone();
    let reg = negated.points_prelude().unwrap().reg;
    negated.ops.push(Op { opcode: Opcode::Not, a: reg, b: 0 });
    negated.filter = Some((negated.ops.len() - 1) as u8);
    assert!(negated.points_prelude().is_none());
    assert!(run(&negated, true).is_err(), "a filter that negates the prelude");
}

/// A slot written as `mapping_slot(..)` is recomputed in the circuit from the base slot and
/// the keys the program carries: `balanceOf[holder]` (one key) and `allowance[holder][spender]`
/// (two) prove and equal the native rows; a program whose keys (or key count) do not derive
/// its slot constant is rejected, though the storage proof is the slot constant's.
///
/// Full tier (165 s), like the node's sampled ERC-20 balance query, which proves a
/// `mapping_slot` end to end; the default tier proves state points with plain slots.
#[test]
#[ignore = "full tier (about 3 minutes): bash scripts/test.sh --full"]
fn mapping_slots_are_derived_in_circuit() {
    let w = world();
    let query = |slot_sql: &str| {
        compile(&format!(
            "SELECT SUM(value) FROM storage WHERE address = {} AND slot = {slot_sql} \
             AND block_number BETWEEN {BLOCK} AND {BLOCK}",
            token()
        ))
        .unwrap()
    };
    let cases = [
        (format!("mapping_slot({HOLDER}, 0)"), balance_slot(), 41, 1),
        (format!("mapping_slot({SPENDER}, mapping_slot({HOLDER}, 1))"), allowance_slot(), 42, 2),
    ];
    let mut last = None;
    for (slot_sql, s, i, keys) in cases {
        let q = query(&slot_sql);
        assert_eq!(q.program.slot_keys, keys);
        let (root, p) = point(w, token(), Some(s));
        assert!(p.slot_exists);
        let rlp = header_rlp(BLOCK, root);
        let st = prove(&q, &rlp, &p).unwrap();
        let v = slot_value(i);
        assert_eq!(native(&q, storage_row(BLOCK, token(), s, v)), vec![Some(v)]);
        assert_eq!((st.aggregates[0].count, st.aggregates[0].sum), (1, v));
        last = Some((q, rlp, p));
    }
    let (q, rlp, p) = last.unwrap();
    let base = q.program.points_prelude().unwrap().mapping_base_constant().unwrap() as usize;
    // Another holder: the derivation names another slot than the one proven.
    let mut other_key = q.program.clone();
    other_key.constants[base + 1] += U256::from(1);
    assert!(other_key.validate().is_err());
    assert!(prove_program(&other_key, &rlp, &p).is_err(), "a key that does not derive the slot");
    // One key fewer: keccak256(holder ‖ 1) is not the allowance slot.
    let mut fewer = q.program.clone();
    fewer.slot_keys = 1;
    assert!(prove_program(&fewer, &rlp, &p).is_err(), "a key count that does not derive it");
}

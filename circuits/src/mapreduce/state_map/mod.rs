//! The `state_map` leaf: one block header and one point of an `accounts` or `storage` query →
//! the point's row, the plan run on it, and the statement (DESIGN.md §4 "block map" for the
//! point tables). Joined to the header chain like `header_map`: `state_root` is read from the
//! very header whose keccak256 is the statement's `last_hash`.
//!
//! # What is constrained
//! - The header: keccak256 is the block hash, the RLP decoding gives `number`, `parent_hash`
//!   and `state_root` (as in `header_map`).
//! - The plan: its table is `accounts` or `storage` and it starts with the
//!   [`annals_query_lang::plan::PointsPrelude`] (see [`add_points_prelude`]); the point
//!   (address, and slot for `storage`) is read from the prelude's constants, so the row proven
//!   is the point the query names, and the prelude's conjuncts reject every other point.
//!   A slot written as a mapping entry (`slot_keys > 0`) is recomputed from the base slot and
//!   keys the program carries ([`add_slot_derivation`]: keccak256 per key), so the slot
//!   proven is the one the user named.
//! - The account: an inclusion or exclusion proof of `keccak256(address)` (64 nibbles) in
//!   `state_root`; the leaf decoded ([`crate::state::decode_account`]), or the empty account.
//! - The storage value (`storage`): an inclusion or exclusion proof of `keccak256(slot)` in the
//!   account's `storage_root`, decoded ([`crate::state::decode_storage_value`]), or 0. For
//!   `accounts` the second proof runs against the empty trie (no nodes, nothing proven).
//! - The row: `accounts` = `(number, address, nonce, balance, storage_root, code_hash)`,
//!   `storage` = `(number, address, slot, value)`; the VM's columns past the table's are NULL.
//! - The statement: `from_block = to_block = number < 2^32`, `first_parent_hash`,
//!   `last_hash`, and the row's partial aggregates.
//!
//! # Cost
//! Two [`crate::mpt`] paths of [`ACCOUNT_MAX_DEPTH`] and [`STORAGE_MAX_DEPTH`] levels of
//! [`MAX_BRANCH_NODE_BYTES`] (about 9,600 rows each, 7,400 of them keccak) dominate; with the
//! header (5 permutations), two keyed hashes, the slot derivation (3 permutations) and the VM
//! the circuit fits 2^18 rows.

use alloy_primitives::{keccak256, Address, B256, U256};
use annals_query_lang::columns::NUM_HEADER_COLUMNS;
use annals_query_lang::plan::{Program, MAX_OUTPUTS};
use anyhow::{Context, Result};
use plonky2::field::types::Field;
use plonky2::iop::target::Target;
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

use super::header_map::{
    add_header_link, register_block_statement, set_header_link, HeaderLinkTargets,
};
use super::plan::{
    add_plan, add_points_prelude, add_slot_derivation, set_plan, set_points_prelude, PlanTargets,
    PointsPreludeTargets,
};
use super::statement::PartialAggregateTargets;
use super::{Cfg, Proof, D, F};
use crate::keccak::CircuitBuilderKeccak;
use crate::mpt::{
    nibbles, set_mpt_proof, CircuitBuilderMpt, MptConfig, MptProofTargets, EMPTY_ROOT,
    MAX_BRANCH_NODE_BYTES, SECURE_KEY_NIBBLES,
};
use crate::state::{decode_account, decode_storage_value, ACCOUNT_RLP_MAX_BYTES};
use crate::uint256::{CircuitBuilderU256, U256Target};
use crate::vm::{CircuitBuilderVm, ColumnTargets, RowTargets};

/// Most nodes of a state-trie path the leaf proves (mainnet accounts sit 8 to 10 nodes deep).
pub const ACCOUNT_MAX_DEPTH: usize = 10;
/// Most nodes of a storage-trie path the leaf proves.
pub const STORAGE_MAX_DEPTH: usize = 10;

/// Shape of a `state_map` circuit: the two trie paths' depths. [`StateMapConfig::MAINNET`] is
/// the one the circuit set uses; tests use shallower ones for speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateMapConfig {
    /// Most nodes of the account path.
    pub account_depth: usize,
    /// Most nodes of the storage path.
    pub storage_depth: usize,
}

impl StateMapConfig {
    /// [`ACCOUNT_MAX_DEPTH`] and [`STORAGE_MAX_DEPTH`].
    pub const MAINNET: Self =
        Self { account_depth: ACCOUNT_MAX_DEPTH, storage_depth: STORAGE_MAX_DEPTH };

    fn mpt(depth: usize) -> MptConfig {
        MptConfig {
            max_depth: depth,
            max_node_bytes: MAX_BRANCH_NODE_BYTES,
            max_key_nibbles: SECURE_KEY_NIBBLES,
        }
    }
}

/// Targets of the leaf.
pub struct StateMapTargets {
    /// The header.
    pub header: HeaderLinkTargets,
    /// The plan.
    pub plan: PlanTargets,
    /// The points prelude (the point and the sampling).
    pub prelude: PointsPreludeTargets,
    /// The account path in `state_root`.
    pub account: MptProofTargets,
    /// The storage path in the account's `storage_root` (the empty trie for `accounts`).
    pub storage: MptProofTargets,
}

/// The `state_map` circuit.
pub struct StateMapCircuit {
    /// Circuit data.
    pub data: CircuitData<F, Cfg, D>,
    /// Targets.
    pub targets: StateMapTargets,
}

/// One point's proof data at one block: what `eth_getProof` returns, root first.
#[derive(Clone, Debug, Default)]
pub struct PointWitness {
    /// The account proof's nodes (`accountProof`), root first.
    pub account_proof: Vec<Vec<u8>>,
    /// Whether the account exists (else the proof is an exclusion proof).
    pub account_exists: bool,
    /// The storage proof's nodes (`storageProof[i].proof`); empty for `accounts` programs and
    /// for accounts without storage.
    pub storage_proof: Vec<Vec<u8>>,
    /// Whether the slot is set (non-zero); false for `accounts` programs.
    pub slot_exists: bool,
}

/// Connects 64 key nibbles to the 32 bytes of a digest (`byte = 16 · hi + lo`) and fixes the
/// key length to 64.
fn connect_key(b: &mut CircuitBuilder<F, D>, t: &MptProofTargets, digest: &[Target; 32]) {
    for (i, &byte) in digest.iter().enumerate() {
        let v = b.mul_const_add(F::from_canonical_u32(16), t.key[2 * i], t.key[2 * i + 1]);
        b.connect(v, byte);
    }
    let n = b.constant(F::from_canonical_usize(SECURE_KEY_NIBBLES));
    b.connect(t.key_len, n);
}

fn bytes32(b: &mut CircuitBuilder<F, D>, x: &[Target; 32]) -> U256Target {
    b.u256_from_be_bytes(x)
}

/// Wires the leaf of the given shape; returns the builder and its targets.
pub fn wire_state_map(cfg: StateMapConfig) -> (CircuitBuilder<F, D>, StateMapTargets) {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let header = add_header_link(&mut b);
    let plan = add_plan(&mut b);
    let prelude = add_points_prelude(&mut b, &plan);
    let one = b.one();
    b.connect(prelude.is_points.target, one);
    add_slot_derivation(&mut b, &plan, &prelude);

    // The account at keccak256(address) in state_root.
    let account_path = b.add_mpt_proof(&StateMapConfig::mpt(cfg.account_depth));
    for (r, s) in account_path.root.iter().zip(&header.fields.state_root) {
        b.connect(*r, *s);
    }
    let address_key = b.keccak256_fixed(&prelude.address);
    connect_key(&mut b, &account_path, &address_key);
    let account = decode_account(
        &mut b,
        &account_path.value[..ACCOUNT_RLP_MAX_BYTES],
        account_path.value_len,
        account_path.exists,
    );

    // The slot at keccak256(slot) in storage_root (storage), or the empty trie (accounts).
    let storage_path = b.add_mpt_proof(&StateMapConfig::mpt(cfg.storage_depth));
    for (i, r) in storage_path.root.iter().enumerate() {
        let empty = b.constant(F::from_canonical_u8(EMPTY_ROOT[i]));
        let root = b.select(prelude.is_storage, account.storage_root[i], empty);
        b.connect(*r, root);
    }
    let slot_key = b.keccak256_fixed(&prelude.slot);
    connect_key(&mut b, &storage_path, &slot_key);
    let value = decode_storage_value(
        &mut b,
        &storage_path.value,
        storage_path.value_len,
        storage_path.exists,
    );

    // The row.
    let zero = b.zero();
    let not_null = b._false();
    let mut address_word = [zero; 32];
    address_word[12..].copy_from_slice(&prelude.address);
    let address = bytes32(&mut b, &address_word);
    let slot = bytes32(&mut b, &prelude.slot);
    let storage_root = bytes32(&mut b, &account.storage_root);
    let code_hash = bytes32(&mut b, &account.code_hash);
    let st = prelude.is_storage;
    let col2 = b.select_u256(st, &slot, &account.nonce);
    let col3 = b.select_u256(st, &value, &account.balance);
    let null = b._true();
    let zero_u = b.constant_u256(U256::ZERO);
    let column = |value, is_null| ColumnTargets { value, is_null };
    let mut columns = [column(zero_u, null); NUM_HEADER_COLUMNS];
    columns[0] = column(header.fields.number, not_null);
    columns[1] = column(address, not_null);
    columns[2] = column(col2, not_null);
    columns[3] = column(col3, not_null);
    columns[4] = column(storage_root, st);
    columns[5] = column(code_hash, st);
    let result = b.eval_program(&plan.program, &RowTargets { columns });

    let aggregates: [PartialAggregateTargets; MAX_OUTPUTS] =
        core::array::from_fn(|j| PartialAggregateTargets::from_row(&result.outputs[j].aggregate));
    register_block_statement(&mut b, &plan, &header, aggregates);
    (b, StateMapTargets { header, plan, prelude, account: account_path, storage: storage_path })
}

/// The point a program's prelude names: its address and, for `storage`, its slot.
///
/// # Errors
/// A program without a points prelude.
pub fn program_point(program: &Program) -> Result<(Address, Option<B256>)> {
    let p = program.points_prelude().context("the program names no single point")?;
    let word = |i: u8| B256::from(program.constants[i as usize].to_be_bytes::<32>());
    let address = Address::from_word(word(p.address_constant));
    Ok((address, p.slot_constant.map(word)))
}

impl StateMapCircuit {
    /// Builds the circuit of the given shape (about a minute for
    /// [`StateMapConfig::MAINNET`]).
    pub fn build(cfg: StateMapConfig) -> Self {
        let (b, targets) = wire_state_map(cfg);
        Self { data: b.build::<Cfg>(), targets }
    }

    /// Pairs cached circuit data with freshly wired targets.
    ///
    /// WARNING: `data` must come from [`StateMapCircuit::build`] of the same source and shape.
    pub fn from_data(cfg: StateMapConfig, data: CircuitData<F, Cfg, D>) -> Self {
        let (_, targets) = wire_state_map(cfg);
        Self { data, targets }
    }

    /// Proves `program` (an `accounts`/`storage` program with a points prelude) on the block
    /// header `rlp` and the point's proof nodes.
    ///
    /// # Errors
    /// A program without a points prelude, an undecodable header, more nodes than the circuit
    /// holds, a plan error on the row, or any unsatisfied constraint (a proof that does not
    /// show the point in this header's state).
    pub fn prove(&self, program: &Program, rlp: &[u8], point: &PointWitness) -> Result<Proof> {
        let (address, slot) = program_point(program)?;
        let t = &self.targets;
        let mut pw = PartialWitness::new();
        set_header_link(&mut pw, &t.header, rlp)?;
        set_plan(&mut pw, &t.plan, program)?;
        set_points_prelude(&mut pw, &t.prelude, program)?;
        let header = crate::header::decode_header_native(rlp)?;
        set_mpt_proof(
            &mut pw,
            &t.account,
            header.state_root.0,
            &nibbles(keccak256(address).as_slice()),
            &point.account_proof,
            point.account_exists,
        )?;
        let storage_root = match slot {
            Some(_) if !point.storage_proof.is_empty() => keccak256(&point.storage_proof[0]).0,
            _ => EMPTY_ROOT,
        };
        let slot_key = keccak256(slot.unwrap_or_default());
        set_mpt_proof(
            &mut pw,
            &t.storage,
            storage_root,
            &nibbles(slot_key.as_slice()),
            &point.storage_proof,
            point.slot_exists,
        )?;
        self.data.prove(pw)
    }
}

#[cfg(test)]
mod tests;

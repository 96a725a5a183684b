//! The `receipts`, `logs`, `accounts` and `storage` tables: compilation (columns, `word`,
//! `mapping_slot`, GROUP BY, sampling, points, bloom filter) and evaluation over synthetic rows
//! whose expected results are written out by hand.

use alloy_primitives::{address, b256, Address, Bloom, BloomInput, B256, U256};
use annals_query_lang::columns::{data_word, mapping_slot, LogColumn, Row};
use annals_query_lang::plan::{Aggregate, Table};
use annals_query_lang::{compile, Error};

const TOKEN: Address = address!("00000000000000000000000000000000000000aa");
const TRANSFER: B256 = b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

fn u(v: u64) -> Option<U256> {
    Some(U256::from(v))
}

/// A `logs` row: block, log index, address, topics, one data word.
fn log(block: u64, index: u64, addr: Address, topics: &[B256], amount: Option<u64>) -> Row {
    let mut r: Row = vec![u(block), u(0), u(index), Some(U256::from_be_slice(addr.as_slice()))];
    r.extend((0..4).map(|i| topics.get(i).map(|t| U256::from_be_bytes(t.0))));
    let data: Vec<u8> =
        amount.map(|a| U256::from(a).to_be_bytes::<32>().to_vec()).unwrap_or_default();
    r.extend((0..8).map(|i| data_word(&data, i)));
    r
}

fn to(i: u8) -> B256 {
    B256::left_padding_from(&[i])
}

#[test]
fn logs_query_compiles_to_the_logs_table_with_data_words() {
    let q = compile(&format!(
        "SELECT SUM(word(data, 0)), MAX(word(data, 7)) FROM logs WHERE address = {TOKEN} \
         AND topic0 = {TRANSFER} AND logs.topic2 IN ({}, {}) AND block_number BETWEEN 5 AND 8",
        to(1),
        to(2)
    ))
    .unwrap();
    assert_eq!(q.program.table, Table::Logs);
    let dis = q.program.disassemble();
    assert!(dis.contains("Column word(data, 0) (#8)") && dis.contains("(#15)"), "{dis}");
    assert!(dis.contains("Column topic2 (#6)"), "{dis}");
    let f = q.bloom_filter().unwrap();
    assert_eq!(f.addresses, vec![TOKEN]);
    assert_eq!(f.topics[0], vec![TRANSFER]);
    assert_eq!(f.topics[2], vec![to(1), to(2)]);
    assert!(f.topics[1].is_empty() && f.topics[3].is_empty());
    // A bloom holding the token and Transfer but neither recipient rules the block out; one
    // recipient is enough to keep it.
    let mut bloom = Bloom::default();
    bloom.accrue(BloomInput::Raw(TOKEN.as_slice()));
    bloom.accrue(BloomInput::Raw(TRANSFER.as_slice()));
    assert!(f.rules_out(&bloom));
    bloom.accrue(BloomInput::Raw(to(2).as_slice()));
    assert!(!f.rules_out(&bloom));
    assert!(f.rules_out(&Bloom::default()));
    let text = q.explain();
    assert!(text.contains("Scan: logs, blocks 5..=8"), "{text}");
    assert!(text.contains("bloom rule-out"), "{text}");
    assert!(text.contains("proving: the logs circuits are not in this release"), "{text}");
    // An OR across columns pins nothing: no bloom filter.
    let q = compile(&format!(
        "SELECT COUNT(*) FROM logs WHERE (address = {TOKEN} OR topic0 = {TRANSFER}) \
         AND block_number BETWEEN 5 AND 8"
    ))
    .unwrap();
    assert!(q.bloom_filter().is_none());
}

#[test]
fn group_by_evaluates_per_group_in_key_order() {
    let q = compile(&format!(
        "SELECT topic2, SUM(word(data, 0)), COUNT(*), COUNT(word(data, 0)) FROM logs \
         WHERE address = {TOKEN} AND block_number BETWEEN 1 AND 3 GROUP BY topic2"
    ))
    .unwrap();
    assert!(q.program.is_grouped());
    assert_eq!(q.logical.group_by.len(), 1);
    assert_eq!(q.program.outputs[0].aggregate, Aggregate::None);
    let other = address!("00000000000000000000000000000000000000bb");
    let rows = vec![
        log(1, 0, TOKEN, &[TRANSFER, to(9), to(2)], Some(5)),
        log(1, 1, other, &[TRANSFER, to(9), to(1)], Some(1000)),
        log(2, 0, TOKEN, &[TRANSFER, to(9), to(1)], Some(7)),
        log(2, 1, TOKEN, &[TRANSFER], None),
        log(3, 0, TOKEN, &[TRANSFER, to(8), to(2)], Some(11)),
    ];
    let k = |b: B256| Some(U256::from_be_bytes(b.0));
    assert_eq!(
        q.evaluate(&rows).unwrap(),
        vec![
            vec![None, None, u(1), u(0)],
            vec![k(to(1)), u(7), u(1), u(1)],
            vec![k(to(2)), u(16), u(2), u(2)],
        ]
    );
    // Nothing selected: no groups (a plain aggregate would give one row).
    assert_eq!(q.evaluate(&rows[1..2]).unwrap(), Vec::<Vec<_>>::new());
    // 17 groups are one too many; the error names the block of the first extra group.
    let many: Vec<Row> = (0..17)
        .map(|i| log(1 + i / 8, i, TOKEN, &[TRANSFER, to(0), to(i as u8)], Some(1)))
        .collect();
    let q = compile(&format!(
        "SELECT topic2, COUNT(*) FROM logs WHERE address = {TOKEN} AND block_number BETWEEN 1 AND 3 GROUP BY topic2"
    ))
    .unwrap();
    assert_eq!(q.evaluate(&many).unwrap_err(), Error::TooManyGroups { max: 16, block: 3 });
    assert_eq!(q.evaluate(&many[..16]).unwrap().len(), 16);
    // Rows out of block order or outside the range are refused.
    let err = q.evaluate(&[many[9].clone(), many[0].clone()]).unwrap_err();
    assert!(matches!(err, Error::RowsMismatch { .. }), "{err}");
}

#[test]
fn storage_points_mapping_slots_and_sampling() {
    let holder = address!("0000000000000000000000000000000000000040");
    let q = compile(&format!(
        "SELECT block_number, value FROM storage WHERE address = {TOKEN} \
         AND slot IN (mapping_slot({holder}, 0), mapping_slot(2, mapping_slot({holder}, 1)), 3) \
         AND block_number BETWEEN 100 AND 131"
    ))
    .unwrap();
    assert_eq!(q.program.table, Table::Storage);
    let holder_word = U256::from_be_slice(holder.as_slice());
    let nested = mapping_slot(U256::from(2), mapping_slot(holder_word, U256::from(1)));
    assert_eq!(q.logical.points.addresses, vec![TOKEN]);
    assert_eq!(
        q.logical.points.slots,
        vec![mapping_slot(holder_word, U256::ZERO), nested, U256::from(3)]
    );
    assert!(q.logical.step.is_none());
    // Sampling: every 4th block, those = 1 mod 4.
    let q = compile(&format!(
        "SELECT MAX(value), COUNT(*) FROM storage WHERE address = {TOKEN} AND slot IN (3, 4) \
         AND block_number BETWEEN 100 AND 131 AND block_number % 4 = 1"
    ))
    .unwrap();
    let step = q.logical.step.unwrap();
    assert_eq!((step.every, step.offset), (4, 1));
    let sampled: Vec<u64> = q.sampled_blocks().collect();
    assert_eq!(sampled, vec![101, 105, 109, 113, 117, 121, 125, 129]);
    let data_jobs = q.jobs.iter().filter(|j| j.table == Table::Storage).count();
    assert_eq!((q.jobs.len(), data_jobs), (32, 8));
    let text = q.explain();
    assert!(text.contains("8 sampled blocks"), "{text}");
    assert!(text.contains("2 points per sampled block (16 rows)"), "{text}");
    // Rows: one per point of each sampled block, else a mismatch.
    let row = |n: u64, slot: u64| -> Row {
        vec![u(n), Some(U256::from_be_slice(TOKEN.as_slice())), u(slot), u(n + slot)]
    };
    let rows: Vec<Row> = sampled.iter().flat_map(|&n| [row(n, 3), row(n, 4)]).collect();
    let err = q.evaluate(&rows[..15]).unwrap_err().to_string();
    assert!(err.contains("16 rows (2 points per sampled block)"), "{err}");
    assert_eq!(q.evaluate(&rows).unwrap(), vec![vec![u(133), u(16)]]);
    // Accounts: points are addresses only.
    let q = compile(&format!(
        "SELECT balance FROM accounts WHERE address IN ({TOKEN}, {holder}, {TOKEN}) \
         AND block_number BETWEEN 1 AND 2"
    ))
    .unwrap();
    assert_eq!(q.logical.points.addresses, vec![TOKEN, holder]);
    assert_eq!(q.logical.points.per_block(), 2);
}

#[test]
fn receipts_columns_and_the_word_column_ids() {
    let q = compile(
        "SELECT COUNT(*), SUM(gas_used) FROM receipts WHERE block_number BETWEEN 1 AND 2 \
         AND status = 0 AND tx_type IN (2, 3)",
    )
    .unwrap();
    assert_eq!(q.program.table, Table::Receipts);
    assert!(q.bloom_filter().is_none());
    assert_eq!(LogColumn::Word0 as u8, 8);
    // Plan encoding round-trips with the table byte.
    let decoded = annals_query_lang::plan::Program::decode(&q.program.encode()).unwrap();
    assert_eq!((decoded.table, decoded.ops), (Table::Receipts, q.program.ops.clone()));
    assert_eq!(
        q.program.unprovable_reason().unwrap(),
        "the receipts circuits are not in this release"
    );
}

/// A single-point `storage`/`accounts` query starts with the points prelude at fixed offsets
/// (what the state circuit reads the point and the sampling from), keeps its meaning, and is
/// provable; several points or a plain select are refused with the reason.
#[test]
fn single_point_queries_start_with_the_points_prelude() {
    use annals_query_lang::plan::PointsPrelude;
    let slot = U256::from(7);
    let q = compile(&format!(
        "SELECT AVG(value), MIN(value), MAX(value) FROM storage WHERE block_number % 2 = 1 \
         AND value > 1 AND slot = 7 AND address = {TOKEN} AND block_number BETWEEN 10 AND 17"
    ))
    .unwrap();
    let prelude = q.program.points_prelude().expect("prelude");
    assert_eq!(prelude, PointsPrelude::new(true, true));
    assert_eq!(prelude.ops.len(), PointsPrelude::MAX_OPS);
    let token = U256::from_be_slice(TOKEN.as_slice());
    assert_eq!(q.program.constants[..4], [U256::from(2), U256::from(1), token, slot]);
    assert_eq!(q.program.unprovable_reason(), None);
    let c = q.circuit_counts();
    assert_eq!((c.state_map, c.header_map, c.reduce), (4, 4, 7));
    let text = q.explain();
    assert!(text.contains("state_map  x 4") && text.contains("header_map x 4"), "{text}");
    // `value > 1` is the rest of the filter: And(prelude, value > 1).
    let f = q.program.filter.unwrap() as usize;
    assert_eq!((q.program.ops[f].a, q.program.ops.len()), (prelude.reg, f + 1));
    let row = |n: u64, v: u64| -> Row { vec![u(n), Some(token), Some(slot), u(v)] };
    let rows: Vec<Row> = [(11, 5), (13, 1), (15, 9), (17, 0)].map(|(n, v)| row(n, v)).to_vec();
    assert_eq!(q.evaluate(&rows).unwrap(), vec![vec![u(7), u(5), u(9)]]);

    // Unsampled accounts: the prelude is the address conjunct alone, and the filter is it.
    let q = compile(&format!(
        "SELECT SUM(balance) FROM accounts WHERE address = {TOKEN} AND block_number BETWEEN 1 AND 4"
    ))
    .unwrap();
    assert_eq!(q.program.points_prelude(), Some(PointsPrelude::new(false, false)));
    assert_eq!(q.program.filter, Some(2));
    assert_eq!(q.program.unprovable_reason(), None);

    let q = compile(&format!(
        "SELECT MAX(value) FROM storage WHERE address = {TOKEN} AND slot IN (3, 4) \
         AND block_number BETWEEN 1 AND 4"
    ))
    .unwrap();
    assert_eq!(q.program.points_prelude(), None);
    let reason = q.program.unprovable_reason().unwrap();
    assert!(reason.contains("one point per block"), "{reason}");
    let q = compile(&format!(
        "SELECT value FROM storage WHERE address = {TOKEN} AND slot = 3 \
         AND block_number BETWEEN 1 AND 4"
    ))
    .unwrap();
    assert!(q.program.points_prelude().is_some());
    assert!(q.program.unprovable_reason().unwrap().contains("only aggregate"));
}

/// A single-point slot written with `mapping_slot` carries its derivation: the base slot and
/// the keys follow the prelude's constants and `slot_keys` counts the keys, so the circuits
/// recompute the slot from what the user named. A program whose slot constant disagrees with
/// its derivation is invalid; more than `MAX_SLOT_KEYS` keys fold to a plain slot.
#[test]
fn mapping_slots_carry_their_derivation() {
    use annals_query_lang::plan::{Program, MAX_SLOT_KEYS};
    let holder = U256::from(0xabcdu64);
    let spender = U256::from(0x1234u64);
    let q = compile(&format!(
        "SELECT MAX(value) FROM storage WHERE address = {TOKEN} \
         AND slot = mapping_slot({spender}, mapping_slot({holder}, 1)) \
         AND block_number BETWEEN 1 AND 8 AND block_number % 4 = 0"
    ))
    .unwrap();
    let p = &q.program;
    let slot = mapping_slot(spender, mapping_slot(holder, U256::from(1)));
    assert_eq!(p.slot_keys, 2);
    assert_eq!(p.constants[3..7], [slot, U256::from(1), holder, spender]);
    assert_eq!(p.slot_path().unwrap().slot(), slot);
    assert_eq!(p.unprovable_reason(), None);
    assert!(
        p.disassemble().contains("k3 = mapping_slot(k6, mapping_slot(k5, k4))"),
        "{}",
        p.disassemble()
    );
    let enc = p.encode();
    assert_eq!(enc[Program::SLOT_KEYS_OFFSET], 2);
    assert_eq!(&Program::decode(&enc).unwrap().encode(), &enc);

    // A literal slot has no derivation.
    let q = compile(&format!(
        "SELECT MAX(value) FROM storage WHERE address = {TOKEN} AND slot = 5 \
         AND block_number BETWEEN 1 AND 8"
    ))
    .unwrap();
    assert_eq!((q.program.slot_keys, q.program.constants.len()), (0, 2));

    // A slot constant that is not the mapping slot of its base and keys is invalid.
    let mut bad = p.clone();
    bad.constants[5] = holder + U256::from(1);
    let err = bad.validate().unwrap_err().to_string();
    assert!(err.contains("expected the mapping slot"), "{err}");
    let mut bad = p.clone();
    bad.constants.truncate(6);
    assert!(bad.validate().unwrap_err().to_string().contains("derivation constants"));
    let mut bad = p.clone();
    bad.slot_keys = MAX_SLOT_KEYS as u8 + 1;
    assert!(bad.validate().is_err());
    let mut enc = p.encode();
    enc[Program::SLOT_KEYS_OFFSET] = MAX_SLOT_KEYS as u8 + 1;
    assert_eq!(Program::decode(&enc).unwrap_err().offset, Program::SLOT_KEYS_OFFSET);
    let headers = compile("SELECT COUNT(*) FROM headers WHERE number BETWEEN 1 AND 2").unwrap();
    let mut bad = headers.program.clone();
    bad.slot_keys = 1;
    assert!(bad.validate().unwrap_err().to_string().contains("expected 0"));

    // Three keys fill a sampled program's pool (k, r, address, slot, base, 3 keys); another
    // literal does not fit, so that query is planned without the derivation.
    let three = "mapping_slot(3, mapping_slot(2, mapping_slot(1, 0)))";
    let sampled = |extra: &str| {
        compile(&format!(
            "SELECT COUNT(*) FROM storage WHERE address = {TOKEN} AND slot = {three}{extra} \
             AND block_number BETWEEN 1 AND 8 AND block_number % 4 = 0"
        ))
        .unwrap()
    };
    let q = sampled("");
    assert_eq!((q.program.slot_keys, q.program.constants.len()), (3, 8));
    let q = sampled(" AND block_number >= 5");
    assert_eq!((q.program.slot_keys, q.program.constants.len()), (0, 5));
    assert_eq!(q.program.unprovable_reason(), None);

    // Four nested keys exceed MAX_SLOT_KEYS: folded, no derivation.
    let q = compile(&format!(
        "SELECT MAX(value) FROM storage WHERE address = {TOKEN} \
         AND slot = mapping_slot(4, mapping_slot(3, mapping_slot(2, mapping_slot(1, 0)))) \
         AND block_number BETWEEN 1 AND 8"
    ))
    .unwrap();
    assert_eq!((q.program.slot_keys, q.program.constants.len()), (0, 2));
}

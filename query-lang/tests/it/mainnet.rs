//! Evaluation over real mainnet headers (`../shared/fixtures/mainnet/headers/<n>.json`,
//! `eth_getBlockByNumber` objects), compared with values computed independently from the JSON.
//! Skipped (with a line on stdout) when the fixtures folder is absent.

use alloy_consensus::Header;
use alloy_primitives::{B256, U256};
use annals_query_lang::columns::{header_row, HeaderRow};
use annals_query_lang::{compile, format_value, Error, ResultTable};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet/headers");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: mainnet fixtures not found at {}", dir.display());
        None
    }
}

/// The JSON object of block `n`.
fn json(dir: &std::path::Path, n: u64) -> Value {
    let text = std::fs::read_to_string(dir.join(format!("{n}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The `headers` row of block `n`, through alloy's serde and `header_row`; checks the hash.
fn row(dir: &std::path::Path, n: u64) -> HeaderRow {
    let j = json(dir, n);
    let header: Header = serde_json::from_value(j.clone()).unwrap();
    let hash: B256 = j["hash"].as_str().unwrap().parse().unwrap();
    assert_eq!(header.hash_slow(), hash, "fixture {n}");
    header_row(&header, hash)
}

fn rows(dir: &std::path::Path, range: std::ops::RangeInclusive<u64>) -> Vec<HeaderRow> {
    range.map(|n| row(dir, n)).collect()
}

/// A quantity field of the JSON, parsed independently of alloy.
fn quantity(j: &Value, field: &str) -> Option<u128> {
    j.get(field)
        .map(|v| u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap())
}

fn u(v: u128) -> Option<U256> {
    Some(U256::from(v))
}

#[test]
fn aggregates_over_three_london_blocks() {
    let Some(dir) = fixtures() else { return };
    let q = compile(
        "SELECT COUNT(*), AVG(base_fee_per_gas), MAX(gas_used), SUM(gas_used) FROM headers \
         WHERE number BETWEEN 17000000 AND 17000002",
    )
    .unwrap();
    let got = q.evaluate(&rows(&dir, 17_000_000..=17_000_002)).unwrap();
    let js: Vec<Value> = (17_000_000..=17_000_002).map(|n| json(&dir, n)).collect();
    let fees: Vec<u128> = js.iter().map(|j| quantity(j, "baseFeePerGas").unwrap()).collect();
    let gas: Vec<u128> = js.iter().map(|j| quantity(j, "gasUsed").unwrap()).collect();
    let expected = vec![
        u(3),
        u(fees.iter().sum::<u128>() / 3),
        u(*gas.iter().max().unwrap()),
        u(gas.iter().sum::<u128>()),
    ];
    assert_eq!(got, vec![expected]);
    let table = ResultTable::new(&q.program, got);
    let text = table.to_string();
    assert!(text.contains("COUNT(*)") && text.ends_with("(1 row)"), "{text}");
}

#[test]
fn filtered_rows_with_formatted_values() {
    let Some(dir) = fixtures() else { return };
    // Blocks 17000000 (9160778 gas) and 17000001 (9389175 gas) pass, 17000002 does not.
    let q = compile(
        "SELECT number, hash, beneficiary, gas_used < 9200000 FROM headers \
         WHERE number BETWEEN 17000000 AND 17000002 AND gas_used < 10000000",
    )
    .unwrap();
    let got = q.evaluate(&rows(&dir, 17_000_000..=17_000_002)).unwrap();
    assert_eq!(got.len(), 2);
    let table = ResultTable::new(&q.program, got);
    let json_rows = table.to_json()["rows"].clone();
    for (i, n) in [17_000_000u64, 17_000_001].into_iter().enumerate() {
        let j = json(&dir, n);
        let r = &json_rows[i];
        assert_eq!(r[0], Value::String(n.to_string()));
        assert_eq!(r[1], j["hash"]);
        assert_eq!(r[2].as_str().unwrap().to_lowercase(), j["miner"].as_str().unwrap());
        assert_eq!(r[3], Value::Bool(quantity(&j, "gasUsed").unwrap() < 9_200_000));
    }
}

#[test]
fn null_semantics_before_london() {
    let Some(dir) = fixtures() else { return };
    let rs = rows(&dir, 1_150_000..=1_150_000);
    let q = compile(
        "SELECT base_fee_per_gas, base_fee_per_gas IS NULL, base_fee_per_gas + 1, withdrawals_root \
         FROM headers WHERE number BETWEEN 1150000 AND 1150000",
    )
    .unwrap();
    assert_eq!(q.evaluate(&rs).unwrap(), vec![vec![None, u(1), None, None]]);

    let q = compile(
        "SELECT COUNT(*), COUNT(base_fee_per_gas), SUM(base_fee_per_gas), MAX(base_fee_per_gas) \
         FROM headers WHERE number BETWEEN 1150000 AND 1150000",
    )
    .unwrap();
    assert_eq!(q.evaluate(&rs).unwrap(), vec![vec![u(1), u(0), None, None]]);

    // A NULL comparison does not select the row; NOT NULL is NULL.
    for (filter, selected) in [
        ("base_fee_per_gas > 0", 0),
        ("NOT (base_fee_per_gas > 0)", 0),
        ("base_fee_per_gas > 0 OR 1 = 1", 1),
        ("base_fee_per_gas > 0 AND 1 = 1", 0),
        ("NOT (base_fee_per_gas > 0 AND 1 = 2)", 1),
        ("base_fee_per_gas IS NULL", 1),
        ("base_fee_per_gas IN (1, 2)", 0),
        ("base_fee_per_gas NOT IN (1, 2)", 0),
    ] {
        let q = compile(&format!(
            "SELECT COUNT(*) FROM headers WHERE number BETWEEN 1150000 AND 1150000 AND ({filter})"
        ))
        .unwrap();
        assert_eq!(q.evaluate(&rs).unwrap(), vec![vec![u(selected)]], "{filter}");
    }
}

#[test]
fn kleene_truth_values() {
    let Some(dir) = fixtures() else { return };
    let rs = rows(&dir, 1_150_000..=1_150_000);
    let q = compile(
        "SELECT base_fee_per_gas > 0 AND 1 = 2, base_fee_per_gas > 0 OR 1 = 1, \
         base_fee_per_gas > 0 AND 1 = 1, NOT (base_fee_per_gas > 0) \
         FROM headers WHERE number BETWEEN 1150000 AND 1150000",
    )
    .unwrap();
    let got = q.evaluate(&rs).unwrap();
    assert_eq!(got, vec![vec![u(0), u(1), None, None]]);
    let j = ResultTable::new(&q.program, got).to_json();
    assert_eq!(j["rows"][0], serde_json::json!([false, true, null, null]));
}

#[test]
fn arithmetic_errors_name_the_op_and_block() {
    let Some(dir) = fixtures() else { return };
    // difficulty(1150000) = 20473100089179 ~ 2^44.2: the 6th power exceeds 2^256.
    let rs = rows(&dir, 1_150_000..=1_150_000);
    let q = compile(
        "SELECT SUM(difficulty * difficulty * difficulty * difficulty * difficulty * difficulty) \
         FROM headers WHERE number BETWEEN 1150000 AND 1150000",
    )
    .unwrap();
    let err = q.evaluate(&rs).unwrap_err();
    assert_eq!(err.to_string(), "overflow in Mul (register r5) at block 1150000");
    // Five factors fit.
    let q = compile(
        "SELECT SUM(difficulty * difficulty * difficulty * difficulty * difficulty) \
         FROM headers WHERE number BETWEEN 1150000 AND 1150000",
    )
    .unwrap();
    let d = U256::from(quantity(&json(&dir, 1_150_000), "difficulty").unwrap());
    assert_eq!(q.evaluate(&rs).unwrap(), vec![vec![Some(d * d * d * d * d)]]);

    // Post-merge difficulty is 0: division by zero, even on rows the filter rejects.
    let london = rows(&dir, 17_000_000..=17_000_002);
    let q = compile(
        "SELECT COUNT(*) FROM headers WHERE number BETWEEN 17000000 AND 17000002 \
         AND gas_used > 100000000 AND gas_used / difficulty > 1",
    )
    .unwrap();
    let err = q.evaluate(&london).unwrap_err();
    assert!(matches!(err, Error::DivisionByZero { block: 17_000_000, .. }), "{err}");
    assert!(err.to_string().contains("division by zero in Div"), "{err}");

    let q = compile(
        "SELECT gas_used - gas_limit FROM headers WHERE number BETWEEN 17000000 AND 17000002",
    )
    .unwrap();
    let err = q.evaluate(&london).unwrap_err();
    assert_eq!(err.to_string(), "underflow in Sub (register r2) at block 17000000");

    // A NULL operand wins over division by zero.
    let q = compile(
        "SELECT gas_used % (base_fee_per_gas - base_fee_per_gas) FROM headers \
         WHERE number BETWEEN 1150000 AND 1150000",
    )
    .unwrap();
    assert_eq!(q.evaluate(&rs).unwrap(), vec![vec![None]]);

    // SUM overflow: 2^255 per row, the second row overflows.
    let q = compile(
        "SELECT SUM(57896044618658097711785492504343953926634992332820282019728792003956564819968 + gas_used * 0) \
         FROM headers WHERE number BETWEEN 17000000 AND 17000002",
    )
    .unwrap();
    let err = q.evaluate(&london).unwrap_err();
    assert!(matches!(err, Error::SumOverflow { block: 17_000_001, .. }), "{err}");
}

#[test]
fn rows_must_cover_the_range() {
    let Some(dir) = fixtures() else { return };
    let q =
        compile("SELECT COUNT(*) FROM headers WHERE number BETWEEN 17000000 AND 17000002").unwrap();
    let mut rs = rows(&dir, 17_000_000..=17_000_002);
    rs.swap(0, 1);
    assert!(matches!(q.evaluate(&rs), Err(Error::RowsMismatch { .. })));
    assert!(matches!(q.evaluate(&rs[..2]), Err(Error::RowsMismatch { .. })));
}

#[test]
fn formats_every_type() {
    let Some(dir) = fixtures() else { return };
    let r = row(&dir, 17_000_000);
    let j = json(&dir, 17_000_000);
    use annals_query_lang::plan::ValueType::*;
    assert_eq!(format_value(Bytes32, r[1]), j["hash"]);
    assert_eq!(
        format_value(Address, r[4]),
        Value::String("0x690B9A9E9aa1C9dB991C7721a92d351Db4FaC990".into())
    );
    assert_eq!(
        format_value(Uint256, r[11]),
        Value::String(quantity(&j, "baseFeePerGas").unwrap().to_string())
    );
    assert_eq!(format_value(Uint256, r[12]), Value::Null);
}

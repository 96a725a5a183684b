//! Corpus of malformed queries: each is checked for its error kind, its position and key words
//! of its message.

use alloy_primitives::U256;
use annals_query_lang::{compile_with_params, Error, Position};

/// The variant name of an error (its `Debug` text up to the first space or brace).
fn kind(e: &Error) -> String {
    format!("{e:?}").split([' ', '{', '(']).next().unwrap_or_default().to_string()
}

const R: &str = "number BETWEEN 1 AND 10";

/// (query, error kind, line, column, words the message must contain).
fn corpus() -> Vec<(String, &'static str, u64, u64, Vec<&'static str>)> {
    let base = |rest: &str| format!("SELECT COUNT(*) FROM headers WHERE {R} AND {rest}");
    vec![
        (format!("SELECT gas_usd FROM headers WHERE {R}"), "UnknownColumn", 1, 8, vec!["unknown column \"gas_usd\"", "line 1, column 8", "expected one of number, hash"]),
        ("SELECT COUNT(*)\nFROM headers\nWHERE number BETWEEN 1 AND 10\n  AND gas_usd > 0".into(), "UnknownColumn", 4, 7, vec!["gas_usd", "line 4, column 7"]),
        ("SELECT COUNT(*) FROM headers".into(), "MissingBlockRange", 1, 29, vec!["missing block range", "number BETWEEN <from> AND <to>"]),
        ("SELECT COUNT(*) FROM headers WHERE gas_used > 5".into(), "MissingBlockRange", 1, 36, vec!["missing block range", "WHERE clause"]),
        (format!("SELECT COUNT(*) FROM headers WHERE {R} OR gas_used > 5"), "MissingBlockRange", 1, 36, vec!["top-level AND"]),
        (base("hash = 5"), "TypeMismatch", 1, 71, vec!["type mismatch", "expected bytes32, found uint256"]),
        (base("hash + 1 = hash"), "TypeMismatch", 1, 64, vec!["expected uint256, found bytes32"]),
        (base("beneficiary = 0xaa"), "TypeMismatch", 1, 78, vec!["expected address, found uint256"]),
        (base("gas_used"), "TypeMismatch", 1, 64, vec!["expected bool, found uint256"]),
        (base("NOT gas_used"), "TypeMismatch", 1, 68, vec!["expected bool, found uint256"]),
        (format!("SELECT SUM(hash) FROM headers WHERE {R}"), "TypeMismatch", 1, 12, vec!["expected uint256, found bytes32"]),
        (format!("SELECT MIN(gas_used > 1) FROM headers WHERE {R}"), "TypeMismatch", 1, 12, vec!["expected uint256, bytes32 or address, found bool"]),
        (format!("SELECT COUNT(*) FROM headers WHERE {R} GROUP BY gas_used"), "GroupKeyNotSelected", 1, 69, vec!["GROUP BY key gas_used", "not selected"]),
        (format!("SELECT gas_used FROM headers WHERE {R} GROUP BY gas_used"), "GroupWithoutAggregate", 1, 8, vec!["without an aggregate"]),
        (format!("SELECT timestamp, COUNT(*) FROM headers WHERE {R} GROUP BY gas_used"), "NotGrouped", 1, 8, vec!["\"timestamp\"", "neither aggregated nor a GROUP BY key"]),
        (format!("SELECT gas_used + 1, COUNT(*) FROM headers WHERE {R} GROUP BY gas_used + 1"), "Unsupported", 1, 83, vec!["GROUP BY expression", "GROUP BY <column>"]),
        (format!("SELECT COUNT(*) FROM headers WHERE {R} GROUP BY ALL"), "Unsupported", 1, 1, vec!["GROUP BY ALL"]),
        ("SELECT COUNT(*) FROM logs WHERE number BETWEEN 1 AND 2".into(), "UnknownColumn", 1, 33, vec!["unknown column \"number\" of logs", "block_number"]),
        ("SELECT COUNT(*) FROM logs WHERE block_number > 1".into(), "MissingBlockRange", 1, 33, vec!["block_number BETWEEN <from> AND <to>"]),
        ("SELECT SUM(data) FROM logs WHERE block_number BETWEEN 1 AND 2".into(), "UnknownColumn", 1, 12, vec!["word(data, i)"]),
        ("SELECT SUM(word(data, 8)) FROM logs WHERE block_number BETWEEN 1 AND 2".into(), "InvalidLiteral", 1, 23, vec!["i < 8"]),
        ("SELECT SUM(word(topic1, 0)) FROM logs WHERE block_number BETWEEN 1 AND 2".into(), "Unsupported", 1, 17, vec!["word(topic1, ..)"]),
        (format!("SELECT SUM(word(data, 0)) FROM headers WHERE {R}"), "Unsupported", 1, 12, vec!["word() on table headers"]),
        ("SELECT value FROM storage WHERE block_number BETWEEN 1 AND 2 AND slot = 0".into(), "MissingPoints", 1, 33, vec!["missing address points", "address IN (<constants>)"]),
        ("SELECT value FROM storage WHERE block_number BETWEEN 1 AND 2 AND address = 0x00000000000000000000000000000000000000aa".into(), "MissingPoints", 1, 33, vec!["missing slot points"]),
        ("SELECT value FROM storage WHERE block_number BETWEEN 1 AND 2 AND address = 0x00000000000000000000000000000000000000aa AND slot IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17)".into(), "TooManyPoints", 1, 33, vec!["17 (address, slot) pairs", "at most 16"]),
        ("SELECT value FROM storage WHERE block_number BETWEEN 1 AND 2 AND address = 0x00000000000000000000000000000000000000aa AND slot = mapping_slot(value, 0)".into(), "Unsupported", 1, 143, vec!["non-constant argument value"]),
        ("SELECT nonce FROM accounts WHERE block_number BETWEEN 1 AND 2 AND address = 0x00000000000000000000000000000000000000aa AND slot = 1".into(), "UnknownColumn", 1, 124, vec!["unknown column \"slot\" of accounts"]),
        (format!("SELECT gas_used FROM headers WHERE {R} ORDER BY gas_used"), "Unsupported", 1, 60, vec!["ORDER BY"]),
        (format!("SELECT gas_used FROM headers WHERE {R} LIMIT 3"), "Unsupported", 1, 60, vec!["LIMIT"]),
        (format!("SELECT COUNT(*) FROM headers JOIN receipts ON receipts.block_number = headers.number WHERE {R}"), "Unsupported", 1, 30, vec!["JOIN"]),
        (format!("SELECT DISTINCT gas_used FROM headers WHERE {R}"), "Unsupported", 1, 8, vec!["DISTINCT"]),
        (format!("SELECT COUNT(DISTINCT gas_used) FROM headers WHERE {R}"), "Unsupported", 1, 14, vec!["DISTINCT"]),
        (format!("SELECT COUNT(*) FROM headers WHERE {R} HAVING COUNT(*) > 1"), "Unsupported", 1, 60, vec!["HAVING"]),
        (base("gas_used IN (SELECT 1)"), "Unsupported", 1, 64, vec!["subquery"]),
        (format!("WITH t AS (SELECT 1) SELECT COUNT(*) FROM headers WHERE {R}"), "Unsupported", 1, 1, vec!["WITH"]),
        (format!("SELECT COUNT(*) FROM headers WHERE {R} UNION SELECT 1"), "Unsupported", 1, 60, vec!["UNION"]),
        (format!("SELECT keccak(hash) FROM headers WHERE {R}"), "Unsupported", 1, 8, vec!["function keccak", "COUNT, SUM, AVG, MIN, MAX"]),
        (format!("SELECT SUM(gas_used) + 1 FROM headers WHERE {R}"), "Unsupported", 1, 8, vec!["aggregate SUM inside an expression"]),
        (base("hash = 'abc'"), "Unsupported", 1, 71, vec!["string literal"]),
        (base("hash = X'00'"), "Unsupported", 1, 71, vec!["hex string", "0x hex literal"]),
        (base("gas_used > -1"), "Unsupported", 1, 75, vec!["negative number"]),
        (base("gas_used = NULL"), "Unsupported", 1, 75, vec!["literal NULL", "IS NULL"]),
        (base("gas_used LIKE 5"), "Unsupported", 1, 73, vec!["LIKE"]),
        (base("gas_used | 1 = 1"), "Unsupported", 1, 64, vec!["operator |"]),
        (base("gas_used IS TRUE"), "Unsupported", 1, 64, vec!["IS TRUE"]),
        (base("x.gas_used = 1"), "Unsupported", 1, 64, vec!["qualified name x.gas_used"]),
        (format!("SELECT COUNT(*) FROM headers WHERE {R}; SELECT 1"), "Unsupported", 1, 59, vec!["multiple statements"]),
        ("INSERT INTO headers VALUES (1)".into(), "Unsupported", 1, 1, vec!["INSERT statement"]),
        (format!("SELECT * FROM headers WHERE {R}"), "Unsupported", 1, 8, vec!["select item *"]),
        (format!("SELECT SUM(*) FROM headers WHERE {R}"), "Unsupported", 1, 8, vec!["SUM(*)"]),
        (format!("SELECT COUNT(*) FROM headers h WHERE {R}"), "Unsupported", 1, 30, vec!["table alias"]),
        (format!("SELECT COUNT(*) FROM headers, headers WHERE {R}"), "Unsupported", 1, 31, vec!["implicit JOIN"]),
        (format!("SELECT COUNT(*) FROM blocks WHERE {R}"), "UnknownTable", 1, 22, vec!["unknown table \"blocks\"", "expected one of headers, receipts, logs"]),
        (format!("SELECT COUNT(*) WHERE {R}"), "MissingFrom", 1, 13, vec!["missing FROM"]),
        (base("gas_used < 115792089237316195423570985008687907853269984665640564039457584007913129639936"), "LiteralOverflow", 1, 75, vec!["numeric literal overflows uint256"]),
        (base("gas_used < 0x10000000000000000000000000000000000000000000000000000000000000000"), "LiteralOverflow", 1, 75, vec!["overflows uint256"]),
        (base("gas_used > 1.5"), "InvalidLiteral", 1, 75, vec!["invalid literal 1.5", "unsigned integer"]),
        (format!("SELECT COUNT(*), gas_used FROM headers WHERE {R}"), "MixedAggregates", 1, 18, vec!["mixed aggregate", "GROUP BY"]),
        ("SELECT COUNT(*) FROM headers WHERE number BETWEEN 10 AND 1".into(), "EmptyBlockRange", 1, 36, vec!["10 > 1"]),
        ("SELECT COUNT(*) FROM headers WHERE number BETWEEN 0 AND 1048576".into(), "RangeTooLong", 1, 36, vec!["1048577 blocks", "at most 1048576"]),
        ("SELECT COUNT(*) FROM headers WHERE number BETWEEN gas_used AND 10".into(), "BlockRangeBound", 1, 51, vec!["found gas_used"]),
        ("SELECT COUNT(*) FROM headers WHERE number BETWEEN 1 AND 18446744073709551616".into(), "BlockRangeBound", 1, 57, vec!["2^64 - 1"]),
        (format!("SELECT COUNT(* FROM headers WHERE {R}"), "Syntax", 1, 16, vec!["syntax error", "Expected: )"]),
        (format!("SELEC COUNT(*) FROM headers WHERE {R}"), "Syntax", 1, 1, vec!["SELEC"]),
        ("".into(), "Syntax", 1, 1, vec!["empty query"]),
        (base("gas_used = $2"), "MissingParameter", 1, 75, vec!["missing parameter $2", "$1..$1"]),
        (base("beneficiary = $1"), "ParameterOutOfRange", 1, 78, vec!["address (below 2^160)"]),
        (format!("SELECT 1, 2, 3, 4, 5 FROM headers WHERE {R}"), "TooManyOutputs", 1, 1, vec!["5 output columns", "at most 4"]),
        (
            format!("SELECT gas_used * 2 + gas_used * 3 + gas_used * 4 + gas_used * 5 + gas_used * 6 + gas_used * 7 FROM headers WHERE {R}"),
            "TooManyOps", 1, 1, vec!["18 ops", "at most 16"],
        ),
        (format!("SELECT 1 + 2, 3 + 4, 5 + 6, 7 FROM headers WHERE {R} AND 8 = 9"), "TooManyConstants", 1, 1, vec!["9 constants", "at most 8"]),
    ]
}

#[test]
fn malformed_queries_are_rejected_with_position_and_reason() {
    let corpus = corpus();
    assert!(corpus.len() >= 30);
    let params = [U256::MAX];
    for (sql, want_kind, line, column, words) in corpus {
        let err = compile_with_params(&sql, &params).expect_err(&sql);
        let msg = err.to_string();
        assert_eq!(kind(&err), want_kind, "{sql}: {msg}");
        assert_eq!(err.position(), Some(Position::new(line, column)), "{sql}: {msg}");
        assert!(msg.contains(&format!("line {line}, column {column}")), "{sql}: {msg}");
        for w in words {
            assert!(msg.contains(w), "{sql}: message {msg:?} lacks {w:?}");
        }
    }
}

#[test]
fn no_parameters_given() {
    let err = compile_with_params(
        &format!("SELECT COUNT(*) FROM headers WHERE {R} AND gas_used = $1"),
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("no parameters given"), "{err}");
}

//! Positive compile tests: bytecode disassembly, desugaring, deduplication, placeholders,
//! `EXPLAIN`, and `query_hash` regression values.

use alloy_primitives::{b256, U256};
use annals_query_lang::plan::{Aggregate, Program, Table, ValueType};
use annals_query_lang::{compile, compile_with_params, BlockJob, MAX_RANGE_BLOCKS};

const Q_AGG: &str =
    "SELECT COUNT(*), AVG(base_fee_per_gas), MAX(gas_used) FROM headers WHERE number BETWEEN 17000000 AND 17000002";

#[test]
fn aggregate_query_without_filter() {
    let q = compile(Q_AGG).unwrap();
    assert_eq!((q.from_block, q.to_block), (17_000_000, 17_000_002));
    assert_eq!(
        q.program.disassemble(),
        "r0 = Column base_fee_per_gas (#11)\n\
         r1 = Column gas_used (#10)\n\
         filter = none\n\
         out0 = COUNT(*) : uint256 \"COUNT(*)\"\n\
         out1 = AVG(r0) : uint256 \"AVG(base_fee_per_gas)\"\n\
         out2 = MAX(r1) : uint256 \"MAX(gas_used)\"\n"
    );
    assert_eq!(q.program.outputs[0].aggregate, Aggregate::CountStar);
    assert_eq!(q.program.outputs[0].reg, 0);
    assert_eq!(
        q.jobs,
        (17_000_000..=17_000_002)
            .map(|block_number| BlockJob { block_number, table: Table::Headers })
            .collect::<Vec<_>>()
    );
    // Canonical fixed-length encoding, byte by byte (plan.rs): version, table, no constants,
    // 2 ops, no filter, 3 outputs; unused slots zero.
    let mut expected = vec![0u8; Program::ENCODED_LEN];
    expected[..3].copy_from_slice(&[2, 0, 0]);
    expected[Program::N_OPS_OFFSET] = 2;
    expected[Program::OPS_OFFSET..Program::OPS_OFFSET + 6].copy_from_slice(&[0, 11, 0, 0, 10, 0]);
    expected[Program::FILTER_OFFSET] = 0xff;
    expected[Program::N_OUTPUTS_OFFSET] = 3;
    expected[Program::OUTPUTS_OFFSET..Program::OUTPUTS_OFFSET + 6]
        .copy_from_slice(&[1, 0, 6, 0, 5, 1]);
    assert_eq!(q.program.encode(), expected);
    // Regression guard: changing the encoding or the planner changes this hash.
    assert_eq!(
        q.query_hash(),
        b256!("346f84d22cdf16e0afaad85bf8e7d0436394aeab8204fde1aa709dc5112de095")
    );
}

#[test]
fn filter_desugaring_and_types() {
    let q = compile(
        "select number, hash AS h from headers where number between 1 and 100 \
         and gas_used >= 21000 and base_fee_per_gas is not null",
    )
    .unwrap();
    assert_eq!(
        q.program.disassemble(),
        "k0 = 21000\n\
         r0 = Const k0\n\
         r1 = Column gas_used (#10)\n\
         r2 = Le r0, r1\n\
         r3 = Column base_fee_per_gas (#11)\n\
         r4 = IsNull r3\n\
         r5 = Not r4\n\
         r6 = And r2, r5\n\
         r7 = Column number (#0)\n\
         r8 = Column hash (#1)\n\
         filter = r6\n\
         out0 = r7 : uint256 \"number\"\n\
         out1 = r8 : bytes32 \"h\"\n"
    );
    assert!(!q.program.is_aggregate());
    assert_eq!(
        q.query_hash(),
        b256!("85c0fdebaf13f6fec8047039090d18d7efac15ec7f77343a4f1b509064e8edbf")
    );
}

#[test]
fn in_between_and_not_equal_deduplicate() {
    let q = compile(
        "SELECT COUNT(*) FROM headers WHERE (number BETWEEN 1 AND 100) AND timestamp IN (5, 6, 5) \
         AND gas_limit <> 5 AND gas_limit NOT BETWEEN 6 AND 5",
    )
    .unwrap();
    assert_eq!(
        q.program.disassemble(),
        "k0 = 5\n\
         k1 = 6\n\
         r0 = Column timestamp (#3)\n\
         r1 = Const k0\n\
         r2 = Eq r0, r1\n\
         r3 = Const k1\n\
         r4 = Eq r0, r3\n\
         r5 = Or r2, r4\n\
         r6 = Or r5, r2\n\
         r7 = Column gas_limit (#9)\n\
         r8 = Eq r7, r1\n\
         r9 = Not r8\n\
         r10 = And r6, r9\n\
         r11 = Le r3, r7\n\
         r12 = Le r7, r1\n\
         r13 = And r11, r12\n\
         r14 = Not r13\n\
         r15 = And r10, r14\n\
         filter = r15\n\
         out0 = COUNT(*) : uint256 \"COUNT(*)\"\n"
    );
    assert_eq!(q.program.ops.len(), annals_query_lang::plan::MAX_OPS);
}

#[test]
fn greater_than_swaps_operands() {
    let q =
        compile("SELECT gas_used > 7 AS big FROM headers WHERE number BETWEEN 5 AND 5").unwrap();
    assert_eq!(
        q.program.disassemble(),
        "k0 = 7\nr0 = Const k0\nr1 = Column gas_used (#10)\nr2 = Lt r0, r1\nfilter = none\nout0 = r2 : bool \"big\"\n"
    );
}

#[test]
fn hex_literals_are_typed_by_width() {
    let addr = "0x690b9a9e9aa1c9db991c7721a92d351db4fac990";
    let hash = "0x96cfa0fb5e50b0a3f6cc76f3299cfbf48f17e8b41798d1394474e67ec8a97e9f";
    let q = compile(&format!(
        "SELECT MIN(beneficiary), MAX(hash) FROM headers WHERE number BETWEEN 1 AND 2 \
         AND beneficiary = {addr} AND hash <> {hash} AND gas_used < 0xff"
    ))
    .unwrap();
    assert_eq!(q.program.outputs[0].value_type, ValueType::Address);
    assert_eq!(q.program.outputs[1].value_type, ValueType::Bytes32);
    assert_eq!(q.program.constants[2], U256::from(255u64));
}

#[test]
fn placeholders_bind_and_adopt_their_context_type() {
    let literal = compile(
        "SELECT COUNT(*) FROM headers WHERE number BETWEEN 10 AND 20 AND gas_used > 3 \
         AND beneficiary = 0x00000000000000000000000000000000000000aa",
    )
    .unwrap();
    let params = [U256::from(10u64), U256::from(20u64), U256::from(3u64), U256::from(0xaau64)];
    let placeholders = compile_with_params(
        "SELECT COUNT(*) FROM headers WHERE number BETWEEN $1 AND $2 AND gas_used > $3 AND beneficiary = $4",
        &params,
    )
    .unwrap();
    assert_eq!(literal.program, placeholders.program);
    assert_eq!(literal.query_hash(), placeholders.query_hash());
    assert_eq!((placeholders.from_block, placeholders.to_block), (10, 20));
}

#[test]
fn range_limits() {
    let max = MAX_RANGE_BLOCKS - 1;
    let q =
        compile(&format!("SELECT COUNT(*) FROM headers WHERE number BETWEEN 0 AND {max}")).unwrap();
    assert_eq!(q.jobs.len() as u64, MAX_RANGE_BLOCKS);
    assert_eq!(q.program.ops.len(), 0);
    q.program.validate().unwrap();
}

#[test]
fn explain_lists_plan_bytecode_jobs_circuits_and_cost() {
    let q = compile(Q_AGG).unwrap();
    let text = q.explain();
    for needle in [
        "logical plan:",
        "Aggregate: COUNT(*) AS \"COUNT(*)\", AVG(base_fee_per_gas) AS \"AVG(base_fee_per_gas)\"",
        "Scan: headers, blocks 17000000..=17000002 (3 blocks)",
        "r1 = Column gas_used (#10)",
        "jobs: 3 block jobs on headers, blocks 17000000 ..= 17000002",
        "header_map x 3",
        "reduce     x 2",
        "root       x 1",
        "41 core-seconds, about 31 s wall on 2 cores",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert_eq!(q.cost_estimate(), (41.0, 31.0));
}

#[test]
fn program_validation() {
    use annals_query_lang::plan::{Op, Opcode, Output};
    use annals_query_lang::Error;
    let good = compile(Q_AGG).unwrap().program;
    good.validate().unwrap();
    let out = |aggregate, reg| Output {
        aggregate,
        reg,
        name: "x".into(),
        value_type: ValueType::Uint256,
    };
    let cases: Vec<(Program, Option<usize>, &str)> = vec![
        (
            Program { ops: vec![Op { opcode: Opcode::Add, a: 0, b: 1 }], ..good.clone() },
            Some(0),
            "expected a register < 0",
        ),
        (
            Program { ops: vec![Op { opcode: Opcode::Column, a: 17, b: 0 }], ..good.clone() },
            Some(0),
            "column id of headers < 17",
        ),
        (
            Program { ops: vec![Op { opcode: Opcode::Const, a: 0, b: 0 }], ..good.clone() },
            Some(0),
            "constant index < 0",
        ),
        (
            Program { ops: vec![Op { opcode: Opcode::Column, a: 1, b: 3 }], ..good.clone() },
            Some(0),
            "expected 0 (unused)",
        ),
        (Program { filter: Some(2), ..good.clone() }, None, "filter register 2"),
        (Program { outputs: vec![], ..good.clone() }, None, "0 outputs"),
        (
            Program {
                table: Table::Storage,
                ops: vec![Op { opcode: Opcode::Column, a: 4, b: 0 }],
                ..good.clone()
            },
            Some(0),
            "column id of storage < 4",
        ),
        (
            Program { outputs: vec![out(Aggregate::CountStar, 1)], ..good.clone() },
            None,
            "0 for COUNT(*)",
        ),
        (Program { outputs: vec![out(Aggregate::Max, 2)], ..good.clone() }, None, "register < 2"),
        (Program { constants: vec![U256::ZERO; 9], ..good.clone() }, None, "9 constants"),
    ];
    for (p, op, words) in cases {
        let err = p.validate().unwrap_err();
        assert!(matches!(&err, Error::InvalidProgram { op: o, .. } if *o == op), "{err}");
        assert!(err.to_string().contains(words), "{err} lacks {words}");
    }
}

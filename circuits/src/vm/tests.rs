//! VM tests: circuit vs native twin on hand-built programs and real mainnet header rows, real
//! proofs, and negative tests that tamper with the witness.

use super::*;
use crate::mapreduce::merge::{finalize_partial_aggregate, merge_partial_aggregates};
use crate::mapreduce::statement::{LazySumTarget, PartialAggregateTargets};
use crate::uint256::arith_tests::{prove_and_verify, values, Values, C, D, F};
use crate::uint256::tamper;
use alloy_primitives::B256;
use annals_query_lang::columns::{header_row, HeaderColumn};
use annals_query_lang::plan::{Op, Output, ValueType};
use plonky2::iop::witness::Witness;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use std::sync::OnceLock;
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// Real mainnet headers across forks: Frontier (no base fee), London, Shanghai, Cancun, Prague.
const FIXTURE_BLOCKS: [u64; 6] =
    [1_150_000, 12_965_000, 16_000_000, 17_000_000, 19_432_087, 23_094_898];

/// The row of a fixture header, or `None` (with a note) where `../shared` is absent (users'
/// clones): the tests that need real rows then return early.
fn fixture_row(number: u64) -> Option<HeaderRow> {
    let path = format!(
        "{}/../../shared/fixtures/mainnet/headers/{number}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("note: {path} missing, skipping");
        return None;
    };
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let header: alloy_consensus::Header = serde_json::from_value(json.clone()).expect("header");
    let hash: B256 = json["hash"].as_str().expect("hash").parse().expect("hash hex");
    assert_eq!(header.hash_slow(), hash, "fixture {number} hash");
    Some(header_row(&header, hash))
}

fn rows() -> Option<Vec<HeaderRow>> {
    FIXTURE_BLOCKS.iter().map(|&n| fixture_row(n)).collect()
}

fn op(opcode: Opcode, a: u8, b: u8) -> Op {
    Op { opcode, a, b }
}

fn col(c: HeaderColumn) -> Op {
    op(Opcode::Column, c as u8, 0)
}

fn out(aggregate: Aggregate, reg: u8) -> Output {
    Output { aggregate, reg, name: format!("r{reg}"), value_type: ValueType::Uint256 }
}

fn program(constants: &[u64], ops: Vec<Op>, filter: Option<u8>, outputs: Vec<Output>) -> Program {
    Program {
        table: annals_query_lang::plan::Table::Headers,
        constants: constants.iter().map(|&c| U256::from(c)).collect(),
        ops,
        filter,
        outputs,
        slot_keys: 0,
    }
}

/// `SELECT number, gas_used * 100 / gas_limit, base_fee_per_gas + 1
///  WHERE gas_limit / 2 < gas_used`.
fn program_arith() -> Program {
    use Opcode::*;
    program(
        &[100, 1, 2],
        vec![
            col(HeaderColumn::Number),
            col(HeaderColumn::GasUsed),
            op(Const, 0, 0),
            op(Mul, 1, 2),
            col(HeaderColumn::GasLimit),
            op(Div, 3, 4),
            col(HeaderColumn::BaseFeePerGas),
            op(Const, 1, 0),
            op(Add, 6, 7),
            op(Const, 2, 0),
            op(Div, 4, 9),
            op(Lt, 10, 1),
        ],
        Some(11),
        vec![out(Aggregate::None, 0), out(Aggregate::None, 5), out(Aggregate::None, 8)],
    )
}

/// Kleene logic on a NULL-able comparison, every logic op, Sub/Mod/Le, all 16 ops.
fn program_logic() -> Program {
    use Opcode::*;
    program(
        &[0, 17_000_000],
        vec![
            col(HeaderColumn::BaseFeePerGas),
            op(Const, 0, 0),
            op(Eq, 0, 1),
            col(HeaderColumn::Number),
            op(Const, 1, 0),
            op(Lt, 3, 4),
            op(And, 2, 5),
            op(Or, 2, 5),
            op(Not, 2, 0),
            op(IsNull, 0, 0),
            op(Le, 4, 3),
            op(Sub, 3, 1),
            op(Mod, 3, 4),
            col(HeaderColumn::Difficulty),
            op(Not, 13, 0),
            op(And, 14, 9),
        ],
        None,
        vec![
            out(Aggregate::None, 6),
            out(Aggregate::None, 7),
            out(Aggregate::None, 8),
            out(Aggregate::None, 15),
        ],
    )
}

/// Big values: hashes, a 128×128-bit product, hash division and remainder, NULL arithmetic.
fn program_wide() -> Program {
    use Opcode::*;
    let mut p = program(
        &[0],
        vec![
            col(HeaderColumn::Hash),
            col(HeaderColumn::ParentHash),
            op(Eq, 0, 1),
            op(Lt, 0, 1),
            op(Le, 1, 0),
            op(Div, 0, 1),
            op(Mod, 0, 1),
            op(Const, 0, 0),
            op(Mul, 7, 7),
            col(HeaderColumn::WithdrawalsRoot),
            op(Add, 9, 5),
            op(Mul, 5, 5),
            col(HeaderColumn::Beneficiary),
            op(Add, 12, 6),
            op(Sub, 0, 6),
            op(Or, 2, 11),
        ],
        None,
        vec![
            out(Aggregate::None, 8),
            out(Aggregate::None, 13),
            out(Aggregate::None, 14),
            out(Aggregate::None, 15),
        ],
    );
    p.constants[0] = (U256::from(1u64) << 128) - U256::from(1u64);
    p
}

/// `SELECT COUNT(*), SUM(base_fee_per_gas), MIN(gas_used), AVG(base_fee_per_gas)
///  WHERE number >= 1`.
fn program_agg1() -> Program {
    use Opcode::*;
    program(
        &[1],
        vec![
            col(HeaderColumn::Number),
            op(Const, 0, 0),
            op(Le, 1, 0),
            col(HeaderColumn::BaseFeePerGas),
            col(HeaderColumn::GasUsed),
        ],
        Some(2),
        vec![
            out(Aggregate::CountStar, 0),
            out(Aggregate::Sum, 3),
            out(Aggregate::Min, 4),
            out(Aggregate::Avg, 3),
        ],
    )
}

/// `SELECT COUNT(base_fee_per_gas), MAX(timestamp), SUM(gas_used * base_fee_per_gas),
///  AVG(gas_used) WHERE base_fee_per_gas IS NULL OR gas_used > 10_000_000`.
fn program_agg2() -> Program {
    use Opcode::*;
    program(
        &[10_000_000],
        vec![
            col(HeaderColumn::BaseFeePerGas),
            op(IsNull, 0, 0),
            col(HeaderColumn::GasUsed),
            op(Const, 0, 0),
            op(Lt, 3, 2),
            op(Or, 1, 4),
            col(HeaderColumn::Timestamp),
            op(Mul, 2, 0),
        ],
        Some(5),
        vec![
            out(Aggregate::Count, 0),
            out(Aggregate::Max, 6),
            out(Aggregate::Sum, 7),
            out(Aggregate::Avg, 2),
        ],
    )
}

fn programs() -> Vec<Program> {
    vec![program_arith(), program_logic(), program_wide(), program_agg1(), program_agg2()]
}

// ---------------------------------------------------------------------------------------------
// The shared VM circuit.

struct VmCircuit {
    data: CircuitData<F, C, D>,
    program: ProgramTargets,
    row: RowTargets,
    enabled: BoolTarget,
    result: RowResultTargets,
    claimed_selected: BoolTarget,
    claimed_value: U256Target,
}

fn vm_circuit() -> &'static VmCircuit {
    static CIRCUIT: OnceLock<VmCircuit> = OnceLock::new();
    CIRCUIT.get_or_init(|| {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let program = builder.add_virtual_program();
        let row = builder.add_virtual_row();
        let enabled = builder.add_virtual_bool_target_safe();
        let result = builder.eval_program_enabled(&program, &row, enabled);
        // Claimed values, filled from the computed ones unless a test sets them.
        let claimed_selected = builder.add_virtual_bool_target_unsafe();
        builder.connect(claimed_selected.target, result.selected.target);
        let claimed_value = U256Target { limbs: builder.add_virtual_target_arr() };
        builder.connect_u256(&claimed_value, &result.outputs[0].value);
        let t = Instant::now();
        let data = builder.build::<C>();
        println!("VM circuit: 2^{} rows, built in {:?}", data.common.degree_bits(), t.elapsed());
        VmCircuit { data, program, row, enabled, result, claimed_selected, claimed_value }
    })
}

fn witness(c: &VmCircuit, p: &Program, row: &HeaderRow, enabled: bool) -> PartialWitness<F> {
    let mut pw = PartialWitness::new();
    set_program(&mut pw, &c.program, p).expect("valid program");
    set_row(&mut pw, &c.row, row);
    pw.set_bool_target(c.enabled, enabled).expect("enabled");
    pw
}

fn read_aggregate(v: &Values, a: &AggregateTargets) -> NativeAggregate {
    NativeAggregate {
        count: v.get(a.count),
        sum: v.u256(&a.sum),
        min: v.u256(&a.min),
        max: v.u256(&a.max),
    }
}

fn read_opt(v: &Values, value: &U256Target, null: BoolTarget) -> Option<U256> {
    match v.get(null.target) {
        0 => Some(v.u256(value)),
        1 => {
            assert_eq!(v.u256(value), U256::ZERO, "NULL value normalized to 0");
            None
        }
        x => panic!("non-boolean NULL flag {x}"),
    }
}

/// Checks the circuit's witness against the native twin on one (program, row).
fn check_against_native(p: &Program, row: &HeaderRow) -> NativeRowResult {
    let c = vm_circuit();
    let native = eval_program_native(p, row)
        .unwrap_or_else(|e| panic!("no error expected on block {:?}: {e}", row[0]));
    let vals = values(&c.data, witness(c, p, row, true));
    for (s, (value, null)) in c.result.registers.iter().enumerate() {
        assert_eq!(read_opt(&vals, value, *null), native.registers[s], "register {s}");
    }
    assert_eq!(vals.get(c.result.selected.target), native.selected as u64, "selected");
    for (j, (o, n)) in c.result.outputs.iter().zip(&native.outputs).enumerate() {
        assert_eq!(read_opt(&vals, &o.value, o.is_null), n.value, "output {j}");
        assert_eq!(read_aggregate(&vals, &o.aggregate), n.aggregate, "aggregate {j}");
    }
    native
}

// ---------------------------------------------------------------------------------------------
// Positive tests.

#[test]
fn vm_row_count() {
    let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let program = builder.add_virtual_program();
    let after_program = builder.num_gates();
    let row = builder.add_virtual_row();
    let after_row = builder.num_gates();
    let result = builder.eval_program(&program, &row);
    let after_eval = builder.num_gates();
    let aggs = result.outputs.map(|o| PartialAggregateTargets::from_row(&o.aggregate));
    let merged: [_; MAX_OUTPUTS] =
        core::array::from_fn(|j| merge_partial_aggregates(&mut builder, &aggs[j], &aggs[j]));
    let after_merge = builder.num_gates();
    let finals: [_; MAX_OUTPUTS] = core::array::from_fn(|j| {
        finalize_partial_aggregate(&mut builder, &program.outputs[j], &merged[j])
    });
    builder.finalize_aggregates(&program, &finals);
    let after_finalize = builder.num_gates();
    println!(
        "rows: program {after_program}, row {}, eval_program ({MAX_OPS} steps) {}, \
         merge_partial_aggregates {}, finalize_aggregates {}",
        after_row - after_program,
        after_eval - after_row,
        after_merge - after_eval,
        after_finalize - after_merge
    );
    assert!(after_eval - after_row < 6_000);
}

#[test]
fn fixtures_have_expected_nulls() {
    let Some(rows) = rows() else { return };
    assert!(rows[0][HeaderColumn::BaseFeePerGas as usize].is_none());
    assert!(rows[1][HeaderColumn::BaseFeePerGas as usize].is_some());
    assert!(rows[3][HeaderColumn::WithdrawalsRoot as usize].is_none());
    assert!(rows[4][HeaderColumn::WithdrawalsRoot as usize].is_some());
    assert!(rows[4][HeaderColumn::BlobGasUsed as usize].is_some());
    assert!(rows[5][HeaderColumn::RequestsHash as usize].is_some());
}

#[test]
fn circuit_matches_native_on_fixtures() {
    let Some(rows) = rows() else { return };
    for (i, p) in programs().iter().enumerate() {
        for (row, n) in rows.iter().zip(FIXTURE_BLOCKS) {
            println!("program {i}, block {n}");
            check_against_native(p, row);
        }
    }
}

#[test]
fn kleene_logic_and_nulls() {
    let Some(rows) = rows() else { return };
    let p = program_logic();
    let frontier = check_against_native(&p, &rows[0]); // base fee NULL, number < 17M
    let shanghai = check_against_native(&p, &rows[4]); // base fee set, number >= 17M
    let one = Some(U256::from(1u64));
    let zero = Some(U256::ZERO);
    // Frontier: r2 = (NULL = 0) is NULL, r5 = true.
    assert_eq!(frontier.registers[2], None);
    assert_eq!(frontier.outputs[0].value, None, "NULL AND true");
    assert_eq!(frontier.outputs[1].value, one, "NULL OR true");
    assert_eq!(frontier.outputs[2].value, None, "NOT NULL");
    assert_eq!(frontier.registers[9], one, "IS NULL");
    // Cancun: r2 = false (base fee != 0), r5 = false.
    assert_eq!(shanghai.outputs[0].value, zero, "false AND false");
    assert_eq!(shanghai.outputs[2].value, one, "NOT false");
    assert_eq!(shanghai.registers[9], zero);
    // r15 = NOT difficulty AND IS NULL(base fee): false AND .. / true AND false.
    assert_eq!(frontier.outputs[3].value, zero);
    // NULL AND false = false, NULL OR false = NULL.
    let p2 = {
        use Opcode::*;
        program(
            &[0],
            vec![col(HeaderColumn::BaseFeePerGas), op(Const, 0, 0), op(And, 0, 1), op(Or, 0, 1)],
            None,
            vec![out(Aggregate::None, 2), out(Aggregate::None, 3)],
        )
    };
    let r = check_against_native(&p2, &rows[0]);
    assert_eq!((r.outputs[0].value, r.outputs[1].value), (zero, None));
}

#[test]
fn program_field_elements_match_native() {
    let c = vm_circuit();
    let Some(rows) = rows() else { return };
    for p in programs() {
        let native = program_to_field_elements::<F>(&p).expect("valid");
        assert_eq!(native.len(), PROGRAM_NUM_FIELD_ELEMENTS);
        let vals = values(&c.data, witness(c, &p, &rows[0], true));
        let got: Vec<F> =
            program_field_elements(&c.program).iter().map(|&t| vals.0.get_target(t)).collect();
        assert_eq!(got, native);
    }
}

#[test]
fn proves_and_verifies() {
    let c = vm_circuit();
    let Some(rows) = rows() else { return };
    for (p, row) in [(program_logic(), &rows[0]), (program_wide(), &rows[5])] {
        let pw = witness(c, &p, row, true);
        let t = Instant::now();
        let proof = c.data.prove(pw).expect("prove");
        let prove_time = t.elapsed();
        c.data.verify(proof).expect("verify");
        println!("VM proof: prove {prove_time:?}, total {:?}", t.elapsed());
    }
}

#[test]
fn disabled_row_does_not_err() {
    use Opcode::*;
    let c = vm_circuit();
    let p = program(
        &[0],
        vec![col(HeaderColumn::GasUsed), op(Const, 0, 0), op(Div, 0, 1)],
        None,
        vec![out(Aggregate::Sum, 2)],
    );
    let Some(row) = fixture_row(17_000_000) else { return };
    assert_eq!(eval_program_native(&p, &row), Err(VmError::DivisionByZero { op: 2 }));
    assert!(!prove_and_verify(&c.data, witness(c, &p, &row, true)));
    let pw = witness(c, &p, &row, false);
    let vals = values(&c.data, pw.clone());
    assert_eq!(vals.get(c.result.selected.target), 0);
    assert_eq!(read_aggregate(&vals, &c.result.outputs[0].aggregate), NativeAggregate::EMPTY);
    drop(vals);
    assert!(prove_and_verify(&c.data, pw));
}

#[test]
fn null_operand_never_errs() {
    use Opcode::*;
    let c = vm_circuit();
    // NULL / 0, NULL - 1, NULL * MAX: NULL, no error (Frontier has no base fee).
    let mut p = program(
        &[0, 1, 0],
        vec![
            col(HeaderColumn::BaseFeePerGas),
            op(Const, 0, 0),
            op(Div, 0, 1),
            op(Const, 1, 0),
            op(Sub, 0, 3),
            op(Const, 2, 0),
            op(Mul, 0, 5),
            op(Add, 5, 0),
        ],
        None,
        vec![
            out(Aggregate::None, 2),
            out(Aggregate::None, 4),
            out(Aggregate::None, 6),
            out(Aggregate::None, 7),
        ],
    );
    p.constants[2] = U256::MAX;
    let Some(row) = fixture_row(1_150_000) else { return };
    let r = check_against_native(&p, &row);
    assert!(r.outputs.iter().all(|o| o.value.is_none()));
    assert!(prove_and_verify(&c.data, witness(c, &p, &row, true)));
}

// ---------------------------------------------------------------------------------------------
// Negative tests: each must fail to prove.

fn assert_unprovable(p: &Program, row: &HeaderRow, expected: VmError) {
    let c = vm_circuit();
    assert_eq!(eval_program_native(p, row), Err(expected));
    assert!(!prove_and_verify(&c.data, witness(c, p, row, true)));
}

fn two_consts(a: U256, b: U256, opcode: Opcode) -> Program {
    let mut p = program(
        &[0, 0],
        vec![op(Opcode::Const, 0, 0), op(Opcode::Const, 1, 0), op(opcode, 0, 1)],
        None,
        vec![out(Aggregate::None, 2)],
    );
    p.constants = vec![a, b];
    p
}

#[test]
fn add_overflow_fails() {
    let Some(row) = fixture_row(17_000_000) else { return };
    assert_unprovable(
        &two_consts(U256::MAX, U256::from(1u64), Opcode::Add),
        &row,
        VmError::Overflow { op: 2 },
    );
}

#[test]
fn mul_overflow_fails() {
    let Some(row) = fixture_row(17_000_000) else { return };
    let big = U256::from(1u64) << 128;
    assert_unprovable(&two_consts(big, big, Opcode::Mul), &row, VmError::Overflow { op: 2 });
    // Just below: (2^128 - 1)^2 fits.
    let c = vm_circuit();
    let fits = two_consts(big - U256::from(1u64), big - U256::from(1u64), Opcode::Mul);
    check_against_native(&fits, &row);
    assert!(prove_and_verify(&c.data, witness(c, &fits, &row, true)));
}

#[test]
fn sub_underflow_fails() {
    let Some(row) = fixture_row(17_000_000) else { return };
    assert_unprovable(
        &two_consts(U256::from(1u64), U256::from(2u64), Opcode::Sub),
        &row,
        VmError::Underflow { op: 2 },
    );
}

#[test]
fn division_by_zero_fails() {
    let Some(row) = fixture_row(17_000_000) else { return };
    assert_unprovable(
        &two_consts(U256::from(1u64), U256::ZERO, Opcode::Div),
        &row,
        VmError::DivisionByZero { op: 2 },
    );
    assert_unprovable(
        &two_consts(U256::from(1u64), U256::ZERO, Opcode::Mod),
        &row,
        VmError::DivisionByZero { op: 2 },
    );
}

#[test]
fn wrong_claimed_output_fails() {
    let c = vm_circuit();
    let p = program_arith();
    let Some(row) = fixture_row(17_000_000) else { return };
    let native = check_against_native(&p, &row);
    let mut pw = witness(c, &p, &row, true);
    let wrong = native.outputs[0].value.unwrap() + U256::from(1u64);
    set_u256(&mut pw, &c.claimed_value, wrong);
    assert!(!prove_and_verify(&c.data, pw));
}

#[test]
fn wrong_selected_fails() {
    let c = vm_circuit();
    let p = program_arith();
    let Some(row) = fixture_row(17_000_000) else { return };
    let native = check_against_native(&p, &row);
    let mut pw = witness(c, &p, &row, true);
    pw.set_bool_target(c.claimed_selected, !native.selected).unwrap();
    assert!(!prove_and_verify(&c.data, pw));
}

#[test]
fn non_one_hot_opcode_fails() {
    let c = vm_circuit();
    let p = program_arith();
    let padded = PaddedProgram::new(&p).unwrap();
    let Some(row) = fixture_row(17_000_000) else { return };
    // Op 3 is Mul (4): also set Column (0) — weighted sum still 4, but two flags.
    // Then: Mul's flag replaced by Add's (2) and Const's (1) plus ... — weighted sum 3 != 4.
    let cases: [fn(u8) -> [bool; NUM_OPCODES]; 2] = [
        |code| core::array::from_fn(|i| i == code as usize || (code == 4 && i == 0)),
        |code| core::array::from_fn(|i| if code == 4 { i == 3 } else { i == code as usize }),
    ];
    for flags in cases {
        let mut pw = PartialWitness::new();
        set_padded(&mut pw, &c.program, &padded, flags);
        set_row(&mut pw, &c.row, &row);
        pw.set_bool_target(c.enabled, true).unwrap();
        assert!(!prove_and_verify(&c.data, pw));
    }
}

#[test]
fn wrong_division_witness_fails() {
    let c = vm_circuit();
    let p = program_arith(); // op 5: gas_used * 100 / gas_limit
    let Some(row) = fixture_row(17_000_000) else { return };
    check_against_native(&p, &row);
    // q - 1 and r + b: a = q·b + r still holds, r < b does not.
    let hook = || -> tamper::Hook {
        Box::new(|k, inp, out| {
            let divides = |inp: &[u64], out: &[u64]| {
                inp[18..34].iter().any(|&l| l != 0) && out[..16].iter().any(|&l| l != 0)
            };
            if k == GenKind::SubDivRem && inp[1] == 1 && divides(inp, out) {
                let b = crate::uint256::limbs_to_u256(&inp[18..34].try_into().unwrap());
                let q = crate::uint256::limbs_to_u256(&out[..16].try_into().unwrap());
                let r = crate::uint256::limbs_to_u256(&out[16..32].try_into().unwrap());
                out[..16].copy_from_slice(&crate::uint256::u256_to_limbs(q - U256::from(1u64)));
                out[16..32].copy_from_slice(&crate::uint256::u256_to_limbs(r + b));
            }
        })
    };
    let pw = witness(c, &p, &row, true);
    assert!(!tamper::with_hook(hook(), || prove_and_verify(&c.data, pw)));
    // q + 1 alone.
    let pw = witness(c, &p, &row, true);
    assert!(!tamper::with_hook(
        Box::new(|k, inp, out| if k == GenKind::SubDivRem && inp[1] == 1 {
            out[0] += 1;
        }),
        || prove_and_verify(&c.data, pw)
    ));
}

// ---------------------------------------------------------------------------------------------
// Merge and finalize.

/// The production composition of a reduce node and the root, without recursion:
/// `merge_partial_aggregates` per slot, the root's `finalize_partial_aggregate` (lazy sum
/// normalized, SUM/AVG overflow rejected), then `finalize_aggregates`.
struct ReduceCircuit {
    data: CircuitData<F, C, D>,
    program: ProgramTargets,
    left: [PartialAggregateTargets; MAX_OUTPUTS],
    right: [PartialAggregateTargets; MAX_OUTPUTS],
    merged: [AggregateTargets; MAX_OUTPUTS],
    result: [(U256Target, BoolTarget); MAX_OUTPUTS],
}

fn reduce_circuit() -> &'static ReduceCircuit {
    static CIRCUIT: OnceLock<ReduceCircuit> = OnceLock::new();
    CIRCUIT.get_or_init(|| {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let program = builder.add_virtual_program();
        let virtual_agg = |b: &mut CircuitBuilder<F, D>| PartialAggregateTargets {
            count: {
                let t = b.add_virtual_target();
                b.range_check(t, 32);
                t
            },
            sum: LazySumTarget::from_u256(&b.add_virtual_u256()),
            min: b.add_virtual_u256(),
            max: b.add_virtual_u256(),
        };
        let left = core::array::from_fn(|_| virtual_agg(&mut builder));
        let right = core::array::from_fn(|_| virtual_agg(&mut builder));
        let before = builder.num_gates();
        let lazy: [_; MAX_OUTPUTS] =
            core::array::from_fn(|j| merge_partial_aggregates(&mut builder, &left[j], &right[j]));
        let merged: [_; MAX_OUTPUTS] = core::array::from_fn(|j| {
            finalize_partial_aggregate(&mut builder, &program.outputs[j], &lazy[j])
        });
        let mid = builder.num_gates();
        let result = builder.finalize_aggregates(&program, &merged);
        println!("rows: merge {}, finalize {}", mid - before, builder.num_gates() - mid);
        let data = builder.build::<C>();
        ReduceCircuit { data, program, left, right, merged, result }
    })
}

fn reduce_witness(
    c: &ReduceCircuit,
    p: &Program,
    l: &[NativeAggregate; MAX_OUTPUTS],
    r: &[NativeAggregate; MAX_OUTPUTS],
) -> PartialWitness<F> {
    let mut pw = PartialWitness::new();
    set_program(&mut pw, &c.program, p).unwrap();
    for j in 0..MAX_OUTPUTS {
        for (t, a) in [(&c.left[j], &l[j]), (&c.right[j], &r[j])] {
            let canonical = AggregateTargets {
                count: t.count,
                sum: U256Target { limbs: t.sum.limbs },
                min: t.min,
                max: t.max,
            };
            set_aggregate(&mut pw, &canonical, a);
        }
    }
    pw
}

/// Folds the rows natively into two halves (left: first rows, right: the rest).
fn halves(p: &Program, rows: &[HeaderRow], split: usize) -> [[NativeAggregate; MAX_OUTPUTS]; 2] {
    let fold = |rs: &[HeaderRow]| {
        rs.iter().fold([NativeAggregate::EMPTY; MAX_OUTPUTS], |acc, row| {
            let r = eval_program_native(p, row).unwrap();
            merge_native(p, &acc, &r.outputs.map(|o| o.aggregate)).unwrap()
        })
    };
    [fold(&rows[..split]), fold(&rows[split..])]
}

#[test]
fn merge_and_finalize_match_native() {
    let c = reduce_circuit();
    let Some(rows) = rows() else { return };
    for p in [program_agg1(), program_agg2()] {
        for split in [0, 1, 3, rows.len()] {
            let [l, r] = halves(&p, &rows, split);
            let merged = merge_native(&p, &l, &r).unwrap();
            let result = finalize_native(&p, &merged).unwrap();
            let vals = values(&c.data, reduce_witness(c, &p, &l, &r));
            for j in 0..MAX_OUTPUTS {
                assert_eq!(read_aggregate(&vals, &c.merged[j]), merged[j], "merged {j}");
                assert_eq!(read_opt(&vals, &c.result[j].0, c.result[j].1), result[j], "result {j}");
            }
        }
    }
    // Empty input: SUM/MIN/AVG NULL, COUNT 0.
    let p = program_agg1();
    let empty = [NativeAggregate::EMPTY; MAX_OUTPUTS];
    let result = finalize_native(&p, &empty).unwrap();
    assert_eq!(result, [Some(U256::ZERO), None, None, None]);
    let vals = values(&c.data, reduce_witness(c, &p, &empty, &empty));
    for j in 0..MAX_OUTPUTS {
        assert_eq!(read_opt(&vals, &c.result[j].0, c.result[j].1), result[j]);
    }
    drop(vals);
    let [l, r] = halves(&p, &rows, 2);
    let t = Instant::now();
    assert!(prove_and_verify(&c.data, reduce_witness(c, &p, &l, &r)));
    println!("merge+finalize proof: {:?}", t.elapsed());
}

#[test]
fn wrong_avg_quotient_fails() {
    let c = reduce_circuit();
    let p = program_agg1();
    let Some(rows) = rows() else { return };
    let [l, r] = halves(&p, &rows, 3);
    let count = l[3].count + r[3].count;
    assert!(count > 1);
    assert!(prove_and_verify(&c.data, reduce_witness(c, &p, &l, &r)));
    // Slot 3 is AVG: its division is the only one with a non-zero `cond` whose divisor is the
    // count; shift one unit of quotient into the remainder.
    let hook = move || -> tamper::Hook {
        Box::new(move |k, inp, out| {
            if k == GenKind::SubDivRem
                && inp[1] == 1
                && inp[18] + (inp[19] << 16) == count
                && out[..16].iter().any(|&l| l != 0)
            {
                let q = crate::uint256::limbs_to_u256(&out[..16].try_into().unwrap());
                let rem = crate::uint256::limbs_to_u256(&out[16..32].try_into().unwrap());
                out[..16].copy_from_slice(&crate::uint256::u256_to_limbs(q - U256::from(1u64)));
                out[16..32]
                    .copy_from_slice(&crate::uint256::u256_to_limbs(rem + U256::from(count)));
            }
        })
    };
    let pw = reduce_witness(c, &p, &l, &r);
    assert!(!tamper::with_hook(hook(), || prove_and_verify(&c.data, pw)));
    let pw = reduce_witness(c, &p, &l, &r);
    assert!(!tamper::with_hook(
        Box::new(move |k, inp, out| {
            if k == GenKind::SubDivRem && inp[1] == 1 && inp[18] + (inp[19] << 16) == count {
                out[0] ^= 1;
            }
        }),
        || prove_and_verify(&c.data, pw)
    ));
}

#[test]
fn sum_overflow_fails_only_for_sum() {
    let c = reduce_circuit();
    let big = NativeAggregate { count: 1, sum: U256::MAX, min: U256::MAX, max: U256::MAX };
    let one = NativeAggregate {
        count: 1,
        sum: U256::from(1u64),
        min: U256::from(1u64),
        max: U256::from(1u64),
    };
    let l = [big; MAX_OUTPUTS];
    let r = [one; MAX_OUTPUTS];
    // program_agg2 slot 2 is SUM: overflow is an error.
    let p = program_agg2();
    assert!(matches!(merge_native(&p, &l, &r), Err(VmError::SumOverflow { output: 2 })));
    assert!(!prove_and_verify(&c.data, reduce_witness(c, &p, &l, &r)));
    // A program whose slots are COUNT(*), MIN, MAX, COUNT: the wrapped sum is irrelevant.
    let mut q = program_agg1();
    q.outputs = vec![
        out(Aggregate::CountStar, 0),
        out(Aggregate::Min, 3),
        out(Aggregate::Max, 4),
        out(Aggregate::Count, 3),
    ];
    let merged = merge_native(&q, &l, &r).unwrap();
    assert_eq!(merged[1].min, U256::from(1u64));
    assert_eq!(merged[2].max, U256::MAX);
    assert!(prove_and_verify(&c.data, reduce_witness(c, &q, &l, &r)));
}

//! The CLI commands.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use alloy_primitives::{B256, U256};
use annals_aggregator::cache::load_root_verifier;
use annals_aggregator::evm::{
    load_verifying_key, verify_evm_file, EvmProofFile, EvmProver, EVM_PROOF_FORMAT,
};
use annals_aggregator::prover::ProvenQuery;
use annals_aggregator::{verify_file, ProgressEvent, ProofEnvelope, Prover, VerifiedStatement};
use annals_circuits::mapreduce::recursion::ChildKind;
use annals_circuits::mapreduce::state_map::{program_point, PointWitness};
use annals_circuits::mapreduce::CircuitSet;
use annals_indexer::{fetch_query_points, ChainSpec, HeaderProvider, IndexOptions, Store};
use annals_query_lang::{compile, CompiledQuery, ResultTable};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{Cli, Command};

/// Normalizes a SQLite URL so the file is created when missing.
pub fn db_url(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains('?') && !url.contains(":memory:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_owned()
    }
}

/// Runs one command.
///
/// # Errors
/// The command's error, with context.
pub async fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Index { rpc, from, to, mainnet, receipts } => {
            let store = Store::connect(&db_url(&cli.db)).await?;
            let opts = IndexOptions {
                spec: if mainnet { ChainSpec::Mainnet } else { ChainSpec::Any },
                ..IndexOptions::default()
            };
            let report = annals_indexer::index_range(&store, &rpc, from, to, &opts).await?;
            println!(
                "indexed blocks {}..={}: {} new headers in {} batches",
                report.start,
                report.next_block.saturating_sub(1),
                report.inserted,
                report.batches
            );
            if receipts {
                let r = annals_indexer::index_receipts(
                    &store,
                    &rpc,
                    from,
                    to,
                    annals_indexer::ReceiptsSource::Auto,
                    &opts,
                )
                .await?;
                println!(
                    "receipts of blocks {}..={}: {} receipts verified, {} blocks newly stored",
                    r.start,
                    r.next_block.saturating_sub(1),
                    r.receipts,
                    r.blocks_written
                );
            }
        }
        Command::ImportFixtures { dir } => {
            let store = Store::connect(&db_url(&cli.db)).await?;
            let report = annals_indexer::import_dir(&store, &dir).await?;
            println!(
                "imported {} headers ({} new) from {}, runs {:?}",
                report.headers,
                report.inserted,
                report.dir.display(),
                report.runs
            );
            if dir.join("receipts").is_dir() {
                let r = annals_indexer::import_receipts_dir(&store, &dir).await?;
                println!(
                    "imported the receipts of {} blocks ({} receipts, {} blocks new) from {}",
                    r.blocks.len(),
                    r.receipts,
                    r.blocks_written,
                    r.dir.display()
                );
            }
            if dir.join("proofs").is_dir() {
                let r = annals_indexer::import_proofs_dir(&store, &dir).await?;
                println!(
                    "imported {} account proofs ({} rows new) from {}",
                    r.accounts.len(),
                    r.written,
                    r.dir.display()
                );
            }
        }
        Command::Query { sql, prove, evm, out, json, rpc } => {
            let store = Store::connect(&db_url(&cli.db)).await?;
            let query = compile(&sql).map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(rpc) = rpc {
                let provider = alloy::providers::ProviderBuilder::new()
                    .connect(&rpc)
                    .await
                    .with_context(|| format!("connecting to {rpc}"))?;
                let opts = IndexOptions::default();
                let n = fetch_query_points(&store, &provider, &query, &opts).await?;
                if n > 0 {
                    eprintln!("fetched and verified {n} account proofs over {rpc}");
                }
            }
            let rows = native(&store, &query).await?;
            print_result(&query, &rows, json)?;
            if prove {
                let proven = prove_query(&store, &query, &rows, &cli.cache_dir).await?;
                if evm {
                    prove_evm(proven.envelope, &out, &cli.cache_dir).await?;
                } else {
                    finish_proof(&proven, &out, &cli.cache_dir).await?;
                }
            }
        }
        Command::Explain { sql } => {
            let query = compile(&sql).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", query.explain());
            if let Some(filter) = query.bloom_filter() {
                // Without `mode=rwc`: explain does not create a database that is not there.
                match Store::connect(&cli.db).await {
                    Ok(store) => print!("{}", explain_logs(&store, &query, &filter).await?),
                    Err(e) => println!("per-block bloom rule-out: no indexed data ({e})"),
                }
            }
        }
        Command::Verify { file } => {
            let cache = cli.cache_dir.clone();
            let path = file.clone();
            let (verified, evm) = tokio::task::spawn_blocking(move || {
                if is_evm_file(&path)? {
                    let file = EvmProofFile::load(&path)?;
                    let root = load_root_verifier(&cache)?;
                    let vk = load_verifying_key(&cache)?;
                    let v = verify_evm_file(&root, &vk, &file)?;
                    anyhow::Ok((v, Some(file.statement_digest)))
                } else {
                    anyhow::Ok((verify_file(&cache, &ProofEnvelope::load(&path)?)?, None))
                }
            })
            .await??;
            println!("proof verified: {}", file.display());
            print_statement(&verified);
            if let Some(digest) = evm {
                println!("  Groth16     verified; statement digest {digest}");
            }
        }
        Command::Demo { fixtures, blocks, out } => {
            crate::demo::run(fixtures.as_deref(), blocks, &out, &cli.cache_dir).await?;
        }
    }
    Ok(())
}

/// The native (reference) result of `query` over the stored, verified data of its table.
///
/// # Errors
/// Data of the range missing from the store (a header, a block's receipts, a point), or an
/// evaluation error (overflow, too many groups, ...).
pub async fn native(store: &Store, query: &CompiledQuery) -> Result<Vec<Vec<Option<U256>>>> {
    let rows =
        store.query_rows(query).await.context("reading the query's rows from the database")?;
    query.evaluate(&rows).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Blocks listed one per line by [`explain_logs`]; longer ranges are summarized.
pub const EXPLAIN_BLOCK_LINES: usize = 32;

/// The data-dependent part of `EXPLAIN` for a `logs` query: for each indexed block of the range,
/// whether its `logs_bloom` rules the filter out (no receipt work) or how many receipts and
/// logs the block map must prove (the first [`EXPLAIN_BLOCK_LINES`] blocks one per line, then
/// totals).
///
/// # Errors
/// Database errors, or stored data that no longer verifies.
pub async fn explain_logs(
    store: &Store,
    query: &CompiledQuery,
    filter: &annals_query_lang::BloomFilter,
) -> Result<String> {
    use std::fmt::Write as _;
    let mut s = String::from("\nper block (bloom rule-out from the indexed headers):\n");
    let (mut ruled_out, mut kept, mut missing, mut receipts_total) = (0u64, 0u64, 0u64, 0usize);
    for (i, n) in query.sampled_blocks().enumerate() {
        let line = match store.header(n).await? {
            None => {
                missing += 1;
                format!("{n}: header not indexed")
            }
            Some(h) if filter.rules_out(&h.header.logs_bloom) => {
                ruled_out += 1;
                format!("{n}: ruled out by logs_bloom (no receipts proven)")
            }
            Some(_) => {
                kept += 1;
                match store.receipts(n).await? {
                    Some(r) => {
                        let logs: usize = r.iter().map(|r| r.receipt.logs().len()).sum();
                        let bytes: usize = r.iter().map(|r| r.encoded.len()).sum();
                        receipts_total += r.len();
                        format!(
                            "{n}: bloom may match: {} receipts ({logs} logs, {bytes} bytes) to prove",
                            r.len()
                        )
                    }
                    None => format!("{n}: bloom may match: receipts not indexed"),
                }
            }
        };
        if i < EXPLAIN_BLOCK_LINES {
            writeln!(s, "  {line}")?;
        } else if i == EXPLAIN_BLOCK_LINES {
            writeln!(s, "  ...")?;
        }
    }
    let indexed = ruled_out + kept;
    writeln!(
        s,
        "{ruled_out} of {indexed} indexed blocks ruled out by bloom ({:.0} %), {receipts_total} \
         receipts to prove in the others; {missing} blocks not indexed",
        100.0 * ruled_out as f64 / indexed.max(1) as f64
    )?;
    Ok(s)
}

fn print_result(query: &CompiledQuery, rows: &[Vec<Option<U256>>], json: bool) -> Result<()> {
    let table = ResultTable::new(&query.program, rows.to_vec());
    if json {
        println!("{}", serde_json::to_string_pretty(&table.to_json())?);
    } else {
        println!("{table}");
    }
    Ok(())
}

/// Proves `query` (whose native result is `expected`) over the stored headers, with progress
/// bars; runs the proving off the async runtime.
///
/// # Errors
/// Missing blocks, unsupported queries, proving failures, or a circuit result that differs
/// from `expected`.
pub async fn prove_query(
    store: &Store,
    query: &CompiledQuery,
    expected: &[Vec<Option<U256>>],
    cache_dir: &Path,
) -> Result<ProvenQuery> {
    if let Some(reason) = query.program.unprovable_reason() {
        anyhow::bail!("cannot prove this query: {reason}");
    }
    let headers = store.headers_range(query.from_block..=query.to_block).await?;
    let rlps: Vec<Vec<u8>> = headers.into_iter().map(|h| h.rlp).collect();
    let points = point_witnesses(store, query).await?;
    let query = query.clone();
    let expected = expected.to_vec();
    let cache_dir = cache_dir.to_owned();
    tokio::task::spawn_blocking(move || -> Result<ProvenQuery> {
        let t = Instant::now();
        let prover = Prover::load_or_build(&cache_dir)?;
        eprintln!("circuits ready in {:.1}s", t.elapsed().as_secs_f64());
        let n = rlps.len() as u64;
        let bar = ProgressBar::new(2 * n);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} proving [{bar:30}] {pos}/{len} {msg} ({elapsed})",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        let on_progress = |e: ProgressEvent| match e {
            ProgressEvent::Leaf { block, .. } => {
                bar.set_message(format!("block {block}"));
                bar.inc(1)
            }
            ProgressEvent::Reduce { .. } => bar.inc(1),
            ProgressEvent::Root => {
                bar.set_message("root");
                bar.inc(1)
            }
        };
        let proven = prover.prove_with_points(
            &query.sql,
            &query.program,
            (query.from_block, query.to_block),
            &rlps,
            &points,
            &expected,
            &on_progress,
        )?;
        bar.finish_and_clear();
        Ok(proven)
    })
    .await?
}

/// The proof nodes of a single-point `accounts`/`storage` query's point at every block that
/// the `state_map` leaf proves, from the store (re-verified on read); empty for other queries.
///
/// # Errors
/// A point the store lacks (run the query without `--prove` first, with `--rpc`, to fetch it),
/// or stored data that no longer verifies.
async fn point_witnesses(
    store: &Store,
    query: &CompiledQuery,
) -> Result<BTreeMap<u64, PointWitness>> {
    let mut points = BTreeMap::new();
    let Ok((address, slot)) = program_point(&query.program) else { return Ok(points) };
    let slots: Vec<B256> = slot.into_iter().collect();
    for n in query.from_block..=query.to_block {
        if CircuitSet::leaf_kind(&query.program, n) != ChildKind::StateWrap {
            continue;
        }
        let account = store.account(n, address, &slots).await?.ok_or_else(|| {
            anyhow::anyhow!("block {n}: account {address} not fetched (run with --rpc)")
        })?;
        let mut w = PointWitness {
            account_proof: account.proof.iter().map(|b| b.to_vec()).collect(),
            account_exists: account.exists,
            ..Default::default()
        };
        if let Some(slot) = slot {
            let s = account.slots.iter().find(|s| s.slot == slot).ok_or_else(|| {
                anyhow::anyhow!("block {n}: slot {slot} of {address} not fetched (run with --rpc)")
            })?;
            w.storage_proof = s.proof.iter().map(|b| b.to_vec()).collect();
            w.slot_exists = !s.value.is_zero();
        }
        points.insert(n, w);
    }
    Ok(points)
}

/// Writes the proof file, verifies it from disk, and prints the statement and timings.
///
/// # Errors
/// I/O errors or a proof that does not verify.
pub async fn finish_proof(proven: &ProvenQuery, out: &Path, cache_dir: &Path) -> Result<()> {
    proven.envelope.save(out)?;
    let env = ProofEnvelope::load(out)?;
    let cache_dir = cache_dir.to_owned();
    let t = Instant::now();
    let verified = tokio::task::spawn_blocking(move || verify_file(&cache_dir, &env)).await??;
    let size = std::fs::metadata(out)?.len();
    let proof_bytes = proven.envelope.proof.len().saturating_sub(2) / 2;
    println!(
        "proof written to {} ({size} bytes; plonky2 proof {proof_bytes} bytes)",
        out.display()
    );
    print_statement(&verified);
    let tm = &proven.timings;
    println!(
        "  proving     leaves {:.1}s, reduce {:.1}s, root {:.1}s; verified in {:.2}s",
        tm.leaves_s,
        tm.reduce_s,
        tm.root_s,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn print_statement(v: &VerifiedStatement) {
    println!("  query_hash  {}", v.query_hash);
    println!("  range       {}..={}", v.from_block, v.to_block);
    println!("  anchor_hash {}", v.anchor_hash);
    println!("  result_hash {}", v.result_hash);
}

/// Whether `path` holds an EVM proof file (its `format` field), rather than a plonky2 one.
fn is_evm_file(path: &Path) -> Result<bool> {
    #[derive(serde::Deserialize)]
    struct Format {
        format: String,
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let f: Format = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a proof file", path.display()))?;
    Ok(f.format == EVM_PROOF_FORMAT)
}

/// Makes the EVM proof of a proven query (see [`EvmProver`]), writes it to `out`, verifies it
/// from disk with the cached keys, and prints the statement digest, sizes and timings.
///
/// # Errors
/// Proving, setup, cache or I/O errors, or a file that does not verify.
pub async fn prove_evm(envelope: ProofEnvelope, out: &Path, cache_dir: &Path) -> Result<()> {
    let cache_dir = cache_dir.to_owned();
    let out = out.to_owned();
    tokio::task::spawn_blocking(move || {
        let spinner = ProgressBar::new_spinner();
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        spinner.set_message("EVM proof: building the plonky2 chain");
        let root = load_root_verifier(&cache_dir)?;
        let prover = EvmProver::new(&cache_dir, root.clone())?;
        spinner.set_message(format!(
            "EVM proof: proving the chain (rows 2^{:?}), then Groth16 (setup on first use)",
            prover.chain().degree_bits()
        ));
        let (file, tm) = prover.prove(&envelope)?;
        spinner.finish_and_clear();
        file.save(&out)?;
        let t = Instant::now();
        let loaded = EvmProofFile::load(&out)?;
        let verified = verify_evm_file(&root, &prover.verifying_key()?, &loaded)?;
        println!("EVM proof written to {} and verified", out.display());
        print_statement(&verified);
        println!("  digest      {}", file.statement_digest);
        println!("  key         {}", file.verifying_key_hash);
        println!(
            "  proving     chain build {:.1}s, chain {:.1}s, Groth16 setup {:.1}s, key load {:.1}s, \
             Groth16 {:.1}s; verified in {:.2}s",
            tm.chain_build_s,
            tm.chain_prove_s,
            tm.setup_s,
            tm.key_load_s,
            tm.groth16_s,
            t.elapsed().as_secs_f64()
        );
        anyhow::Ok(())
    })
    .await?
}

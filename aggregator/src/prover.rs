//! The MapReduce prover: one map leaf and its wrap per block (`header_map`, or `state_map` for
//! the blocks an `accounts`/`storage` query samples), a balanced tree of reduce nodes over
//! adjacent ranges (each level in parallel), and the root.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use alloy_primitives::{hex, U256};
use annals_circuits::mapreduce::recursion::ChildKind;
use annals_circuits::mapreduce::root::RootStatement;
use annals_circuits::mapreduce::state_map::PointWitness;
use annals_circuits::mapreduce::{circuit_digest_hex, CircuitSet, Proof, RootVerifier};
use annals_query_lang::plan::{encode_result_rows, Program};
use rayon::prelude::*;

use crate::cache;
use crate::envelope::{ProofEnvelope, ResultColumn, VerifiedStatement, PROOF_FORMAT};
use crate::error::{AggregatorError, Result};

/// Progress of one proving run, reported to a callback (the CLI draws bars from it, the HTTP
/// API stores it per query).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgressEvent {
    /// A map leaf (header map + wrap) of `block` is proven; `done` of `total` leaves.
    Leaf {
        /// Block proven.
        block: u64,
        /// Leaves done.
        done: usize,
        /// Leaves in all.
        total: usize,
    },
    /// A reduce node is proven; `done` of `total` reduce nodes.
    Reduce {
        /// Reduce nodes done.
        done: usize,
        /// Reduce nodes in all.
        total: usize,
    },
    /// The root proof is done.
    Root,
}

/// Timings of a proving run, in seconds.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProveTimings {
    /// All leaves (header map + wrap).
    pub leaves_s: f64,
    /// All reduce levels.
    pub reduce_s: f64,
    /// The root.
    pub root_s: f64,
}

/// Proves queries with one circuit set (built or loaded from the cache once).
pub struct Prover {
    circuits: Arc<CircuitSet>,
}

/// A proven query: the proof file and timings.
pub struct ProvenQuery {
    /// The proof file contents.
    pub envelope: ProofEnvelope,
    /// Where the time went.
    pub timings: ProveTimings,
}

impl Prover {
    /// Loads the circuit set from `cache_dir` when a cache entry for this circuit version
    /// exists and its content hash checks out; otherwise builds it and writes the cache.
    ///
    /// # Errors
    /// Cache I/O errors (a corrupt entry is rebuilt, not an error).
    pub fn load_or_build(cache_dir: &Path) -> Result<Self> {
        Ok(Self { circuits: Arc::new(cache::load_or_build(cache_dir)?) })
    }

    /// The circuit set.
    pub fn circuits(&self) -> &CircuitSet {
        &self.circuits
    }

    /// Proves `program` over `headers` (the RLP of every block `from..=to`, in order) and
    /// checks the circuit's result against `expected` (the native evaluator's rows).
    ///
    /// # Errors
    /// [`AggregatorError::Unsupported`] for non-aggregate programs;
    /// [`AggregatorError::BadBlock`] if `headers` is not the range;
    /// [`AggregatorError::Proving`] when a circuit cannot be satisfied (e.g. an overflow);
    /// [`AggregatorError::Verification`] when the proven result differs from `expected`.
    pub fn prove(
        &self,
        sql: &str,
        program: &Program,
        range: (u64, u64),
        headers: &[Vec<u8>],
        expected: &[Vec<Option<U256>>],
        on_progress: &(dyn Fn(ProgressEvent) + Sync),
    ) -> Result<ProvenQuery> {
        self.prove_with_points(
            sql,
            program,
            range,
            headers,
            &BTreeMap::new(),
            expected,
            on_progress,
        )
    }

    /// [`Prover::prove`] for every table the circuits cover: `points` holds, for an
    /// `accounts`/`storage` program, the proof nodes of its point at every block it samples
    /// (`state_map` leaves; the blocks it skips get `header_map` leaves).
    ///
    /// # Errors
    /// As [`Prover::prove`]; [`AggregatorError::BadBlock`] also for a sampled block without
    /// its point's proof.
    #[allow(clippy::too_many_arguments)]
    pub fn prove_with_points(
        &self,
        sql: &str,
        program: &Program,
        range: (u64, u64),
        headers: &[Vec<u8>],
        points: &BTreeMap<u64, PointWitness>,
        expected: &[Vec<Option<U256>>],
        on_progress: &(dyn Fn(ProgressEvent) + Sync),
    ) -> Result<ProvenQuery> {
        let (from, to) = range;
        if let Some(reason) = program.unprovable_reason() {
            return Err(AggregatorError::Unsupported(reason));
        }
        let n = (to - from + 1) as usize;
        if headers.len() != n {
            return Err(AggregatorError::BadBlock {
                block: from,
                reason: format!("expected {n} headers for {from}..={to}, got {}", headers.len()),
            });
        }
        let set = &*self.circuits;
        let mut timings = ProveTimings::default();

        let t = Instant::now();
        if (from..=to).any(|b| CircuitSet::leaf_kind(program, b) == ChildKind::StateWrap) {
            // Built once here (about a minute, not cached on disk), not inside a leaf.
            set.state_leaf
                .circuit()
                .map_err(|source| AggregatorError::Proving { circuit: "state_map", source })?;
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        let leaves: Vec<(Proof, ChildKind)> = headers
            .par_iter()
            .enumerate()
            .map(|(i, rlp)| {
                let block = from + i as u64;
                let kind = CircuitSet::leaf_kind(program, block);
                let (circuit, leaf) = match kind {
                    ChildKind::StateWrap => {
                        let point =
                            points.get(&block).ok_or_else(|| AggregatorError::BadBlock {
                                block,
                                reason: "no account/storage proof for this sampled block".into(),
                            })?;
                        let proof =
                            set.state_leaf.circuit().and_then(|c| c.prove(program, rlp, point));
                        ("state_map", proof)
                    }
                    _ => ("header_map", set.leaf.prove(program, rlp)),
                };
                let leaf = leaf.map_err(|source| AggregatorError::Proving {
                    circuit,
                    source: source.context(format!("block {block}")),
                })?;
                let wrapped = set
                    .shape
                    .wrap_leaf(kind, &leaf)
                    .map_err(|source| AggregatorError::Proving { circuit: "wrap", source })?;
                let d = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                on_progress(ProgressEvent::Leaf { block, done: d, total: n });
                Ok((wrapped, kind))
            })
            .collect::<Result<_>>()?;
        timings.leaves_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let mut level: Vec<(Proof, ChildKind)> = leaves;
        let total_reduce = n - 1;
        let reduced = std::sync::atomic::AtomicUsize::new(0);
        while level.len() > 1 {
            let mut pairs = Vec::new();
            let mut it = level.into_iter();
            let mut carry = None;
            loop {
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => pairs.push((a, b)),
                    (Some(a), None) => {
                        carry = Some(a);
                        break;
                    }
                    _ => break,
                }
            }
            let mut next: Vec<(Proof, ChildKind)> = pairs
                .into_par_iter()
                .map(|((l, l_kind), (r, r_kind))| {
                    let p =
                        set.shape.reduce.prove(&l, l_kind, &r, r_kind).map_err(|source| {
                            AggregatorError::Proving { circuit: "reduce", source }
                        })?;
                    let d = reduced.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    on_progress(ProgressEvent::Reduce { done: d, total: total_reduce });
                    Ok((p, ChildKind::Reduce))
                })
                .collect::<Result<_>>()?;
            next.extend(carry);
            level = next;
        }
        timings.reduce_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let (top, top_kind) = level.pop().expect("at least one block");
        let (root, rows) = set
            .root
            .prove(&top, top_kind, program)
            .map_err(|source| AggregatorError::Proving { circuit: "root", source })?;
        on_progress(ProgressEvent::Root);
        timings.root_s = t.elapsed().as_secs_f64();

        if rows != expected {
            return Err(AggregatorError::Verification(format!(
                "circuit result {rows:?} differs from the native evaluator's {expected:?}"
            )));
        }
        let statement = RootStatement::from_public_inputs(&root.public_inputs);
        let columns: Vec<ResultColumn> = program
            .outputs
            .iter()
            .map(|o| ResultColumn { name: o.name.clone(), value_type: o.value_type })
            .collect();
        let shown = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&columns)
                    .map(|(v, c)| annals_query_lang::format_value(c.value_type, *v))
                    .collect()
            })
            .collect();
        let envelope = ProofEnvelope {
            format: PROOF_FORMAT.into(),
            sql: sql.into(),
            plan: hex::encode_prefixed(program.encode()),
            query_hash: statement.query_hash,
            from_block: statement.from_block,
            to_block: statement.to_block,
            anchor_hash: statement.anchor_hash,
            result_hash: statement.result_hash,
            columns,
            rows: shown,
            rows_abi: hex::encode_prefixed(encode_result_rows(&rows)),
            root_circuit_digest: set.root.digest_hex(),
            proof: hex::encode_prefixed(root.to_bytes()),
        };
        Ok(ProvenQuery { envelope, timings })
    }

    /// Verifies a proof file: the root proof against this circuit set's root verifier data,
    /// its public inputs against the envelope, and the envelope's hashes.
    ///
    /// # Errors
    /// [`AggregatorError::Verification`] naming what does not match.
    pub fn verify(&self, env: &ProofEnvelope) -> Result<VerifiedStatement> {
        verify_with(&self.circuits.root.data.verifier_data(), env)
    }
}

/// Verifies a proof file with only the root verifying key from the cache in `cache_dir`
/// (milliseconds once the cache holds it; see [`cache::load_root_verifier`]).
///
/// # Errors
/// As [`Prover::verify`], and cache errors.
pub fn verify_file(cache_dir: &Path, env: &ProofEnvelope) -> Result<VerifiedStatement> {
    verify_with(&cache::load_root_verifier(cache_dir)?, env)
}

/// Verifies `env` with the root circuit's verifying key (see [`Prover::verify`]).
///
/// # Errors
/// As [`Prover::verify`].
pub fn verify_with(root: &RootVerifier, env: &ProofEnvelope) -> Result<VerifiedStatement> {
    let digest = circuit_digest_hex(&root.verifier_only);
    if env.root_circuit_digest != digest {
        return Err(AggregatorError::Verification(format!(
            "proof is for root circuit {}, this build has {digest}",
            env.root_circuit_digest,
        )));
    }
    let plan = env.plan_bytes()?;
    let program =
        Program::decode(&plan).map_err(|e| AggregatorError::Malformed(format!("plan: {e}")))?;
    // The circuits check what they read (the slot derivation only where a slot is proven);
    // a plan the native evaluator would refuse is refused here too.
    program.validate().map_err(|e| AggregatorError::Malformed(format!("plan: {e}")))?;
    let rows = env.check_hashes(&program)?;
    let proof = Proof::from_bytes(env.proof_bytes()?, &root.common)
        .map_err(|e| AggregatorError::Malformed(format!("proof: {e}")))?;
    root.verify(proof.clone())
        .map_err(|e| AggregatorError::Verification(format!("root proof: {e}")))?;
    let s = RootStatement::from_public_inputs(&proof.public_inputs);
    let claimed = (env.query_hash, env.from_block, env.to_block, env.anchor_hash, env.result_hash);
    let proven = (s.query_hash, s.from_block, s.to_block, s.anchor_hash, s.result_hash);
    if claimed != proven {
        return Err(AggregatorError::Verification(format!(
            "public inputs {proven:?} differ from the file's {claimed:?}"
        )));
    }
    Ok(VerifiedStatement {
        query_hash: s.query_hash,
        from_block: s.from_block,
        to_block: s.to_block,
        anchor_hash: s.anchor_hash,
        result_hash: s.result_hash,
        rows,
    })
}

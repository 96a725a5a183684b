//! The EVM-verifiable proof of a query (issue 6, DESIGN.md §5): the plonky2 root proof of a
//! proof file goes through the statement, shrink and last layers
//! ([`annals_circuits::bn254::chain`]), and the last layer's proof is wrapped in Groth16 over
//! BN254, whose two public inputs are the 128-bit halves of
//! `keccak256(abi.encodePacked(query_hash, uint64(from_block), uint64(to_block), anchor_hash,
//! result_hash))`.
//!
//! # Keys
//! Groth16 needs a setup per circuit version. [`EvmProver::prove`] runs it on first use with
//! the operating system's randomness (`OsRng`; arkworks samples the toxic values inside the
//! setup and drops them when it returns) and caches both keys next to the circuit cache,
//! named by the circuits' source hash, each file checked by the keccak256 of its contents
//! (see [`crate::cache`]) and tied to the last layer's circuit digest. One machine's setup
//! is only as trustworthy as that machine: a deployment needs a multi-party ceremony.

use std::path::{Path, PathBuf};
use std::time::Instant;

use alloy_primitives::{hex, keccak256, B256, U256};
use annals_circuits::bn254::chain::{digest_public_inputs, statement_digest, EvmChain};
use annals_circuits::bn254::groth16::{self, WrapCircuit};
use annals_circuits::bn254::solidity::ProofCalldata;
use annals_circuits::mapreduce::root::RootStatement;
use annals_circuits::mapreduce::{Proof, RootVerifier};
use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::cache::{read_checked, write_checked};
use crate::envelope::{check_format, read_json, write_json, ProofEnvelope, VerifiedStatement};
use crate::error::{AggregatorError, Result};
use crate::prover::verify_with;

/// Format tag of [`EvmProofFile`]s.
pub const EVM_PROOF_FORMAT: &str = "annals-evm-proof/1";

const PK_MAGIC: &[u8; 8] = b"ANNALSGP";
const VK_MAGIC: &[u8; 8] = b"ANNALSGV";

/// An EVM proof file: the plonky2 proof file it was made from, the statement digest, the
/// Groth16 proof and the calldata of the generated verifier's `verifyProof`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmProofFile {
    /// Always [`EVM_PROOF_FORMAT`].
    pub format: String,
    /// The plonky2 proof file (statement, result rows, root proof).
    pub envelope: ProofEnvelope,
    /// `keccak256(abi.encodePacked(query_hash, uint64(from_block), uint64(to_block),
    /// anchor_hash, result_hash))`.
    pub statement_digest: B256,
    /// keccak256 of the verifying key's compressed encoding: names the key, and so the
    /// verifier contract generated from it, that accepts this proof.
    pub verifying_key_hash: B256,
    /// The Groth16 proof, compressed (128 bytes), 0x-hex.
    pub proof: String,
    /// `verifyProof(a, b, c, input)`'s arguments as ten 32-byte words: `a` (2), `b` (4, EIP-197
    /// order), `c` (2), then the two public inputs, the digest's big-endian 32-bit words 0–3
    /// and 4–7 each packed little-endian ([`groth16::packed_public_inputs`]).
    pub calldata: Vec<U256>,
}

impl EvmProofFile {
    /// Writes the file as pretty JSON.
    ///
    /// # Errors
    /// I/O errors, naming the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_json(path, self)
    }

    /// Reads an EVM proof file.
    ///
    /// # Errors
    /// I/O errors, or [`AggregatorError::Malformed`] for bad JSON or another format.
    pub fn load(path: &Path) -> Result<Self> {
        let file: Self = read_json(path)?;
        check_format(&file.format, EVM_PROOF_FORMAT)?;
        Ok(file)
    }
}

/// Timings of an EVM proof, in seconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EvmTimings {
    /// Building the statement, shrink and last layers.
    pub chain_build_s: f64,
    /// Proving them.
    pub chain_prove_s: f64,
    /// Groth16 setup (0 when the keys came from the cache).
    pub setup_s: f64,
    /// Reading and checking the cached proving key (0 after a setup).
    pub key_load_s: f64,
    /// Groth16 proof.
    pub groth16_s: f64,
}

/// Makes EVM proofs for one root circuit.
pub struct EvmProver {
    root: RootVerifier,
    chain: EvmChain,
    cache_dir: PathBuf,
    build_s: f64,
}

impl EvmProver {
    /// Builds the plonky2 chain for `root` (seconds); keys are loaded or set up by
    /// [`Self::prove`].
    ///
    /// # Errors
    /// [`AggregatorError::Unsupported`] if the chain cannot be built for this root.
    pub fn new(cache_dir: &Path, root: RootVerifier) -> Result<Self> {
        let t = Instant::now();
        let chain = EvmChain::build(&root)
            .map_err(|e| AggregatorError::Unsupported(format!("EVM chain: {e}")))?;
        let build_s = t.elapsed().as_secs_f64();
        Ok(Self { root, chain, cache_dir: cache_dir.to_owned(), build_s })
    }

    /// The plonky2 chain.
    pub fn chain(&self) -> &EvmChain {
        &self.chain
    }

    /// The cached verifying key, checked to be for this chain's last-layer circuit.
    ///
    /// # Errors
    /// [`AggregatorError::Cache`] if there is none, it does not check, or it is tagged with
    /// another last-layer circuit.
    pub fn verifying_key(&self) -> Result<VerifyingKey<Bn254>> {
        read_verifying_key(&self.cache_dir, Some(&last_layer_tag(&self.chain)))
    }

    /// The EVM proof of a (verified) plonky2 proof file: the chain over its root proof, the
    /// Groth16 keys (from the cache, or a setup with OS randomness on first use), the Groth16
    /// proof, checked natively before it is returned.
    ///
    /// # Errors
    /// A proof file that does not verify, a proving failure, or cache I/O errors.
    pub fn prove(&self, envelope: &ProofEnvelope) -> Result<(EvmProofFile, EvmTimings)> {
        let mut timings = EvmTimings { chain_build_s: self.build_s, ..EvmTimings::default() };
        let verified = verify_with(&self.root, envelope)?;
        let root_proof = Proof::from_bytes(envelope.proof_bytes()?, &self.root.common)
            .map_err(|e| AggregatorError::Malformed(format!("proof: {e}")))?;
        let t = Instant::now();
        let last = self
            .chain
            .prove(&root_proof)
            .map_err(|source| AggregatorError::Proving { circuit: "EVM chain", source })?;
        timings.chain_prove_s = t.elapsed().as_secs_f64();
        let data = self.chain.last();
        let circuit =
            WrapCircuit { proof: &last, verifier: &data.verifier_only, common: &data.common };
        let t = Instant::now();
        let (pk, fresh) = self.load_or_setup(circuit)?;
        if fresh {
            timings.setup_s = t.elapsed().as_secs_f64();
        } else {
            timings.key_load_s = t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        let proof = groth16::prove(&pk, circuit, &mut rand::rngs::OsRng)
            .map_err(|e| AggregatorError::Proving { circuit: "Groth16 wrap", source: e.into() })?;
        timings.groth16_s = t.elapsed().as_secs_f64();
        let statement = statement_of(&verified);
        let words = digest_public_inputs(&statement);
        let inputs = groth16::packed_public_inputs(&words).expect("digest words are 32-bit");
        if !groth16::verify(&pk.vk, &words, &proof).unwrap_or(false) {
            return Err(AggregatorError::Verification(
                "the fresh Groth16 proof does not verify under its own key for the statement's \
                 digest"
                    .into(),
            ));
        }
        let file = EvmProofFile {
            format: EVM_PROOF_FORMAT.into(),
            envelope: envelope.clone(),
            statement_digest: statement_digest(&statement),
            verifying_key_hash: keccak256(groth16::verifying_key_to_bytes(&pk.vk)),
            proof: hex::encode_prefixed(groth16::proof_to_bytes(&proof)),
            calldata: ProofCalldata::new(&proof, &inputs).abi_words(),
        };
        Ok((file, timings))
    }

    /// The proving key from the cache, or a fresh setup (then cached). `true` if fresh.
    fn load_or_setup(&self, circuit: WrapCircuit<'_>) -> Result<(ProvingKey<Bn254>, bool)> {
        let tag = last_layer_tag(&self.chain);
        let pk_path = pk_path(&self.cache_dir);
        if pk_path.exists() {
            match read_checked(&pk_path, PK_MAGIC).and_then(|p| {
                let key = strip_tag(&pk_path, &p, &tag)?;
                groth16::proving_key_from_trusted_bytes(key).map_err(|e| cache_err(&pk_path, e))
            }) {
                Ok(pk) => {
                    tracing::info!(path = %pk_path.display(), "loaded the Groth16 proving key");
                    // A missing, damaged or other-circuit verifying key is rewritten from
                    // the proving key's.
                    if self.verifying_key().is_err() {
                        let bytes = groth16::verifying_key_to_bytes(&pk.vk);
                        let payload = [tag.as_slice(), &bytes].concat();
                        write_checked(&vk_path(&self.cache_dir), VK_MAGIC, &payload)?;
                    }
                    return Ok((pk, false));
                }
                Err(e) => tracing::warn!("running the Groth16 setup again: {e}"),
            }
        }
        tracing::info!("Groth16 setup with OS randomness (once per circuit version; minutes)");
        let (pk, vk) = groth16::setup(circuit, &mut rand::rngs::OsRng)
            .map_err(|e| AggregatorError::Proving { circuit: "Groth16 setup", source: e.into() })?;
        let tagged = |bytes: Vec<u8>| [tag.as_slice(), &bytes].concat();
        write_checked(&pk_path, PK_MAGIC, &tagged(groth16::proving_key_to_bytes(&pk)))?;
        write_checked(
            &vk_path(&self.cache_dir),
            VK_MAGIC,
            &tagged(groth16::verifying_key_to_bytes(&vk)),
        )?;
        Ok((pk, true))
    }
}

/// The §1 statement of a verified proof file.
fn statement_of(v: &VerifiedStatement) -> RootStatement {
    RootStatement {
        query_hash: v.query_hash,
        from_block: v.from_block,
        to_block: v.to_block,
        anchor_hash: v.anchor_hash,
        result_hash: v.result_hash,
    }
}

fn cache_err(path: &Path, reason: impl ToString) -> AggregatorError {
    AggregatorError::Cache { path: path.to_owned(), reason: reason.to_string() }
}

/// Path of the cached Groth16 proving key of this circuit version.
pub fn pk_path(dir: &Path) -> PathBuf {
    dir.join(format!("groth16-pk-{}.bin", annals_circuits::CIRCUITS_SOURCE_HASH))
}

/// Path of the cached Groth16 verifying key of this circuit version.
pub fn vk_path(dir: &Path) -> PathBuf {
    dir.join(format!("groth16-vk-{}.bin", annals_circuits::CIRCUITS_SOURCE_HASH))
}

/// The last layer's circuit digest (its 32-byte encoding, plonky2's `GenericHashOut::to_bytes`):
/// the first 32 bytes of each key entry, so a key is never used for another last-layer circuit.
fn last_layer_tag(chain: &EvmChain) -> [u8; 32] {
    use plonky2::plonk::config::GenericHashOut;
    let bytes = chain.last().verifier_only.circuit_digest.to_bytes();
    bytes.try_into().expect("a BN254 digest is 32 bytes")
}

fn strip_tag<'a>(path: &Path, payload: &'a [u8], tag: &[u8; 32]) -> Result<&'a [u8]> {
    match payload.split_at_checked(32) {
        Some((t, key)) if t == tag => Ok(key),
        _ => Err(cache_err(path, "the key is for another last-layer circuit")),
    }
}

/// The verifying key of this circuit version from the cache in `cache_dir` (written by the
/// setup of the first EVM proof).
///
/// The entry is named by the circuits' source hash and checked by the keccak256 of its
/// contents; its last-layer tag is skipped here, because checking it needs the chain (a minute
/// to build). [`EvmProver::verifying_key`] checks the tag too.
///
/// # Errors
/// [`AggregatorError::Cache`] if there is none or it does not check.
pub fn load_verifying_key(cache_dir: &Path) -> Result<VerifyingKey<Bn254>> {
    read_verifying_key(cache_dir, None)
}

fn read_verifying_key(cache_dir: &Path, tag: Option<&[u8; 32]>) -> Result<VerifyingKey<Bn254>> {
    let path = vk_path(cache_dir);
    if !path.exists() {
        return Err(cache_err(
            &path,
            "no Groth16 verifying key for this circuit version (the first \
             `annals query --prove --evm` runs the setup and writes it)",
        ));
    }
    let payload = read_checked(&path, VK_MAGIC)?;
    let key = match tag {
        Some(tag) => strip_tag(&path, &payload, tag)?,
        None => payload.get(32..).ok_or_else(|| cache_err(&path, "truncated"))?,
    };
    groth16::verifying_key_from_bytes(key).map_err(|e| cache_err(&path, e))
}

/// Verifies an EVM proof file: the plonky2 proof file inside it under the root verifying key,
/// then [`check_wrap`] for the statement it proves.
///
/// # Errors
/// [`AggregatorError::Verification`] naming what does not match, or a malformed file.
pub fn verify_evm_file(
    root: &RootVerifier,
    vk: &VerifyingKey<Bn254>,
    file: &EvmProofFile,
) -> Result<VerifiedStatement> {
    let verified = verify_with(root, &file.envelope)?;
    check_wrap(vk, file, &statement_of(&verified))?;
    Ok(verified)
}

/// The Groth16 part of an EVM proof file for `statement`: the file's digest is
/// [`statement_digest`] of it, the file names `vk`, the proof verifies under `vk` for the
/// digest, and the calldata words are the proof's.
///
/// # Errors
/// [`AggregatorError::Verification`] naming what does not match, [`AggregatorError::Malformed`]
/// for a proof that does not decode.
pub fn check_wrap(
    vk: &VerifyingKey<Bn254>,
    file: &EvmProofFile,
    statement: &RootStatement,
) -> Result<()> {
    let bad = |m: String| Err(AggregatorError::Verification(m));
    let digest = statement_digest(statement);
    if digest != file.statement_digest {
        return bad(format!(
            "statement digest {digest} differs from the file's {}",
            file.statement_digest
        ));
    }
    let vk_hash = keccak256(groth16::verifying_key_to_bytes(vk));
    if vk_hash != file.verifying_key_hash {
        return bad(format!(
            "the proof is for verifying key {}, this one is {vk_hash}",
            file.verifying_key_hash
        ));
    }
    let bytes = hex::decode(&file.proof)
        .map_err(|e| AggregatorError::Malformed(format!("Groth16 proof: {e}")))?;
    let proof = groth16::proof_from_bytes(&bytes)
        .map_err(|e| AggregatorError::Malformed(format!("Groth16 proof: {e}")))?;
    let words = digest_public_inputs(statement);
    let ok = groth16::verify(vk, &words, &proof)
        .map_err(|e| AggregatorError::Verification(format!("Groth16: {e}")))?;
    if !ok {
        return bad("the Groth16 proof does not verify for this statement".into());
    }
    let inputs = groth16::packed_public_inputs(&words).expect("digest words are 32-bit");
    if ProofCalldata::new(&proof, &inputs).abi_words() != file.calldata {
        return bad("the calldata words are not the proof's".into());
    }
    Ok(())
}

/// The §1 statement a proof file claims, read from its fields (not verified).
pub fn claimed_statement(env: &ProofEnvelope) -> RootStatement {
    RootStatement {
        query_hash: env.query_hash,
        from_block: env.from_block,
        to_block: env.to_block,
        anchor_hash: env.anchor_hash,
        result_hash: env.result_hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_entries_name_their_last_layer_circuit() {
        let path = Path::new("groth16-pk.bin");
        let tag = [7u8; 32];
        let payload = [tag.as_slice(), b"key"].concat();
        assert_eq!(strip_tag(path, &payload, &tag).unwrap(), b"key");
        let err = strip_tag(path, &payload, &[8u8; 32]).unwrap_err().to_string();
        assert!(err.contains("another last-layer circuit"), "{err}");
        assert!(strip_tag(path, &payload[..31], &tag).is_err(), "a truncated entry");
    }

    #[test]
    fn a_cached_verifying_key_of_another_last_layer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let vk = VerifyingKey::<Bn254>::default();
        let tag = [7u8; 32];
        let payload = [tag.as_slice(), &groth16::verifying_key_to_bytes(&vk)].concat();
        write_checked(&vk_path(dir.path()), VK_MAGIC, &payload).unwrap();
        assert_eq!(read_verifying_key(dir.path(), Some(&tag)).unwrap(), vk);
        assert_eq!(load_verifying_key(dir.path()).unwrap(), vk, "no tag check without the chain");
        let err = read_verifying_key(dir.path(), Some(&[8u8; 32])).unwrap_err().to_string();
        assert!(err.contains("another last-layer circuit"), "{err}");
    }

    #[test]
    fn a_missing_verifying_key_is_reported_with_what_to_run() {
        let dir = std::env::temp_dir().join(format!("annals-evm-vk-{}", std::process::id()));
        let err = load_verifying_key(&dir).unwrap_err().to_string();
        assert!(err.contains("annals query --prove --evm"), "{err}");
    }
}

//! Groth16 over BN254 (ark-groth16) of the R1CS verifier (issue 6, step 4): a proof that a
//! plonky2 proof under [`PoseidonBn254GoldilocksConfig`] verifies, with the plonky2 proof's
//! public inputs as the Groth16 statement.
//!
//! # Statement
//! The plonky2 public inputs must be 32-bit words (the last layer exposes the keccak256 of the
//! query statement as eight of them). They are packed four per `Fr`, little-endian
//! (`w_0 + 2^32 w_1 + 2^64 w_2 + 2^96 w_3`), so eight words are two Groth16 public inputs,
//! the two 128-bit halves of the digest. The R1CS decomposes each packed input into 32-bit
//! words (boolean bits, so the decomposition is unique), feeds them to
//! [`verify_proof_var`] as the public inputs, and checks the plonky2 proof.
//!
//! # Setup
//! [`setup`] runs Groth16's circuit-specific setup with the caller's randomness: production
//! must pass the operating system's generator and discard it (a single party's setup is only
//! as trustworthy as that party; a multi-party ceremony is what a deployment needs).
//! [`insecure_setup_from_seed`] is deterministic and for tests and committed fixtures only:
//! anyone who knows the seed can forge proofs.

use super::goldilocks::GoldilocksVar;
use super::plonk_var::verify_proof_var;
use super::proof_var::ProofVar;
use super::PoseidonBn254GoldilocksConfig;
use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, Proof, ProvingKey, VerifyingKey};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError};
use ark_snark::SNARK;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::PrimeField64;
use plonky2::plonk::circuit_data::{CommonCircuitData, VerifierOnlyCircuitData};
use plonky2::plonk::proof::ProofWithPublicInputs;
use rand::{CryptoRng, RngCore, SeedableRng};

type F = GoldilocksField;
type C = PoseidonBn254GoldilocksConfig;

/// Words packed into one Groth16 public input.
pub const WORDS_PER_INPUT: usize = 4;

/// Errors of the wrap.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// A plonky2 public input is not a 32-bit word.
    #[error("public input {index} is {value}, not a 32-bit word")]
    PublicInputTooLarge {
        /// Its position.
        index: usize,
        /// Its value.
        value: u64,
    },
    /// The constraint system or Groth16 failed.
    #[error("Groth16: {0}")]
    Synthesis(#[from] SynthesisError),
    /// A key or proof does not deserialize.
    #[error("Groth16 encoding: {0}")]
    Encoding(#[from] SerializationError),
}

/// The Groth16 statement of plonky2 public inputs: four 32-bit words per `Fr`, little-endian.
///
/// # Errors
/// [`WrapError::PublicInputTooLarge`] for a word of 32 bits or more.
pub fn packed_public_inputs(public_inputs: &[F]) -> Result<Vec<Fr>, WrapError> {
    public_inputs
        .chunks(WORDS_PER_INPUT)
        .enumerate()
        .map(|(chunk, words)| {
            let mut packed = 0u128;
            for (i, w) in words.iter().enumerate() {
                let value = w.to_canonical_u64();
                if value >> 32 != 0 {
                    return Err(WrapError::PublicInputTooLarge {
                        index: chunk * WORDS_PER_INPUT + i,
                        value,
                    });
                }
                packed |= u128::from(value) << (32 * i);
            }
            Ok(Fr::from(packed))
        })
        .collect()
}

/// The R1CS of "this plonky2 proof verifies": the verifier data and common data are constants;
/// the proof (values ignored in setup, where only its shape matters) is the witness.
#[derive(Clone, Copy, Debug)]
pub struct WrapCircuit<'a> {
    /// The proof, or in setup any proof of the same circuit.
    pub proof: &'a ProofWithPublicInputs<F, C, 2>,
    /// The circuit's verifier data.
    pub verifier: &'a VerifierOnlyCircuitData<C, 2>,
    /// The circuit's common data.
    pub common: &'a CommonCircuitData<F, 2>,
}

impl ConstraintSynthesizer<Fr> for WrapCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let pis = &self.proof.public_inputs;
        assert_eq!(pis.len(), self.common.num_public_inputs, "the proof's public inputs");
        let mut words = Vec::with_capacity(pis.len());
        for chunk in pis.chunks(WORDS_PER_INPUT) {
            let packed = FpVar::new_input(cs.clone(), || {
                packed_public_inputs(chunk)
                    .map(|p| p[0])
                    .map_err(|_| SynthesisError::AssignmentMissing)
            })?;
            let mut recomposed = FpVar::Constant(Fr::from(0u64));
            for (i, w) in chunk.iter().enumerate() {
                let value = w.to_canonical_u64();
                let bits = (0..32)
                    .map(|j| Boolean::new_witness(cs.clone(), || Ok((value >> j) & 1 == 1)))
                    .collect::<Result<Vec<_>, _>>()?;
                let word = GoldilocksVar::from_bits_le(&bits)?;
                recomposed += word.fr() * Fr::from(1u128 << (32 * i));
                words.push(word);
            }
            recomposed.enforce_equal(&packed)?;
        }
        let proof = ProofVar::new_witness(&cs, &self.proof.proof, self.common)?;
        verify_proof_var(&proof, &words, self.verifier, self.common)
    }
}

/// Runs `f` (constraint synthesis) with no `tracing` subscriber on this thread.
///
/// ark-relations stores `Span::current()` with every constraint, and ark-r1cs-std instruments
/// its gadgets with INFO spans (target `r1cs`). Under an application's subscriber (the CLI's
/// logs at INFO) every span stays alive with its formatted fields, one per constraint: the
/// wrap's setup went past 20 GB that way in the CLI, and peaked at 13.2 GB for the whole run
/// with this guard. Synthesis runs on the calling thread, so a thread-local default is enough.
pub(crate) fn without_tracing<T>(f: impl FnOnce() -> T) -> T {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), f)
}

/// Groth16's circuit-specific setup for `circuit`'s plonky2 circuit, with `rng` as the toxic
/// randomness (pass the OS generator and drop it; see the module docs).
///
/// # Errors
/// [`WrapError::Synthesis`] if the constraint system fails.
pub fn setup<R: RngCore + CryptoRng>(
    circuit: WrapCircuit<'_>,
    rng: &mut R,
) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>), WrapError> {
    Ok(without_tracing(|| Groth16::<Bn254>::circuit_specific_setup(circuit, rng))?)
}

/// **Insecure**: a setup whose randomness is derived from `seed` (`rand`'s `StdRng`), for tests and
/// committed fixtures only. Whoever knows the seed can forge proofs for these keys.
///
/// # Errors
/// As [`setup`].
pub fn insecure_setup_from_seed(
    circuit: WrapCircuit<'_>,
    seed: u64,
) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>), WrapError> {
    setup(circuit, &mut rand::rngs::StdRng::seed_from_u64(seed))
}

/// A Groth16 proof that `circuit.proof` verifies.
///
/// # Errors
/// [`WrapError::PublicInputTooLarge`] if the proof's public inputs are not 32-bit words,
/// [`WrapError::Synthesis`] otherwise.
pub fn prove<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    circuit: WrapCircuit<'_>,
    rng: &mut R,
) -> Result<Proof<Bn254>, WrapError> {
    packed_public_inputs(&circuit.proof.public_inputs)?;
    Ok(without_tracing(|| Groth16::<Bn254>::prove(pk, circuit, rng))?)
}

/// Checks a Groth16 proof for the plonky2 public inputs `public_inputs`.
///
/// # Errors
/// As [`packed_public_inputs`], or [`WrapError::Synthesis`] for a malformed key.
pub fn verify(
    vk: &VerifyingKey<Bn254>,
    public_inputs: &[F],
    proof: &Proof<Bn254>,
) -> Result<bool, WrapError> {
    let inputs = packed_public_inputs(public_inputs)?;
    Ok(Groth16::<Bn254>::verify(vk, &inputs, proof)?)
}

/// A proving key as bytes: arkworks' uncompressed canonical encoding (points as affine
/// coordinates, so loading does no square roots). Hundreds of MB for the wrap's circuit.
pub fn proving_key_to_bytes(pk: &ProvingKey<Bn254>) -> Vec<u8> {
    let mut out = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut out).expect("writing to a Vec does not fail");
    out
}

/// Inverse of [`proving_key_to_bytes`]. Points are not re-checked to be on the curve and in the
/// subgroup (minutes for a large key): only pass bytes whose integrity is checked otherwise,
/// e.g. by the content hash of the key cache.
///
/// # Errors
/// [`WrapError::Encoding`] for bytes that are not a proving key.
pub fn proving_key_from_trusted_bytes(bytes: &[u8]) -> Result<ProvingKey<Bn254>, WrapError> {
    Ok(ProvingKey::deserialize_uncompressed_unchecked(bytes)?)
}

/// A verifying key as bytes (compressed canonical encoding; 296 bytes for two public inputs).
pub fn verifying_key_to_bytes(vk: &VerifyingKey<Bn254>) -> Vec<u8> {
    let mut out = Vec::new();
    vk.serialize_compressed(&mut out).expect("writing to a Vec does not fail");
    out
}

/// Inverse of [`verifying_key_to_bytes`], with every point checked (on the curve, in the
/// prime-order subgroup).
///
/// # Errors
/// [`WrapError::Encoding`] for bytes that are not a valid verifying key.
pub fn verifying_key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey<Bn254>, WrapError> {
    Ok(VerifyingKey::deserialize_compressed(bytes)?)
}

/// A Groth16 proof as bytes (compressed canonical encoding, 128 bytes).
pub fn proof_to_bytes(proof: &Proof<Bn254>) -> Vec<u8> {
    let mut out = Vec::new();
    proof.serialize_compressed(&mut out).expect("writing to a Vec does not fail");
    out
}

/// Inverse of [`proof_to_bytes`], with every point checked.
///
/// # Errors
/// [`WrapError::Encoding`] for bytes that are not a valid proof.
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof<Bn254>, WrapError> {
    Ok(Proof::deserialize_compressed(bytes)?)
}

/// The wrap's test circuit, shared by these tests and the committed Solidity fixture.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use plonky2::field::types::Field;
    use plonky2::iop::target::Target;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

    /// The seed of the committed fixture's **insecure** setup.
    pub(crate) const FIXTURE_SEED: u64 = 7;

    /// A small circuit with two 32-bit public inputs (`x`, `x^5`) under the standard recursion
    /// config with two FRI queries (a test shape: 22 conjectured bits), and its input target.
    pub(crate) fn circuit() -> (CircuitData<F, C, 2>, Target) {
        let mut config = CircuitConfig::standard_recursion_config();
        config.security_bits = 22;
        config.fri_config.num_query_rounds = 2;
        let mut b = CircuitBuilder::<F, 2>::new(config);
        let t = b.add_virtual_target();
        let y = b.exp_u64(t, 5);
        b.register_public_input(t);
        b.register_public_input(y);
        (b.build::<C>(), t)
    }

    pub(crate) fn prove_plonky2(
        data: &CircuitData<F, C, 2>,
        t: Target,
        x: u64,
    ) -> ProofWithPublicInputs<F, C, 2> {
        let mut pw = PartialWitness::new();
        pw.set_target(t, F::from_canonical_u64(x)).unwrap();
        data.prove(pw).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{circuit, prove_plonky2};
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;
    use plonky2::field::types::Field;

    #[test]
    fn packing_is_little_endian_and_refuses_large_words() {
        let words: Vec<F> = [1u64, 2, 3, 4, 5].iter().map(|&w| F::from_canonical_u64(w)).collect();
        let packed = packed_public_inputs(&words).unwrap();
        let expected = 1u128 | (2 << 32) | (3 << 64) | (4 << 96);
        assert_eq!(packed, vec![Fr::from(expected), Fr::from(5u64)]);
        let err = packed_public_inputs(&[F::ONE, F::from_canonical_u64(1 << 32)]).unwrap_err();
        assert!(matches!(err, WrapError::PublicInputTooLarge { index: 1, .. }), "{err}");
    }

    /// The whole wrap on a real plonky2 proof: setup, proof, verification; the same Groth16
    /// proof is rejected for other public inputs, a changed proof point is rejected, and a
    /// wrapped proof of another statement does not verify for this one.
    #[test]
    fn a_real_proof_is_wrapped_and_verified() {
        let (data, t) = circuit();
        let proof = prove_plonky2(&data, t, 3);
        assert_eq!(proof.public_inputs, [F::from_canonical_u64(3), F::from_canonical_u64(243)]);
        let circuit =
            WrapCircuit { proof: &proof, verifier: &data.verifier_only, common: &data.common };
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone()).unwrap();
        assert!(cs.is_satisfied().unwrap());
        eprintln!("wrap circuit: {} constraints", cs.num_constraints());

        let clock = std::time::Instant::now();
        let (pk, vk) = insecure_setup_from_seed(circuit, super::testing::FIXTURE_SEED).unwrap();
        eprintln!("setup: {:?}", clock.elapsed());
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let clock = std::time::Instant::now();
        let g = prove(&pk, circuit, &mut rng).unwrap();
        eprintln!("prove: {:?}", clock.elapsed());
        assert!(verify(&vk, &proof.public_inputs, &g).unwrap());

        let other = [F::from_canonical_u64(3), F::from_canonical_u64(244)];
        assert!(!verify(&vk, &other, &g).unwrap(), "another statement");
        let mut bad = g.clone();
        bad.a = -bad.a;
        assert!(!verify(&vk, &proof.public_inputs, &bad).unwrap(), "a changed proof point");

        // Another statement's proof under the same keys verifies for it, not for this one.
        let proof_2 = prove_plonky2(&data, t, 2);
        let c2 =
            WrapCircuit { proof: &proof_2, verifier: &data.verifier_only, common: &data.common };
        let g2 = prove(&pk, c2, &mut rng).unwrap();
        assert!(verify(&vk, &proof_2.public_inputs, &g2).unwrap());
        assert!(!verify(&vk, &proof.public_inputs, &g2).unwrap(), "another query's proof");
    }
}

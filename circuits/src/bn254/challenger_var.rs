//! plonky2's Fiat–Shamir challenger (`plonky2::iop::challenger::Challenger` with
//! [`PoseidonBn254Hash`](super::PoseidonBn254Hash)) in an R1CS over BN254 `Fr`: the same
//! overwrite-mode duplex sponge (observations fill the 8 rate elements, a full buffer or a
//! challenge request permutes, challenges are popped from the end of the squeezed rate), over
//! [`goldilocks_permutation_var`]. A BN254 digest is observed as its eight 32-bit limbs, taken
//! from the digest's canonical bit decomposition, as `Bn254HashOut::to_vec` does natively.
//!
//! Cost (measured by the tests): each duplexing is one challenger permutation (3,664
//! constraints), and a digest fills a whole rate, so observing caps dominates: replaying a
//! standard-config proof's transcript up to `zeta` (three caps of 16 digests) takes 210,525
//! constraints. The wrap's last layer should therefore use cap height 0 (one digest per cap;
//! Merkle paths four levels longer, about 264 constraints per level).

use super::goldilocks::{GoldilocksExtVar, GoldilocksVar};
use super::poseidon_var::goldilocks_permutation_var;
use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::convert::ToBitsGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::r1cs::SynthesisError;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;

type Result<T> = core::result::Result<T, SynthesisError>;

/// Rate of plonky2's challenger sponge (Goldilocks elements).
const RATE: usize = 8;

/// The challenger's state: sponge, pending observations, unread squeezed elements.
#[derive(Clone, Debug)]
pub struct ChallengerVar {
    state: [GoldilocksVar; 12],
    input: Vec<GoldilocksVar>,
    output: Vec<GoldilocksVar>,
}

impl Default for ChallengerVar {
    fn default() -> Self {
        Self::new()
    }
}

impl ChallengerVar {
    /// A fresh challenger (zero state).
    pub fn new() -> Self {
        Self {
            state: core::array::from_fn(|_| GoldilocksVar::constant(GoldilocksField::ZERO)),
            input: Vec::with_capacity(RATE),
            output: Vec::with_capacity(RATE),
        }
    }

    /// Observes one element.
    pub fn observe_element(&mut self, e: &GoldilocksVar) -> Result<()> {
        self.output.clear();
        self.input.push(e.clone());
        if self.input.len() == RATE {
            self.duplexing()?;
        }
        Ok(())
    }

    /// Observes elements in order.
    pub fn observe_elements(&mut self, es: &[GoldilocksVar]) -> Result<()> {
        es.iter().try_for_each(|e| self.observe_element(e))
    }

    /// Observes an extension element (its two coordinates).
    pub fn observe_extension_element(&mut self, e: &GoldilocksExtVar) -> Result<()> {
        self.observe_elements(&e.0)
    }

    /// Observes a BN254 digest (a Merkle cap entry, the circuit digest) as eight 32-bit limbs of
    /// its canonical little-endian encoding.
    pub fn observe_bn254_hash(&mut self, digest: &FpVar<Fr>) -> Result<()> {
        let mut bits = digest.to_bits_le()?;
        bits.resize(256, Boolean::FALSE);
        for limb in bits.chunks(32) {
            let limb = GoldilocksVar::from_bits_le(limb)?;
            self.observe_element(&limb)?;
        }
        Ok(())
    }

    /// Observes a Merkle cap.
    pub fn observe_cap(&mut self, cap: &[FpVar<Fr>]) -> Result<()> {
        cap.iter().try_for_each(|h| self.observe_bn254_hash(h))
    }

    /// The next challenge.
    pub fn get_challenge(&mut self) -> Result<GoldilocksVar> {
        if !self.input.is_empty() || self.output.is_empty() {
            self.duplexing()?;
        }
        Ok(self.output.pop().unwrap_or_else(|| unreachable!("squeezed {RATE} elements")))
    }

    /// The next `n` challenges.
    pub fn get_n_challenges(&mut self, n: usize) -> Result<Vec<GoldilocksVar>> {
        (0..n).map(|_| self.get_challenge()).collect()
    }

    /// The next extension-field challenge (two base challenges).
    pub fn get_extension_challenge(&mut self) -> Result<GoldilocksExtVar> {
        Ok(GoldilocksExtVar([self.get_challenge()?, self.get_challenge()?]))
    }

    fn duplexing(&mut self) -> Result<()> {
        for (i, e) in self.input.drain(..).enumerate() {
            self.state[i] = e;
        }
        self.state = goldilocks_permutation_var(&self.state)?;
        self.output.clear();
        self.output.extend_from_slice(&self.state[..RATE]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::proof_var::fri_params_elements;
    use super::super::{Bn254HashOut, PoseidonBn254GoldilocksConfig, PoseidonBn254Hash};
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::fields::FieldVar;
    use ark_relations::r1cs::{ConstraintSystem, ConstraintSystemRef};
    use plonky2::field::extension::quadratic::QuadraticExtension;
    use plonky2::field::types::Sample;
    use plonky2::iop::challenger::Challenger;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::config::GenericHashOut;

    type F = GoldilocksField;
    type E = QuadraticExtension<F>;

    fn var(cs: &ConstraintSystemRef<Fr>, x: F) -> GoldilocksVar {
        GoldilocksVar::new_witness(cs, Some(x)).unwrap()
    }

    fn digest(cs: &ConstraintSystemRef<Fr>, h: &Bn254HashOut) -> FpVar<Fr> {
        FpVar::new_witness(cs.clone(), || Ok(h.to_fr())).unwrap()
    }

    /// A mixed sequence (elements, a digest, an extension element, challenges in between,
    /// more than a rate of observations) gives the native challenger's challenges.
    #[test]
    fn challenges_equal_the_native_challenger() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut native = Challenger::<F, PoseidonBn254Hash>::new();
        let mut r1cs = ChallengerVar::new();
        let elems: Vec<F> = (0..11).map(|_| F::rand()).collect();
        native.observe_elements(&elems);
        for e in &elems {
            r1cs.observe_element(&var(&cs, *e)).unwrap();
        }
        let h = <PoseidonBn254Hash as plonky2::plonk::config::Hasher<F>>::hash_no_pad(&elems);
        native.observe_hash::<PoseidonBn254Hash>(h);
        r1cs.observe_bn254_hash(&digest(&cs, &h)).unwrap();
        let mut expected = native.get_n_challenges(3);
        let mut got: Vec<F> =
            r1cs.get_n_challenges(3).unwrap().iter().map(|c| c.value().unwrap()).collect();
        let x = E::rand();
        native.observe_extension_element::<2>(&x);
        r1cs.observe_extension_element(&GoldilocksExtVar::new_witness(&cs, Some(x)).unwrap())
            .unwrap();
        let z = native.get_extension_challenge::<2>();
        expected.extend(z.0);
        got.extend(r1cs.get_extension_challenge().unwrap().value().unwrap().0);
        expected.extend(native.get_n_challenges(10));
        got.extend(r1cs.get_n_challenges(10).unwrap().iter().map(|c| c.value().unwrap()));
        assert_eq!(got, expected);
        assert!(cs.is_satisfied().unwrap());
        eprintln!("challenger sequence: {} constraints", cs.num_constraints());
    }

    /// The transcript of a real proof under the BN254 config, replayed in R1CS up to `zeta`:
    /// FRI parameters and circuit digest (constants of the verifier), the public-inputs hash
    /// (Goldilocks Poseidon, witnessed here), the wires, `Z`/partial-products and quotient caps.
    /// `betas`, `gammas`, `alphas` and `zeta` equal plonky2's; a tampered cap changes them.
    #[test]
    fn a_real_proof_transcript_replays_up_to_zeta() {
        let mut b = CircuitBuilder::<F, 2>::new(CircuitConfig::standard_recursion_config());
        let x = b.add_virtual_target();
        let y = b.exp_u64(x, 5);
        b.register_public_input(y);
        let data = b.build::<PoseidonBn254GoldilocksConfig>();
        let mut pw = PartialWitness::new();
        pw.set_target(x, F::from_canonical_u64(3)).unwrap();
        let proof = data.prove(pw).unwrap();
        let pis_hash = proof.get_public_inputs_hash();
        let ch = proof
            .get_challenges(pis_hash, &data.verifier_only.circuit_digest, &data.common)
            .unwrap();
        let n = data.common.config.num_challenges;

        let replay = |wires_cap: &[Bn254HashOut]| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut c = ChallengerVar::new();
            // The FRI parameters, constants of the verifier.
            for e in fri_params_elements(&data.common.fri_params) {
                c.observe_element(&GoldilocksVar::constant(e)).unwrap();
            }
            let d = data.verifier_only.circuit_digest;
            c.observe_bn254_hash(&FpVar::constant(d.to_fr())).unwrap();
            for e in pis_hash.elements {
                c.observe_element(&var(&cs, e)).unwrap();
            }
            let cap = |h: &[Bn254HashOut]| h.iter().map(|h| digest(&cs, h)).collect::<Vec<_>>();
            c.observe_cap(&cap(wires_cap)).unwrap();
            let betas = c.get_n_challenges(n).unwrap();
            let gammas = c.get_n_challenges(n).unwrap();
            c.observe_cap(&cap(&proof.proof.plonk_zs_partial_products_cap.0)).unwrap();
            let alphas = c.get_n_challenges(n).unwrap();
            c.observe_cap(&cap(&proof.proof.quotient_polys_cap.0)).unwrap();
            let zeta = c.get_extension_challenge().unwrap();
            assert!(cs.is_satisfied().unwrap());
            let vals = |v: Vec<GoldilocksVar>| v.iter().map(|x| x.value().unwrap()).collect();
            let out: (Vec<F>, Vec<F>, Vec<F>, E) =
                (vals(betas), vals(gammas), vals(alphas), zeta.value().unwrap());
            (out, cs.num_constraints())
        };
        let (got, constraints) = replay(&proof.proof.wires_cap.0);
        eprintln!("transcript up to zeta: {constraints} constraints");
        assert_eq!(got, (ch.plonk_betas, ch.plonk_gammas, ch.plonk_alphas, ch.plonk_zeta));
        let mut cap = proof.proof.wires_cap.0.clone();
        cap[0] = Bn254HashOut::from_bytes(&[1u8; 32]);
        assert_ne!(replay(&cap).0 .0, got.0, "a tampered wires cap");
    }
}

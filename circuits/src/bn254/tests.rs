//! BN254 Poseidon against arkworks (native sponge and R1CS gadget, same vectors), and plonky2
//! proofs under [`PoseidonBn254GoldilocksConfig`]: a proof verifies, tampered proofs do not,
//! and a Goldilocks proof verified recursively is re-proven under the BN254 config (the shape
//! of the wrap's last layer).

use super::poseidon::{config, pack, permute, sponge_hash, WIDTH};
use super::*;
use ark_bn254::Fr;
use ark_crypto_primitives::sponge::constraints::CryptographicSpongeVar;
use ark_crypto_primitives::sponge::poseidon::constraints::PoseidonSpongeVar;
use ark_crypto_primitives::sponge::poseidon::PoseidonSponge;
use ark_crypto_primitives::sponge::CryptographicSponge;
use ark_ff::{UniformRand, Zero};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::ConstraintSystem;
use plonky2::field::types::{Field, Sample};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::{GenericHashOut, Hasher, PoseidonGoldilocksConfig};
use plonky2::plonk::proof::ProofWithPublicInputs;
use rand::SeedableRng;

type F = GoldilocksField;
type C = PoseidonBn254GoldilocksConfig;

/// Vectors of every length class around the rate (0, 1, 3, 4, 6, 7 elements).
fn vectors() -> Vec<Vec<Fr>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    [0usize, 1, 3, 4, 6, 7].iter().map(|&n| (0..n).map(|_| Fr::rand(&mut rng)).collect()).collect()
}

#[test]
fn sponge_and_permutation_equal_arkworks_native_and_r1cs() {
    for v in vectors() {
        // Native: our sponge = arkworks' sponge, absorb then squeeze one.
        let mut ark = PoseidonSponge::<Fr>::new(config());
        ark.absorb(&v);
        let expected: Vec<Fr> = ark.squeeze_field_elements(1);
        assert_eq!(sponge_hash(&v), expected[0], "{} elements", v.len());

        // R1CS: arkworks' gadget on the same input gives the same digest, satisfied; the
        // same constraints with a wrong claimed digest are not.
        for claimed in [expected[0], expected[0] + Fr::from(1u64)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let inputs: Vec<FpVar<Fr>> =
                v.iter().map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap()).collect();
            let mut sponge = PoseidonSpongeVar::new(cs.clone(), config());
            sponge.absorb(&inputs).unwrap();
            let out = sponge.squeeze_field_elements(1).unwrap();
            assert_eq!(out[0].value().unwrap(), expected[0]);
            let c = FpVar::new_input(cs.clone(), || Ok(claimed)).unwrap();
            out[0].enforce_equal(&c).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), claimed == expected[0]);
        }
    }
    // The permutation itself, including the capacity element: squeezing past the rate makes
    // arkworks permute twice, and every rate element of both states must agree.
    let v = &vectors()[2];
    let mut ark = PoseidonSponge::<Fr>::new(config());
    ark.absorb(v);
    let squeezed: Vec<Fr> = ark.squeeze_field_elements(6);
    let mut state = [Fr::zero(); WIDTH];
    state[1..].copy_from_slice(v);
    permute(&mut state);
    assert_eq!(squeezed[..3], state[1..]);
    permute(&mut state);
    assert_eq!(squeezed[3..], state[1..]);
}

/// The parameters are circomlib's Poseidon for `t = 4` (facts from circomlibjs 0.1.7's
/// `poseidon_constants.json`, `M[2]` and `C[2]`; all entries were compared once): the first
/// and last MDS entries, the first and last round constants, and one hash.
#[test]
fn parameters_are_circomlibs_t4_set() {
    use ark_ff::{BigInteger, PrimeField};
    let hex = |x: &Fr| {
        let bytes = x.into_bigint().to_bytes_be();
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let c = config();
    assert_eq!((c.mds.len(), c.ark.len()), (4, 64));
    assert_eq!(
        hex(&c.mds[0][0]),
        "236d13393ef85cc48a351dd786dd7a1de5e39942296127fd87947223ae5108ad"
    );
    assert_eq!(
        hex(&c.mds[3][3]),
        "00c15fc3a1d5733dd835eae0823e377f8ba4a8b627627cc2bb661c25d20fb52a"
    );
    assert_eq!(
        hex(&c.ark[0][0]),
        "19b849f69450b06848da1d39bd5e4a4302bb86744edc26238b0878e269ed23e5"
    );
    assert_eq!(
        hex(&c.ark[63][3]),
        "163ec73251f85443687222487dda9a65467d90b22f0b38664686077c6a4486d5"
    );
    // And the permutation is circomlib's: its `poseidon([1, 2, 3])` is the first element of
    // the permuted state `[0, 1, 2, 3]` (value from circomlibjs 0.1.7's reference
    // implementation, computed once with node).
    let mut state = [0u64, 1, 2, 3].map(Fr::from);
    permute(&mut state);
    assert_eq!(hex(&state[0]), "0e7732d89e6939c0ff03d5e58dab6302f3230e269dc5b968f725df34ab36d732");
}

#[test]
fn goldilocks_packing_and_digests() {
    let x = [F::NEG_ONE, F::ONE, F::from_canonical_u64(0x1234)];
    let limbs: Vec<u64> = vec![F::NEG_ONE.0, 1, 0x1234];
    assert_eq!(pack(&x), Fr::from(ark_ff::BigInt::new([limbs[0], limbs[1], limbs[2], 0])));
    // Inputs differing in one limb hash differently; short inputs are hashed, not stored.
    let a = PoseidonBn254Hash::hash_or_noop(&x);
    let b = PoseidonBn254Hash::hash_or_noop(&[x[0], x[1], F::ZERO]);
    assert_ne!(a, b);
    assert_eq!(a, PoseidonBn254Hash::hash_no_pad(&x));
    // Digests round-trip through bytes, observe as eight 32-bit limbs, and any 32 bytes decode
    // to the canonical encoding of their value mod r.
    assert_eq!(Bn254HashOut::from_bytes(&a.to_bytes()), a);
    assert_eq!(a.to_vec().len(), 8);
    let r_plus_one = {
        use ark_ff::BigInteger;
        let mut m = <Fr as ark_ff::PrimeField>::MODULUS;
        m.add_with_carry(&ark_ff::BigInt::from(1u64));
        m.to_bytes_le()
    };
    assert_eq!(Bn254HashOut::from_bytes(&r_plus_one), Bn254HashOut::from_fr(Fr::from(1u64)));
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<Bn254HashOut>(&json).unwrap(), a);
}

/// `x^3 + x + 5 = y` with `y` public, proven under `Cfg`.
fn cubic<Cfg: plonky2::plonk::config::GenericConfig<2, F = F>>(
) -> (CircuitData<F, Cfg, 2>, PartialWitness<F>) {
    let mut b = CircuitBuilder::<F, 2>::new(CircuitConfig::standard_recursion_config());
    let x = b.add_virtual_target();
    let x3 = b.exp_u64(x, 3);
    let s = b.add(x3, x);
    let y = b.add_const(s, F::from_canonical_u64(5));
    b.register_public_input(y);
    let mut pw = PartialWitness::new();
    pw.set_target(x, F::from_canonical_u64(3)).unwrap();
    (b.build::<Cfg>(), pw)
}

#[test]
fn proofs_under_the_bn254_config_verify_and_tampered_ones_do_not() {
    let (data, pw) = cubic::<C>();
    let proof = data.prove(pw).unwrap();
    assert_eq!(proof.public_inputs, vec![F::from_canonical_u64(35)]);
    data.verify(proof.clone()).unwrap();
    let bytes = proof.to_bytes();
    let back = ProofWithPublicInputs::<F, C, 2>::from_bytes(bytes, &data.common).unwrap();
    data.verify(back).unwrap();

    let mut p = proof.clone();
    p.public_inputs[0] += F::ONE;
    assert!(data.verify(p).is_err(), "a public input");
    let mut p = proof.clone();
    p.proof.wires_cap.0[0] = Bn254HashOut::from_fr(p.proof.wires_cap.0[0].to_fr() + Fr::from(1u64));
    assert!(data.verify(p).is_err(), "a Merkle cap element");
    let mut p = proof.clone();
    let sibling = &mut p.proof.opening_proof.query_round_proofs[0].initial_trees_proof.evals_proofs
        [0]
    .1
    .siblings[0];
    *sibling = Bn254HashOut::from_fr(sibling.to_fr() + Fr::from(1u64));
    assert!(data.verify(p).is_err(), "a Merkle sibling");
    let mut p = proof.clone();
    p.proof.openings.wires[0] += <C as plonky2::plonk::config::GenericConfig<2>>::FE::ONE;
    assert!(data.verify(p).is_err(), "an opened value");
    let mut p = proof;
    p.proof.opening_proof.final_poly.coeffs[0] +=
        <C as plonky2::plonk::config::GenericConfig<2>>::FE::ONE;
    assert!(data.verify(p).is_err(), "a final polynomial coefficient");
}

/// The wrap's last layer: a circuit verifying a Goldilocks-Poseidon proof, proven under the
/// BN254 config; its public input is the inner one. Full tier: the chain test proves the
/// real last layer, and the default tier's Groth16 test wraps a BN254-config proof.
#[test]
#[ignore = "full tier (about a minute): bash scripts/test.sh --full"]
fn a_goldilocks_proof_is_reproven_under_the_bn254_config() {
    let (inner, pw) = cubic::<PoseidonGoldilocksConfig>();
    let inner_proof = inner.prove(pw).unwrap();
    let mut b = CircuitBuilder::<F, 2>::new(CircuitConfig::standard_recursion_config());
    let pt = b.add_virtual_proof_with_pis(&inner.common);
    let vd = b.constant_verifier_data(&inner.verifier_only);
    b.verify_proof::<PoseidonGoldilocksConfig>(&pt, &vd, &inner.common);
    b.register_public_inputs(&pt.public_inputs);
    let outer = b.build::<C>();
    let mut pw = PartialWitness::new();
    pw.set_proof_with_pis_target(&pt, &inner_proof).unwrap();
    let proof = outer.prove(pw).unwrap();
    assert_eq!(proof.public_inputs, inner_proof.public_inputs);
    outer.verify(proof.clone()).unwrap();

    // The R1CS verifier accepts the last layer's proof (every gate of plonky2's recursive
    // verifier evaluated at zeta, the public inputs hashed in R1CS), and rejects it with
    // another public input.
    let r1cs = |public_inputs: &[F]| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let pis: Vec<goldilocks::GoldilocksVar> = public_inputs
            .iter()
            .map(|x| goldilocks::GoldilocksVar::new_witness(&cs, Some(*x)).unwrap())
            .collect();
        let p = proof_var::ProofVar::new_witness(&cs, &proof.proof, &outer.common).unwrap();
        plonk_var::verify_proof_var(&p, &pis, &outer.verifier_only, &outer.common).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    };
    assert!(gates_var::unsupported_gates(&outer.common).is_empty());
    let (ok, constraints) = r1cs(&proof.public_inputs);
    eprintln!(
        "R1CS verifier of a recursive-verifier proof (2^{} rows, {} gates): {constraints} constraints",
        outer.common.degree_bits(),
        outer.common.gates.len()
    );
    assert!(ok, "the R1CS rejects the last layer's proof");
    let mut other = proof.public_inputs.clone();
    other[0] += F::ONE;
    assert!(!r1cs(&other).0, "the R1CS accepts another public input");

    // A tampered inner proof does not prove the outer circuit.
    let mut bad = inner_proof;
    bad.public_inputs[0] = F::rand();
    let mut pw = PartialWitness::new();
    pw.set_proof_with_pis_target(&pt, &bad).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| outer.prove(pw)));
    assert!(!matches!(r, Ok(Ok(ref p)) if outer.verify(p.clone()).is_ok()));
}

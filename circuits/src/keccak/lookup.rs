//! keccak256 with keccak-f\[1600\] by lookup (issue 3): the circuit keeps the sponge (padding,
//! absorbing, the digest) but does not compute the permutations. For each one it takes the
//! output state as a hint, splits it into bits (which range-checks its 32-bit limbs), and
//! records the pair (input limbs, output limbs), the tuple of
//! [`crate::keccak_stark::lookup::tuple`].
//!
//! # Soundness
//! WARNING: alone, a circuit built with [`PermutationLookups`] proves nothing about keccak: the
//! outputs are unconstrained hints. It is sound only together with the lookup check
//! ([`crate::keccak_stark::lookup::LookupCheckCircuit`], later the aggregation circuit): the
//! circuit exposes [`PermutationLookups::commit`], a Poseidon hash of its ordered tuples, and
//! the check proves that every tuple of the list with that hash is a row of the keccak-f
//! table. `circuits/docs/keccak-lookup.md` has the argument.
//!
//! # Cost
//! Per permutation: 50 rows that recompose the input limbs from the state bits, 50 rows that
//! split the hinted output limbs into bits, and the tuple's share of the commitment's Poseidon
//! (100 elements, about 13 permutations of width 12): measured by
//! `tests::rows_per_permutation_by_lookup` against the gadget's 1,856.

use anyhow::Result;
use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::{HashOutTarget, RichField};
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use super::{
    keccak_f_native, sponge_fixed, sponge_var, KeccakStateTarget, KECCAK256_DIGEST_BYTES,
    LANE_BITS, NUM_LANES,
};

/// Bits per limb of a tuple.
const LIMB_BITS: usize = 32;
/// Limbs of one state.
const STATE_LIMBS: usize = 2 * NUM_LANES;

/// The permutations a circuit takes by lookup, in the order it uses them. Each entry is a
/// tuple of 100 limb targets: the input state's 50 32-bit limbs (lane `x + 5y`, low half
/// first), then the output state's.
#[derive(Clone, Debug, Default)]
pub struct PermutationLookups {
    tuples: Vec<Vec<Target>>,
}

impl PermutationLookups {
    /// No lookups yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of permutations recorded.
    pub fn len(&self) -> usize {
        self.tuples.len()
    }

    /// Whether none is recorded.
    pub fn is_empty(&self) -> bool {
        self.tuples.is_empty()
    }

    /// keccak-f\[1600\] of `state` (25 lanes × 64 bits, lane `x + 5y`, bit `z` LSB first) by
    /// lookup: the output is a hint, boolean and limb-range-checked, and the pair is recorded.
    ///
    /// WARNING: the input bits must be boolean-constrained by the caller (their limbs are
    /// recomposed as `Σ 2^k b_k`), and the output is keccak-f of the input only once the
    /// lookup check accepts this circuit's list (module doc).
    pub fn keccak_f<F: RichField + Extendable<D>, const D: usize>(
        &mut self,
        builder: &mut CircuitBuilder<F, D>,
        state: &KeccakStateTarget,
    ) -> KeccakStateTarget {
        let input: Vec<Target> = state
            .iter()
            .flat_map(|lane| lane.chunks(LIMB_BITS))
            .map(|bits| builder.le_sum(bits.iter()))
            .collect();
        let output = builder.add_virtual_targets(STATE_LIMBS);
        builder.add_simple_generator(PermutationHintGenerator {
            input: input.clone(),
            output: output.clone(),
        });
        // split_le range-checks each limb to 32 bits (BaseSumGate), so the limbs are canonical.
        let bits: Vec<BoolTarget> =
            output.iter().flat_map(|&limb| builder.split_le(limb, LIMB_BITS)).collect();
        self.tuples.push([input, output].concat());
        std::array::from_fn(|lane| std::array::from_fn(|z| bits[LANE_BITS * lane + z]))
    }

    /// [`super::CircuitBuilderKeccak::keccak256_var`] with every permutation by lookup.
    pub fn keccak256_var<F: RichField + Extendable<D>, const D: usize>(
        &mut self,
        builder: &mut CircuitBuilder<F, D>,
        input: &[Target],
        len: Target,
    ) -> [Target; KECCAK256_DIGEST_BYTES] {
        sponge_var(
            builder,
            input,
            len,
            &mut |b: &mut CircuitBuilder<F, D>, s: &KeccakStateTarget| self.keccak_f(b, s),
        )
    }

    /// [`super::CircuitBuilderKeccak::keccak256_fixed`] with every permutation by lookup.
    pub fn keccak256_fixed<F: RichField + Extendable<D>, const D: usize>(
        &mut self,
        builder: &mut CircuitBuilder<F, D>,
        input: &[Target],
    ) -> [Target; KECCAK256_DIGEST_BYTES] {
        sponge_fixed(builder, input, &mut |b: &mut CircuitBuilder<F, D>, s: &KeccakStateTarget| {
            self.keccak_f(b, s)
        })
    }

    /// The commitment to the recorded tuples: Poseidon `hash_n_to_hash_no_pad` over their
    /// limbs in order, equal to [`crate::keccak_stark::lookup::lookups_commitment`] of the
    /// same pairs. A circuit exposes it so the lookup check can bind its list.
    pub fn commit<F: RichField + Extendable<D>, const D: usize>(
        &self,
        builder: &mut CircuitBuilder<F, D>,
    ) -> HashOutTarget {
        let flat: Vec<Target> = self.tuples.iter().flatten().copied().collect();
        builder.hash_n_to_hash_no_pad::<PoseidonHash>(flat)
    }
}

/// Hint of [`PermutationLookups::keccak_f`]: the output limbs of keccak-f of the input limbs.
/// Unconstrained in the circuit that holds it; the lookup check constrains the pair.
#[derive(Debug, Clone, Default)]
pub struct PermutationHintGenerator {
    input: Vec<Target>,
    output: Vec<Target>,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D>
    for PermutationHintGenerator
{
    fn id(&self) -> String {
        "KeccakPermutationHintGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.input.clone()
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> Result<()> {
        let limb = |i: usize| witness.get_target(self.input[i]).to_canonical_u64();
        let mut state: [u64; NUM_LANES] =
            std::array::from_fn(|l| limb(2 * l) | (limb(2 * l + 1) << LIMB_BITS));
        keccak_f_native(&mut state);
        for (l, lane) in state.iter().enumerate() {
            out.set_target(self.output[2 * l], F::from_canonical_u64(lane & 0xffff_ffff))?;
            out.set_target(self.output[2 * l + 1], F::from_canonical_u64(lane >> LIMB_BITS))?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_target_vec(&self.input)?;
        dst.write_target_vec(&self.output)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { input: src.read_target_vec()?, output: src.read_target_vec()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keccak::native::keccak256_permutation_inputs;
    use crate::keccak::CircuitBuilderKeccak;
    use crate::keccak_stark::lookup::{
        lookups_commitment, pairs_of, prove_lookup_table, LookupCheckCircuit,
    };
    use crate::mapreduce::{Cfg, D, F};
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::CircuitConfig;

    /// Rows of keccak256 over a 550-byte capacity (5 permutations), by lookup and with the
    /// gadget's custom gates, in the same circuit shape.
    #[test]
    fn rows_per_permutation_by_lookup() {
        let rows = |by_lookup: bool| {
            let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
            let input = b.add_virtual_targets(550);
            let len = b.add_virtual_target();
            let before = b.num_gates();
            if by_lookup {
                let mut l = PermutationLookups::new();
                l.keccak256_var(&mut b, &input, len);
                l.commit(&mut b);
            } else {
                b.keccak256_var(&input, len);
            }
            b.num_gates() - before
        };
        let (lookup, gadget) = (rows(true), rows(false));
        eprintln!("keccak256_var(550 bytes, 5 permutations): by lookup {lookup} rows, gadget {gadget} rows");
        assert!(lookup * 4 < gadget, "by lookup {lookup} rows, gadget {gadget}");
    }

    /// The newest mainnet header fixture (Osaka).
    const NEWEST_FIXTURE: u64 = 24_630_100;

    /// Mainnet headers from the fixtures, hash-checked: `(rlp, hash)`.
    fn mainnet_headers(numbers: &[u64]) -> Option<Vec<(Vec<u8>, [u8; 32])>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/mainnet/headers");
        if !dir.exists() {
            eprintln!("note: no header fixtures at {}, skipping", dir.display());
            return None;
        }
        let headers = numbers.iter().map(|n| {
            let json: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.join(format!("{n}.json"))).expect("fixture"),
            )
            .expect("json");
            let header: alloy_consensus::Header =
                serde_json::from_value(json.clone()).expect("header");
            let hash: alloy_primitives::B256 = json["hash"].as_str().unwrap().parse().unwrap();
            assert_eq!(header.hash_slow(), hash, "block {n}");
            let mut rlp = Vec::new();
            alloy_rlp::Encodable::encode(&header, &mut rlp);
            (rlp, hash.0)
        });
        Some(headers.collect())
    }

    /// Three real mainnet headers hashed by lookup (Frontier genesis, London, Osaka): the digests are the block hashes, the circuit's commitment is the native one
    /// of the same pairs, and the lookup check, fed the table proven under that commitment,
    /// accepts them and exposes the same commitment (what the aggregation will connect).
    #[test]
    fn mainnet_headers_by_lookup_pass_the_lookup_check() {
        let Some(headers) = mainnet_headers(&[0, 12_965_000, NEWEST_FIXTURE]) else { return };
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let mut l = PermutationLookups::new();
        let mut wires = Vec::new();
        for (rlp, _) in &headers {
            let input = b.add_virtual_targets(rlp.len());
            let digest = l.keccak256_fixed(&mut b, &input);
            b.register_public_inputs(&digest);
            wires.push(input);
        }
        let commitment = l.commit(&mut b);
        b.register_public_inputs(&commitment.elements);
        let data = b.build::<Cfg>();
        let mut pw = PartialWitness::new();
        for ((rlp, _), input) in headers.iter().zip(&wires) {
            for (&t, &byte) in input.iter().zip(rlp) {
                pw.set_target(t, F::from_canonical_u8(byte)).unwrap();
            }
        }
        let proof = data.prove(pw).unwrap();
        data.verify(proof.clone()).unwrap();
        for (k, (_, hash)) in headers.iter().enumerate() {
            let digest: Vec<u8> = proof.public_inputs[32 * k..32 * (k + 1)]
                .iter()
                .map(|x| x.to_canonical_u64() as u8)
                .collect();
            assert_eq!(digest, hash.to_vec(), "header {k}");
        }
        let inputs: Vec<_> =
            headers.iter().flat_map(|(rlp, _)| keccak256_permutation_inputs(rlp)).collect();
        assert_eq!(inputs.len(), l.len());
        let pairs = pairs_of(&inputs);
        let h = lookups_commitment(&pairs);
        assert_eq!(proof.public_inputs[32 * headers.len()..], h, "the circuit's commitment");
        let table = prove_lookup_table(&h, &inputs).unwrap();
        let bits = table.proof.recover_degree_bits(&crate::keccak_stark::lookup::lookup_config());
        let check = LookupCheckCircuit::build(bits, pairs.len());
        let checked = check.prove(&table, &pairs).unwrap();
        assert_eq!(checked.public_inputs, h.to_vec(), "the check binds the same list");
        check.data.verify(checked).unwrap();
    }
}

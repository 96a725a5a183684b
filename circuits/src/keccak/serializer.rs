//! Gate and generator serializers for Annals circuits: plonky2's defaults plus the custom gates
//! and generators of this crate, for `CircuitData::to_bytes` / `from_bytes` (plonky2 1.1
//! `util::serialization::{GateSerializer, WitnessGeneratorSerializer}`).
//!
//! The lists are plonky2 1.1's `DefaultGateSerializer` / `DefaultGeneratorSerializer` lists, in
//! the same order, followed by Annals' own. Tags are positions in these lists: append new gates
//! and generators at the end so that serialized circuits stay readable.
//!
//! WARNING: a gate or generator missing from these lists makes `to_bytes` fail with an
//! `IoError`; only `BaseSumGate<2>` (and its generators) of the `BaseSum` family is listed,
//! as in plonky2's defaults.

use core::marker::PhantomData;

use plonky2::field::extension::Extendable;
use plonky2::gadgets::arithmetic::EqualityGenerator;
use plonky2::gadgets::arithmetic_extension::QuotientGeneratorExtension;
use plonky2::gadgets::range_check::LowHighGenerator;
use plonky2::gadgets::split_base::BaseSumGenerator;
use plonky2::gadgets::split_join::{SplitGenerator, WireSplitGenerator};
use plonky2::gates::arithmetic_base::{ArithmeticBaseGenerator, ArithmeticGate};
use plonky2::gates::arithmetic_extension::{ArithmeticExtensionGate, ArithmeticExtensionGenerator};
use plonky2::gates::base_sum::{BaseSplitGenerator, BaseSumGate};
use plonky2::gates::constant::ConstantGate;
use plonky2::gates::coset_interpolation::{CosetInterpolationGate, InterpolationGenerator};
use plonky2::gates::exponentiation::{ExponentiationGate, ExponentiationGenerator};
use plonky2::gates::lookup::{LookupGate, LookupGenerator};
use plonky2::gates::lookup_table::{LookupTableGate, LookupTableGenerator};
use plonky2::gates::multiplication_extension::{MulExtensionGate, MulExtensionGenerator};
use plonky2::gates::noop::NoopGate;
use plonky2::gates::poseidon::{PoseidonGate, PoseidonGenerator};
use plonky2::gates::poseidon_mds::{PoseidonMdsGate, PoseidonMdsGenerator};
use plonky2::gates::public_input::PublicInputGate;
use plonky2::gates::random_access::{RandomAccessGate, RandomAccessGenerator};
use plonky2::gates::reducing::{ReducingGate, ReducingGenerator};
use plonky2::gates::reducing_extension::{
    ReducingExtensionGate, ReducingGenerator as ReducingExtensionGenerator,
};
use plonky2::hash::hash_types::RichField;
use plonky2::iop::generator::{
    ConstantGenerator, CopyGenerator, NonzeroTestGenerator, RandomValueGenerator,
};
use plonky2::plonk::config::{AlgebraicHasher, GenericConfig};
use plonky2::recursion::dummy_circuit::DummyProofGenerator;
// The serializer macros expand to these unqualified names.
use plonky2::util::serialization::gate_serialization::log;
use plonky2::util::serialization::{GateSerializer, WitnessGeneratorSerializer};
use plonky2::{
    get_gate_tag_impl, get_generator_tag_impl, impl_gate_serializer, impl_generator_serializer,
    read_gate_impl, read_generator_impl,
};

use super::gates::{
    ByteDecompositionGate, ByteGenerator, Xor2Gate, Xor2Generator, Xor5Gate, Xor5Generator,
};
use super::slice_gate::{KeccakSliceGate, KeccakSliceGenerator};
use super::PrefixMaskGenerator;

/// Gate serializer: plonky2's default gates, then Annals' custom gates.
#[derive(Debug, Default, Clone, Copy)]
pub struct AnnalsGateSerializer;

impl<F: RichField + Extendable<D>, const D: usize> GateSerializer<F, D> for AnnalsGateSerializer {
    impl_gate_serializer! {
        AnnalsGateSerializer,
        ArithmeticGate,
        ArithmeticExtensionGate<D>,
        BaseSumGate<2>,
        ConstantGate,
        CosetInterpolationGate<F, D>,
        ExponentiationGate<F, D>,
        LookupGate,
        LookupTableGate,
        MulExtensionGate<D>,
        NoopGate,
        PoseidonMdsGate<F, D>,
        PoseidonGate<F, D>,
        PublicInputGate,
        RandomAccessGate<F, D>,
        ReducingExtensionGate<D>,
        ReducingGate<D>,
        // Annals
        Xor2Gate,
        Xor5Gate,
        ByteDecompositionGate,
        KeccakSliceGate
    }
}

/// Witness generator serializer: plonky2's default generators, then Annals' custom generators.
#[derive(Debug)]
pub struct AnnalsGeneratorSerializer<C: GenericConfig<D>, const D: usize> {
    _phantom: PhantomData<C>,
}

impl<C: GenericConfig<D>, const D: usize> Default for AnnalsGeneratorSerializer<C, D> {
    fn default() -> Self {
        Self { _phantom: PhantomData }
    }
}

impl<F, C, const D: usize> WitnessGeneratorSerializer<F, D> for AnnalsGeneratorSerializer<C, D>
where
    F: RichField + Extendable<D>,
    C: GenericConfig<D, F = F> + 'static,
    C::Hasher: AlgebraicHasher<F>,
{
    impl_generator_serializer! {
        AnnalsGeneratorSerializer,
        ArithmeticBaseGenerator<F, D>,
        ArithmeticExtensionGenerator<F, D>,
        BaseSplitGenerator<2>,
        BaseSumGenerator<2>,
        ConstantGenerator<F>,
        CopyGenerator,
        DummyProofGenerator<F, C, D>,
        EqualityGenerator,
        ExponentiationGenerator<F, D>,
        InterpolationGenerator<F, D>,
        LookupGenerator,
        LookupTableGenerator,
        LowHighGenerator,
        MulExtensionGenerator<F, D>,
        NonzeroTestGenerator,
        PoseidonGenerator<F, D>,
        PoseidonMdsGenerator<D>,
        QuotientGeneratorExtension<D>,
        RandomAccessGenerator<F, D>,
        RandomValueGenerator,
        ReducingGenerator<D>,
        ReducingExtensionGenerator<D>,
        SplitGenerator,
        WireSplitGenerator,
        // Annals
        Xor2Generator,
        Xor5Generator,
        ByteGenerator,
        KeccakSliceGenerator,
        PrefixMaskGenerator,
        crate::uint256::U256Generator,
        super::lookup::PermutationHintGenerator
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keccak::tests::{C, D, F};
    use crate::keccak::CircuitBuilderKeccak;
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};

    /// Round trip of the full circuit data of a keccak256_var circuit (2 blocks: every custom
    /// gate and generator), then a proof with the deserialized prover data, verified by the
    /// original.
    #[test]
    fn test_serialization() {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let input = builder.add_virtual_targets(140);
        let len = builder.add_virtual_target();
        let digest = builder.keccak256_var(&input, len);
        builder.register_public_inputs(&digest);
        let data = builder.build::<C>();

        let gate_serializer = AnnalsGateSerializer;
        let generator_serializer = AnnalsGeneratorSerializer::<C, D>::default();
        let bytes = data.to_bytes(&gate_serializer, &generator_serializer).expect("serialize");
        let restored =
            CircuitData::<F, C, D>::from_bytes(&bytes, &gate_serializer, &generator_serializer)
                .expect("deserialize");
        assert_eq!(restored.common, data.common);
        assert_eq!(restored.verifier_only, data.verifier_only);

        let message = b"the annals of ethereum".to_vec();
        let mut pw = PartialWitness::new();
        for (i, t) in input.iter().enumerate() {
            pw.set_target(*t, F::from_canonical_u8(message.get(i).copied().unwrap_or(0))).unwrap();
        }
        pw.set_target(len, F::from_canonical_usize(message.len())).unwrap();
        let proof = restored.prove(pw).expect("prove with restored data");
        let out: Vec<u8> = proof.public_inputs.iter().map(|x| x.to_canonical_u64() as u8).collect();
        assert_eq!(out, alloy_primitives::keccak256(&message).to_vec());
        data.verify(proof).expect("verify with original data");
    }
}

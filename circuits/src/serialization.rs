//! Serializers for every gate and witness generator used by the Annals circuits (plonky2's
//! defaults plus ours), needed to write and read `CircuitData` (the circuit-key cache).

pub use crate::keccak::serializer::{AnnalsGateSerializer, AnnalsGeneratorSerializer};

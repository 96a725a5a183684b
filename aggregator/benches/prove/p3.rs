//! Plonky3's keccak-f AIR (`p3-keccak-air` 0.8.0) over Goldilocks with Poseidon2 Merkle
//! hashing: the throughput reference of issue 3, proven in the same bench run as our table.
//! FRI as `FriParameters::new_benchmark` (blowup 2, binary folding) but with 84 queries, so
//! that with its 16 query grinding bits it has the same 100 conjectured bits as our table's
//! `standard_fast_config` (84 queries + 16 bits at blowup 2).

use p3_challenger::DuplexChallenger;
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::extension::BinomialExtensionField;
use p3_field::Field;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_goldilocks::{Goldilocks, Poseidon2Goldilocks};
use p3_keccak_air::{generate_trace_rows, KeccakAir};
use p3_merkle_tree::MerkleTreeMmcs;
use p3_rand::SeedableRng;
use p3_symmetric::{PaddingFreeSponge, TruncatedPermutation};
use p3_uni_stark::{prove, verify, StarkConfig};

type Val = Goldilocks;
type Challenge = BinomialExtensionField<Val, 2>;
type Perm = Poseidon2Goldilocks<8>;
type Hash = PaddingFreeSponge<Perm, 8, 4, 4>;
type Compress = TruncatedPermutation<Perm, 2, 4, 8>;
type Packing = <Val as Field>::Packing;
type ValMmcs = MerkleTreeMmcs<Packing, Packing, Hash, Compress, 2, 4>;
type ChallengeMmcs = ExtensionMmcs<Val, Challenge, ValMmcs>;
type Pcs = TwoAdicFriPcs<Val, Radix2DitParallel<Val>, ValMmcs, ChallengeMmcs>;
type Config = StarkConfig<Pcs, Challenge, DuplexChallenger<Val, Perm, 8, 4>>;

/// Seconds to generate the trace of and prove `inputs.len()` permutations (then verified).
pub fn prove_seconds(inputs: &[[u64; 25]]) -> f64 {
    // Poseidon2 round constants from a seeded generator: fixed across runs; their values do
    // not change the cost.
    let perm = Perm::new_from_rng_128(&mut p3_rand::rngs::SmallRng::seed_from_u64(1));
    let val_mmcs = ValMmcs::new(Hash::new(perm.clone()), Compress::new(perm.clone()), 0);
    let mut fri = FriParameters::new_benchmark(ChallengeMmcs::new(val_mmcs.clone()));
    fri.num_queries = 84;
    let log_blowup = fri.log_blowup;
    let config = Config::new(
        Pcs::new(Radix2DitParallel::default(), val_mmcs, fri),
        DuplexChallenger::new(perm),
    );
    let t = std::time::Instant::now();
    let trace = generate_trace_rows::<Val>(inputs.to_vec(), log_blowup);
    let proof = prove(&config, &KeccakAir {}, trace, &[]).unwrap();
    let s = t.elapsed().as_secs_f64();
    verify(&config, &KeccakAir {}, &proof, &[]).unwrap();
    s
}

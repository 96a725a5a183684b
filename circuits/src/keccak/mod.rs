//! keccak-f\[1600\] and Ethereum's keccak256 in plonky2 circuits, with custom gates.
//!
//! # Representation
//! The state is 25 lanes × 64 [`BoolTarget`]s: lane `x + 5y`, bit `z` least significant first,
//! and message bytes enter lanes little-endian (state byte `8i + k` is byte `k` of lane `i`), as
//! FIPS 202 specifies. Digests are 32 byte [`Target`]s, byte 0 first (as `alloy_primitives::keccak256`).
//!
//! # Cost (standard recursion config: 135 wires, 80 routed)
//! One permutation is 1,856 rows (measured by `tests::rows_per_permutation`): 25 rows of
//! [`Xor5Gate`] for the first θ parities, then per round 64 rows of [`KeccakSliceGate`] (θ's
//! `A ⊕ D`, ρ/π as wiring, χ, ι and the next round's parities, one z-slice per row) and
//! ≈ 12.3 rows of [`Xor2Gate`] for θ's `D`. The sponge adds [`ByteDecompositionGate`] rows
//! (8 bytes per row), 42 XOR rows per extra block,
//! and arithmetic rows for the length mask and padding.
//!
//! # What is constrained
//! - [`CircuitBuilderKeccak::keccak_f`]: every output bit is the FIPS 202 keccak-f\[1600\] of the
//!   input bits, and boolean. All generator outputs are determined by the constraints.
//! - [`CircuitBuilderKeccak::keccak256_var`]: every byte at index `< len` is range-checked to
//!   8 bits (through the padded byte equal to it); bytes at index `>= len` are multiplied by 0
//!   and may hold anything; `len <= input.len()`; the `pad10*1` padding with domain byte `0x01`
//!   is computed in the circuit from `len`; the digest is the state after the block holding the
//!   last padding byte.
//! - [`CircuitBuilderKeccak::keccak256_fixed`]: the same for a length known when building.
//!
//! # What is assumed
//! WARNING: [`CircuitBuilderKeccak::keccak_f`] and [`CircuitBuilderKeccak::recompose_bytes_le`]
//! trust that their input [`BoolTarget`]s are boolean (made by `add_virtual_bool_target_safe`,
//! [`CircuitBuilderKeccak::split_bytes_le`] or another gate that constrains them). A non-boolean
//! value fed to `keccak_f` makes its outputs meaningless: the XOR and parity gates are only
//! correct on booleans. `BoolTarget::new_unsafe` values must not be passed unchecked.
//!
//! WARNING: the gates need `num_routed_wires >= 80` and `num_wires >= 106`
//! (`standard_recursion_config` has 80 and 135); the gadgets panic otherwise.
//!
//! Circuits using these gates serialize with [`serializer::AnnalsGateSerializer`] and
//! [`serializer::AnnalsGeneratorSerializer`].

pub mod gates;
pub mod lookup;
pub mod native;
pub mod serializer;
pub mod slice_gate;

use anyhow::Result;
use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

pub use gates::{ByteDecompositionGate, Xor2Gate, Xor5Gate};
pub use native::{
    keccak256_native, keccak256_pad, keccak_f_native, KECCAK256_RATE_BYTES, KECCAK_ROUNDS,
    ROTATION_OFFSETS, ROUND_CONSTANTS,
};
pub use slice_gate::KeccakSliceGate;

/// Bits per lane.
pub const LANE_BITS: usize = 64;
/// Lanes of the keccak-f\[1600\] state.
pub const NUM_LANES: usize = 25;
/// Digest length of keccak256 in bytes.
pub const KECCAK256_DIGEST_BYTES: usize = 32;

/// A keccak-f\[1600\] state in the circuit: `state[x + 5y][z]`, bit `z` LSB first.
pub type KeccakStateTarget = [[BoolTarget; LANE_BITS]; NUM_LANES];

/// keccak gadgets on [`CircuitBuilder`].
pub trait CircuitBuilderKeccak<F: RichField + Extendable<D>, const D: usize> {
    /// keccak-f\[1600\] (FIPS 202 Algorithm 7, 24 rounds) on 25 lanes × 64 bits (lane `x + 5y`,
    /// bit `z` LSB-first). 1,856 rows.
    ///
    /// WARNING: the input bits must be boolean-constrained by the caller; outputs are boolean.
    fn keccak_f(&mut self, state: &KeccakStateTarget) -> KeccakStateTarget;

    /// keccak256 (Ethereum's, domain byte `0x01`) of `input[..len]`. `input.len()` is the
    /// capacity; bytes are [`Target`]s. Every byte at index `< len` is range-checked to 8 bits;
    /// bytes at index `>= len` are masked to zero and may hold any field element. `len <=
    /// input.len()` is enforced. Runs `ceil((input.len() + 1) / 136)` permutations and selects the
    /// digest after the block where the padding ends. Returns the 32 digest bytes, each in
    /// `[0, 256)` by construction.
    fn keccak256_var(&mut self, input: &[Target], len: Target) -> [Target; KECCAK256_DIGEST_BYTES];

    /// keccak256 of `input` (all bytes, range-checked to 8 bits); `input.len() / 136 + 1`
    /// permutations. Returns the 32 digest bytes, each in `[0, 256)` by construction.
    fn keccak256_fixed(&mut self, input: &[Target]) -> [Target; KECCAK256_DIGEST_BYTES];

    /// The prefix mask `m_i = [i < len]` for `i in 0..cap`, constrained: every `m_i` boolean,
    /// monotone non-increasing (`m_i · (1 − m_{i−1}) = 0`) and `Σ m_i = len`, which also enforces
    /// `len <= cap`. About 3 arithmetic operations per position.
    fn prefix_mask(&mut self, len: Target, cap: usize) -> Vec<BoolTarget>;

    /// Splits bytes into bits, 8 per byte, least significant first, range-checking every byte
    /// to `[0, 256)`. Output length `8 * bytes.len()`; 8 bytes per [`ByteDecompositionGate`] row.
    fn split_bytes_le(&mut self, bytes: &[Target]) -> Vec<BoolTarget>;

    /// Recomposes bytes from bits (8 per byte, least significant first; `bits.len()` must be a
    /// multiple of 8). The gate also constrains every bit to be boolean. Output length
    /// `bits.len() / 8`.
    fn recompose_bytes_le(&mut self, bits: &[BoolTarget]) -> Vec<Target>;

    /// `a ⊕ b` as `a + b − 2ab` in a [`Xor2Gate`] slot (26 per row).
    ///
    /// WARNING: correct (and boolean) only for boolean inputs.
    fn xor_bits(&mut self, a: BoolTarget, b: BoolTarget) -> BoolTarget;

    /// Parity of five bits in a [`Xor5Gate`] slot (13 per row); the output is boolean.
    ///
    /// WARNING: correct only for boolean inputs.
    fn xor5_bits(&mut self, bits: [BoolTarget; 5]) -> BoolTarget;
}

/// A message bit of a sponge block: known when building, or a boolean target.
#[derive(Clone, Copy, Debug)]
enum MessageBit {
    Const(bool),
    Var(BoolTarget),
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderKeccak<F, D>
    for CircuitBuilder<F, D>
{
    fn keccak_f(&mut self, state: &KeccakStateTarget) -> KeccakStateTarget {
        assert!(
            self.config.num_routed_wires >= KeccakSliceGate::NUM_ROUTED_WIRES
                && self.config.num_wires >= KeccakSliceGate::NUM_WIRES,
            "keccak_f needs >= {} routed and >= {} total wires",
            KeccakSliceGate::NUM_ROUTED_WIRES,
            KeccakSliceGate::NUM_WIRES
        );
        // θ column parities of the input state.
        let mut c: Vec<[Target; LANE_BITS]> = (0..5)
            .map(|x| {
                std::array::from_fn(|z| {
                    self.xor5_bits(std::array::from_fn(|y| state[x + 5 * y][z])).target
                })
            })
            .collect();
        let mut a: Vec<[Target; LANE_BITS]> = state.iter().map(|l| l.map(|b| b.target)).collect();
        for rc in ROUND_CONSTANTS {
            // θ: D[x][z] = C[x−1][z] ⊕ C[x+1][z−1]
            let d: Vec<[Target; LANE_BITS]> = (0..5)
                .map(|x| {
                    std::array::from_fn(|z| {
                        let c0 = BoolTarget::new_unsafe(c[(x + 4) % 5][z]);
                        let c1 = BoolTarget::new_unsafe(c[(x + 1) % 5][(z + 63) % 64]);
                        self.xor_bits(c0, c1).target
                    })
                })
                .collect();
            let mut next_a = vec![[Target::wire(0, 0); LANE_BITS]; NUM_LANES];
            let mut next_c = vec![[Target::wire(0, 0); LANE_BITS]; 5];
            for z in 0..LANE_BITS {
                let rc_bit = F::from_canonical_u64((rc >> z) & 1);
                let row = self.add_gate(KeccakSliceGate, vec![rc_bit]);
                for y in 0..5 {
                    for x in 0..5 {
                        let i = x + 5 * y;
                        // π: B[x][y] comes from lane (x + 3y, x); ρ: rotated by r of that lane.
                        let (sx, sy) = ((x + 3 * y) % 5, x);
                        let src = sx + 5 * sy;
                        let sz = (z + LANE_BITS - ROTATION_OFFSETS[src] as usize) % LANE_BITS;
                        self.connect(a[src][sz], Target::wire(row, KeccakSliceGate::wire_a(i)));
                        self.connect(d[sx][sz], Target::wire(row, KeccakSliceGate::wire_d(i)));
                        next_a[i][z] = Target::wire(row, KeccakSliceGate::wire_out(i));
                    }
                }
                for x in 0..5 {
                    next_c[x][z] = Target::wire(row, KeccakSliceGate::wire_c(x));
                }
            }
            a = next_a;
            c = next_c;
        }
        // `new_unsafe` is sound: every output wire is constrained boolean by its slice gate.
        std::array::from_fn(|i| a[i].map(BoolTarget::new_unsafe))
    }

    fn keccak256_var(&mut self, input: &[Target], len: Target) -> [Target; KECCAK256_DIGEST_BYTES] {
        sponge_var(self, input, len, &mut |b: &mut Self, s: &KeccakStateTarget| b.keccak_f(s))
    }

    fn keccak256_fixed(&mut self, input: &[Target]) -> [Target; KECCAK256_DIGEST_BYTES] {
        sponge_fixed(self, input, &mut |b: &mut Self, s: &KeccakStateTarget| b.keccak_f(s))
    }

    fn prefix_mask(&mut self, len: Target, cap: usize) -> Vec<BoolTarget> {
        let mask: Vec<BoolTarget> = (0..cap).map(|_| self.add_virtual_bool_target_safe()).collect();
        self.add_simple_generator(PrefixMaskGenerator {
            len,
            mask: mask.iter().map(|m| m.target).collect(),
        });
        for i in 1..cap {
            // m_i·m_{i−1} − m_i = 0
            let z = self.mul_sub(mask[i].target, mask[i - 1].target, mask[i].target);
            self.assert_zero(z);
        }
        let sum = self.add_many(mask.iter().map(|m| m.target));
        self.connect(sum, len);
        mask
    }

    fn split_bytes_le(&mut self, bytes: &[Target]) -> Vec<BoolTarget> {
        let gate = ByteDecompositionGate::new_from_config(&self.config, false);
        let mut bits = Vec::with_capacity(8 * bytes.len());
        for &byte in bytes {
            let (row, i) = self.find_slot(gate, &[], &[]);
            self.connect(byte, Target::wire(row, ByteDecompositionGate::wire_byte(i)));
            // `new_unsafe` is sound: the gate constrains every bit to be boolean.
            bits.extend((0..8).map(|k| {
                BoolTarget::new_unsafe(Target::wire(row, ByteDecompositionGate::wire_bit(i, k)))
            }));
        }
        bits
    }

    fn recompose_bytes_le(&mut self, bits: &[BoolTarget]) -> Vec<Target> {
        assert_eq!(bits.len() % 8, 0, "recompose_bytes_le takes whole bytes");
        let gate = ByteDecompositionGate::new_from_config(&self.config, true);
        bits.chunks(8)
            .map(|byte_bits| {
                let (row, i) = self.find_slot(gate, &[], &[]);
                for (k, b) in byte_bits.iter().enumerate() {
                    self.connect(
                        b.target,
                        Target::wire(row, ByteDecompositionGate::wire_bit(i, k)),
                    );
                }
                Target::wire(row, ByteDecompositionGate::wire_byte(i))
            })
            .collect()
    }

    fn xor_bits(&mut self, a: BoolTarget, b: BoolTarget) -> BoolTarget {
        let gate = Xor2Gate::new_from_config(&self.config);
        let (row, i) = self.find_slot(gate, &[], &[]);
        self.connect(a.target, Target::wire(row, Xor2Gate::wire_a(i)));
        self.connect(b.target, Target::wire(row, Xor2Gate::wire_b(i)));
        BoolTarget::new_unsafe(Target::wire(row, Xor2Gate::wire_out(i)))
    }

    fn xor5_bits(&mut self, bits: [BoolTarget; 5]) -> BoolTarget {
        let gate = Xor5Gate::new_from_config(&self.config);
        let (row, i) = self.find_slot(gate, &[], &[]);
        for (j, b) in bits.iter().enumerate() {
            self.connect(b.target, Target::wire(row, Xor5Gate::wire_input(i, j)));
        }
        // `new_unsafe` is sound: the gate constrains the output to be boolean.
        BoolTarget::new_unsafe(Target::wire(row, Xor5Gate::wire_out(i)))
    }
}

/// A keccak-f\[1600\] in a circuit: computed by the custom gates, or taken from a lookup.
pub(crate) type Permute<'a, F, const D: usize> =
    dyn FnMut(&mut CircuitBuilder<F, D>, &KeccakStateTarget) -> KeccakStateTarget + 'a;

/// [`CircuitBuilderKeccak::keccak256_var`] with each permutation made by `permute`.
pub(crate) fn sponge_var<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    input: &[Target],
    len: Target,
    permute: &mut Permute<'_, F, D>,
) -> [Target; KECCAK256_DIGEST_BYTES] {
    let cap = input.len();
    let num_blocks = (cap + 1).div_ceil(KECCAK256_RATE_BYTES);
    let total = num_blocks * KECCAK256_RATE_BYTES;
    let mask = builder.prefix_mask(len, total);
    // len <= cap: the (monotone) mask is zero from index cap on.
    builder.assert_zero(mask[cap].target);
    let one = builder.one();
    // m(i) = m_{i-1} with m_{-1} = 1.
    let mask_before = |i: usize| if i == 0 { one } else { mask[i - 1].target };
    // e_j = [136j <= len < 136(j+1)]: the padding ends in block j.
    let last_block: Vec<Target> = (0..num_blocks)
        .map(|j| {
            let start = mask_before(j * KECCAK256_RATE_BYTES);
            let end = mask[(j + 1) * KECCAK256_RATE_BYTES - 1].target;
            builder.sub(start, end)
        })
        .collect();
    // p_i = m_i·x_i + [i == len]·0x01 + [i is the last byte of block e]·0x80,
    // with [i == len] = m_{i−1} − m_i.
    let padded: Vec<Target> = (0..total)
        .map(|i| {
            let prev = mask_before(i);
            let t = if i < cap {
                builder.arithmetic(F::ONE, F::ONE, mask[i].target, input[i], prev)
            } else {
                prev
            };
            let p = builder.sub(t, mask[i].target);
            if i % KECCAK256_RATE_BYTES == KECCAK256_RATE_BYTES - 1 {
                let j = i / KECCAK256_RATE_BYTES;
                builder.mul_const_add(F::from_canonical_u64(0x80), last_block[j], p)
            } else {
                p
            }
        })
        .collect();
    let bits = builder.split_bytes_le(&padded);
    let blocks: Vec<Vec<MessageBit>> = bits
        .chunks(8 * KECCAK256_RATE_BYTES)
        .map(|block| block.iter().map(|&b| MessageBit::Var(b)).collect())
        .collect();
    let states = absorb(builder, &blocks, permute);
    let digests: Vec<Vec<Target>> = states.iter().map(|s| digest_bytes(builder, s)).collect();
    std::array::from_fn(|k| {
        let mut acc = builder.mul(last_block[0], digests[0][k]);
        for j in 1..num_blocks {
            acc = builder.mul_add(last_block[j], digests[j][k], acc);
        }
        acc
    })
}

/// [`CircuitBuilderKeccak::keccak256_fixed`] with each permutation made by `permute`.
pub(crate) fn sponge_fixed<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    input: &[Target],
    permute: &mut Permute<'_, F, D>,
) -> [Target; KECCAK256_DIGEST_BYTES] {
    let bits = builder.split_bytes_le(input);
    let pad = keccak256_pad(&vec![0u8; input.len()]);
    let mut message: Vec<MessageBit> = bits.into_iter().map(MessageBit::Var).collect();
    for byte in &pad[input.len()..] {
        message.extend((0..8).map(|k| MessageBit::Const((byte >> k) & 1 == 1)));
    }
    let blocks: Vec<Vec<MessageBit>> =
        message.chunks(8 * KECCAK256_RATE_BYTES).map(|b| b.to_vec()).collect();
    let states = absorb(builder, &blocks, permute);
    let digest = digest_bytes(builder, states.last().expect("at least one block"));
    std::array::from_fn(|k| digest[k])
}

/// Absorbs `blocks` (each `8 * 136` message bits, state bit `64i + z` = lane `i`, bit `z`) into
/// the zero state, permuting after each; returns the state after every block.
fn absorb<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    blocks: &[Vec<MessageBit>],
    permute: &mut Permute<'_, F, D>,
) -> Vec<KeccakStateTarget> {
    let zero = builder._false();
    let mut state: Option<KeccakStateTarget> = None;
    let mut states = Vec::with_capacity(blocks.len());
    for block in blocks {
        assert_eq!(block.len(), 8 * KECCAK256_RATE_BYTES);
        let first = state.is_none();
        let mut s = state.unwrap_or([[zero; LANE_BITS]; NUM_LANES]);
        for (idx, bit) in block.iter().enumerate() {
            let lane = &mut s[idx / LANE_BITS][idx % LANE_BITS];
            *lane = match (first, *bit) {
                (true, MessageBit::Var(b)) => b,
                (true, MessageBit::Const(c)) => builder.constant_bool(c),
                (false, MessageBit::Var(b)) => builder.xor_bits(*lane, b),
                (false, MessageBit::Const(false)) => *lane,
                (false, MessageBit::Const(true)) => builder.not(*lane),
            };
        }
        let next = permute(builder, &s);
        states.push(next);
        state = Some(next);
    }
    states
}

/// The 32 digest bytes of a state: lanes 0..4, little-endian bytes.
fn digest_bytes<F: RichField + Extendable<D>, const D: usize>(
    builder: &mut CircuitBuilder<F, D>,
    state: &KeccakStateTarget,
) -> Vec<Target> {
    let bits: Vec<BoolTarget> = state[..4].iter().flatten().copied().collect();
    builder.recompose_bytes_le(&bits)
}

/// Witness generator of [`CircuitBuilderKeccak::prefix_mask`]: `mask[i] = [i < len]`. Every value
/// it writes is determined by the mask constraints (boolean, monotone, sum = len).
#[derive(Debug, Clone, Default)]
pub struct PrefixMaskGenerator {
    len: Target,
    mask: Vec<Target>,
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for PrefixMaskGenerator {
    fn id(&self) -> String {
        "KeccakPrefixMaskGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        vec![self.len]
    }

    fn run_once(&self, witness: &PartitionWitness<F>, out: &mut GeneratedValues<F>) -> Result<()> {
        let len = witness.get_target(self.len).to_canonical_u64();
        for (i, &m) in self.mask.iter().enumerate() {
            out.set_target(m, F::from_bool((i as u64) < len))?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_target(self.len)?;
        dst.write_target_vec(&self.mask)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Self { len: src.read_target()?, mask: src.read_target_vec()? })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use plonky2::field::goldilocks_field::GoldilocksField;
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
    use plonky2::plonk::config::PoseidonGoldilocksConfig;
    use plonky2::plonk::prover::prove_with_partition_witness;
    use plonky2::util::timing::TimingTree;
    use rand::{Rng, SeedableRng};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::OnceLock;
    use std::time::Instant;

    pub(crate) type F = GoldilocksField;
    pub(crate) type C = PoseidonGoldilocksConfig;
    pub(crate) const D: usize = 2;

    /// Proving fails: an `Err`, a panic (e.g. "Quotient has failed") or a proof that does not
    /// verify.
    pub(crate) fn proving_fails(data: &CircuitData<F, C, D>, pw: PartialWitness<F>) -> bool {
        match catch_unwind(AssertUnwindSafe(|| data.prove(pw))) {
            Err(_) | Ok(Err(_)) => true,
            Ok(Ok(proof)) => data.verify(proof).is_err(),
        }
    }

    /// A malicious prover: runs the honest generators, then `tamper`s the witness (bypassing the
    /// generators' consistency checks) and tries to prove. True if that fails.
    fn tampered_proving_fails(
        data: &CircuitData<F, C, D>,
        pw: PartialWitness<F>,
        tamper: impl FnOnce(&mut PartitionWitness<F>),
    ) -> bool {
        let mut witness = generate_partial_witness(pw, &data.prover_only, &data.common)
            .expect("honest witness generation");
        tamper(&mut witness);
        let result = catch_unwind(AssertUnwindSafe(|| {
            prove_with_partition_witness(
                &data.prover_only,
                &data.common,
                witness,
                &mut TimingTree::default(),
            )
        }));
        match result {
            // The panic must be the prover's failed quotient division (a violated constraint),
            // not an unrelated bug.
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                assert!(message.contains("Quotient has failed"), "unexpected panic: {message}");
                true
            }
            Ok(Err(_)) => true,
            Ok(Ok(proof)) => data.verify(proof).is_err(),
        }
    }

    /// Overwrites the value of `t`'s copy class (all wires connected to it).
    fn overwrite(witness: &mut PartitionWitness<F>, t: Target, value: F) {
        let rep = witness.representative_map[t.index(witness.num_wires, witness.degree)];
        witness.values[rep] = Some(value);
    }

    fn random_state(seed: u64) -> [u64; 25] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        std::array::from_fn(|_| rng.gen())
    }

    /// A circuit applying `n` chained keccak-f to 1600 safe boolean inputs.
    struct PermutationCircuit {
        data: CircuitData<F, C, D>,
        input: KeccakStateTarget,
        output: KeccakStateTarget,
        rows: usize,
    }

    fn permutation_circuit(n: usize) -> PermutationCircuit {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let input: KeccakStateTarget = std::array::from_fn(|_| {
            std::array::from_fn(|_| builder.add_virtual_bool_target_safe())
        });
        let mut output = input;
        for _ in 0..n {
            output = builder.keccak_f(&output);
        }
        let rows = builder.num_gates();
        PermutationCircuit { data: builder.build::<C>(), input, output, rows }
    }

    fn set_state(pw: &mut PartialWitness<F>, targets: &KeccakStateTarget, state: &[u64; 25]) {
        for (lane, value) in targets.iter().zip(state) {
            for (z, bit) in lane.iter().enumerate() {
                pw.set_bool_target(*bit, (value >> z) & 1 == 1).unwrap();
            }
        }
    }

    fn one_permutation() -> &'static PermutationCircuit {
        static CIRCUIT: OnceLock<PermutationCircuit> = OnceLock::new();
        CIRCUIT.get_or_init(|| permutation_circuit(1))
    }

    #[test]
    fn keccak_f_matches_native_twin() {
        let circuit = one_permutation();
        for seed in [1u64, 2] {
            let input = random_state(seed);
            let mut expected = input;
            keccak_f_native(&mut expected);
            let mut pw = PartialWitness::new();
            set_state(&mut pw, &circuit.input, &input);
            let witness = generate_partial_witness(
                pw.clone(),
                &circuit.data.prover_only,
                &circuit.data.common,
            )
            .unwrap();
            for (lane, value) in circuit.output.iter().zip(expected) {
                for (z, bit) in lane.iter().enumerate() {
                    assert_eq!(witness.get_target(bit.target), F::from_bool((value >> z) & 1 == 1));
                }
            }
            let proof = circuit.data.prove(pw).unwrap();
            circuit.data.verify(proof).unwrap();
        }
    }

    #[test]
    fn keccak_f_rejects_flipped_output_bit() {
        let circuit = one_permutation();
        let input = random_state(5);
        let mut expected = input;
        keccak_f_native(&mut expected);
        let mut pw = PartialWitness::new();
        set_state(&mut pw, &circuit.input, &input);
        // A claimed output bit that disagrees with the permutation.
        let mut claimed = pw.clone();
        claimed.set_bool_target(circuit.output[3][5], (expected[3] >> 5) & 1 == 0).unwrap();
        assert!(proving_fails(&circuit.data, claimed));
        // A malicious prover flipping an output bit (and every copy of it) in the witness.
        let bit = circuit.output[7][42].target;
        let flipped = F::from_bool((expected[7] >> 42) & 1 == 0);
        assert!(tampered_proving_fails(&circuit.data, pw, |w| overwrite(w, bit, flipped)));
    }

    /// The input of `keccak256_var` tests: capacity 300 (3 permutations).
    struct VarCircuit {
        data: CircuitData<F, C, D>,
        input: Vec<Target>,
        len: Target,
        digest: [Target; 32],
    }

    const VAR_CAP: usize = 300;

    fn var_circuit() -> &'static VarCircuit {
        static CIRCUIT: OnceLock<VarCircuit> = OnceLock::new();
        CIRCUIT.get_or_init(|| {
            let mut builder =
                CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
            let input = builder.add_virtual_targets(VAR_CAP);
            let len = builder.add_virtual_target();
            let digest = builder.keccak256_var(&input, len);
            builder.register_public_inputs(&digest);
            println!("keccak256_var cap {VAR_CAP}: {} rows", builder.num_gates());
            VarCircuit { data: builder.build::<C>(), input, len, digest }
        })
    }

    /// A witness with `bytes` in the first positions and random bytes (which must be ignored)
    /// after them.
    fn var_witness(circuit: &VarCircuit, bytes: &[u8], len: u64, seed: u64) -> PartialWitness<F> {
        var_witness_with(circuit, bytes, len, seed, &[])
    }

    /// [`var_witness`] with some input positions set to arbitrary field elements.
    fn var_witness_with(
        circuit: &VarCircuit,
        bytes: &[u8],
        len: u64,
        seed: u64,
        overrides: &[(usize, u64)],
    ) -> PartialWitness<F> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut pw = PartialWitness::new();
        for (i, t) in circuit.input.iter().enumerate() {
            let byte = bytes.get(i).copied().unwrap_or_else(|| rng.gen());
            let v = overrides.iter().find(|(j, _)| *j == i).map_or(u64::from(byte), |(_, v)| *v);
            pw.set_target(*t, F::from_canonical_u64(v)).unwrap();
        }
        pw.set_target(circuit.len, F::from_canonical_u64(len)).unwrap();
        pw
    }

    #[test]
    fn keccak256_var_matches_alloy() {
        let circuit = var_circuit();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let random_len = rng.gen_range(0..=VAR_CAP);
        for len in [0usize, 1, 135, 136, 137, 271, 272, VAR_CAP, random_len] {
            let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let pw = var_witness(circuit, &bytes, len as u64, len as u64);
            let start = Instant::now();
            let proof = circuit.data.prove(pw).unwrap();
            println!("keccak256_var len {len}: proved in {:?}", start.elapsed());
            let digest: Vec<u8> =
                proof.public_inputs.iter().map(|x| x.to_canonical_u64() as u8).collect();
            assert!(proof.public_inputs.iter().all(|x| x.to_canonical_u64() < 256));
            assert_eq!(digest, alloy_primitives::keccak256(&bytes).to_vec(), "len {len}");
            circuit.data.verify(proof).unwrap();
        }
    }

    #[test]
    fn keccak256_var_ignores_non_bytes_beyond_len() {
        let circuit = var_circuit();
        let bytes = b"annals".to_vec();
        let pw =
            var_witness_with(circuit, &bytes, bytes.len() as u64, 1, &[(bytes.len(), 1 << 40)]);
        let proof = circuit.data.prove(pw).unwrap();
        let digest: Vec<u8> =
            proof.public_inputs.iter().map(|x| x.to_canonical_u64() as u8).collect();
        assert_eq!(digest, alloy_primitives::keccak256(&bytes).to_vec());
        circuit.data.verify(proof).unwrap();
    }

    #[test]
    fn keccak256_var_rejects_wrong_digest_byte() {
        let circuit = var_circuit();
        let bytes = vec![7u8; 140];
        let expected = alloy_primitives::keccak256(&bytes);
        let pw = var_witness(circuit, &bytes, 140, 2);
        let mut claimed = pw.clone();
        claimed.set_target(circuit.digest[4], F::from_canonical_u8(expected[4] ^ 1)).unwrap();
        assert!(proving_fails(&circuit.data, claimed));
        // Malicious prover: a digest byte changed behind the generators' back.
        let t = circuit.digest[9];
        let wrong = F::from_canonical_u8(expected[9].wrapping_add(1));
        assert!(tampered_proving_fails(&circuit.data, pw, |w| overwrite(w, t, wrong)));
    }

    #[test]
    fn keccak256_var_rejects_len_beyond_capacity() {
        let circuit = var_circuit();
        let bytes = vec![1u8; VAR_CAP];
        // Inside the last block but beyond the capacity, and beyond every block.
        for len in [VAR_CAP as u64 + 1, 407, 408, 5000] {
            let pw = var_witness(circuit, &bytes, len, 3);
            assert!(proving_fails(&circuit.data, pw), "len {len}");
        }
        // Malicious prover: claims a different len than the mask it generated.
        let pw = var_witness(circuit, &bytes, 200, 3);
        let len = circuit.len;
        assert!(tampered_proving_fails(&circuit.data, pw, |w| overwrite(
            w,
            len,
            F::from_canonical_u64(VAR_CAP as u64 + 1)
        )));
    }

    #[test]
    fn keccak256_var_rejects_input_byte_256() {
        let circuit = var_circuit();
        let bytes = vec![9u8; 50];
        let pw = var_witness_with(circuit, &bytes, 50, 4, &[(17, 256)]);
        assert!(proving_fails(&circuit.data, pw));
        // The same value beyond len is masked away and accepted.
        let pw = var_witness_with(circuit, &bytes, 50, 4, &[(60, 256)]);
        assert!(!proving_fails(&circuit.data, pw));
    }

    #[test]
    fn keccak256_fixed_matches_alloy() {
        for len in [135usize, 136] {
            let mut builder =
                CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
            let input = builder.add_virtual_targets(len);
            let digest = builder.keccak256_fixed(&input);
            builder.register_public_inputs(&digest);
            let data = builder.build::<C>();
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let mut pw = PartialWitness::new();
            for (t, b) in input.iter().zip(&bytes) {
                pw.set_target(*t, F::from_canonical_u8(*b)).unwrap();
            }
            let proof = data.prove(pw).unwrap();
            let out: Vec<u8> =
                proof.public_inputs.iter().map(|x| x.to_canonical_u64() as u8).collect();
            assert_eq!(out, alloy_primitives::keccak256(&bytes).to_vec(), "len {len}");
            data.verify(proof).unwrap();
            // An input byte of 256 is rejected.
            let mut bad = PartialWitness::new();
            for (i, t) in input.iter().enumerate() {
                let v = if i == 3 { 256 } else { u64::from(bytes[i]) };
                bad.set_target(*t, F::from_canonical_u64(v)).unwrap();
            }
            assert!(proving_fails(&data, bad));
        }
    }

    #[test]
    fn prefix_mask_values() {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let len = builder.add_virtual_target();
        let mask = builder.prefix_mask(len, 10);
        let data = builder.build::<C>();
        for l in [0u64, 3, 10] {
            let mut pw = PartialWitness::new();
            pw.set_target(len, F::from_canonical_u64(l)).unwrap();
            let w = generate_partial_witness(pw.clone(), &data.prover_only, &data.common).unwrap();
            for (i, m) in mask.iter().enumerate() {
                assert_eq!(w.get_target(m.target), F::from_bool((i as u64) < l));
            }
            data.verify(data.prove(pw).unwrap()).unwrap();
        }
        let mut pw = PartialWitness::new();
        pw.set_target(len, F::from_canonical_u64(11)).unwrap();
        assert!(proving_fails(&data, pw));
        // Malicious prover: a non-monotone mask with the right sum (1,0,1,1,0,...; len 3).
        let mut pw = PartialWitness::new();
        pw.set_target(len, F::from_canonical_u64(3)).unwrap();
        let (m1, m3) = (mask[1].target, mask[3].target);
        assert!(tampered_proving_fails(&data, pw, |w| {
            overwrite(w, m1, F::ZERO);
            overwrite(w, m3, F::ONE);
        }));
    }

    /// Rows per permutation (1 and 8 chained permutations) and proving times.
    #[test]
    fn rows_per_permutation() {
        let one = one_permutation();
        let eight = permutation_circuit(8);
        let per_permutation = (eight.rows - one.rows) / 7;
        println!(
            "keccak_f rows: 1 permutation {} (degree {}), 8 permutations {} (degree {}), {} per permutation",
            one.rows,
            one.data.common.degree(),
            eight.rows,
            eight.data.common.degree(),
            per_permutation
        );
        assert!(one.rows <= 4_500);
        assert!(per_permutation <= 4_500);
        for (n, circuit) in [(1, one), (8, &eight)] {
            let input = random_state(n as u64);
            let mut pw = PartialWitness::new();
            set_state(&mut pw, &circuit.input, &input);
            let start = Instant::now();
            let proof = circuit.data.prove(pw).unwrap();
            println!("keccak_f x{n}: proved in {:?}", start.elapsed());
            circuit.data.verify(proof).unwrap();
        }
    }
}

//! The shape circuits of the MapReduce tree: **wrap** (one map proof → the common shape) and
//! **reduce** (two shape proofs → one), which share one [`CommonCircuitData`] so that a reduce
//! node verifies either kind of child with the same verifier gadget.
//!
//! # Allowed circuits
//! There is one wrap circuit per map leaf kind (`header_map`, `state_map`), all padded to the
//! reduce circuit's shape. A reduce circuit verifies each child against verifier data chosen by
//! the witness bits of its [`ChildKind`]: `is_leaf` and, for a wrap, `is_state` pick one of
//! the wrap circuits' verifier data (constants baked into the reduce circuit), else the reduce
//! circuit's own verifier data. The latter cannot be a constant (it depends on the
//! circuit being built), so, as in plonky2's cyclic recursion
//! (`plonky2/src/recursion/cyclic_recursion.rs`), the reduce circuit exposes its claimed
//! verifier data as its last public inputs (`vd_self`) and requires every reduce child to
//! expose the same `vd_self` (and every wrap child zeros there, which the wrap circuit always
//! exposes: one multiplication per element checks both, `child_vd = (1 − is_leaf) · vd_self`). The root circuit then checks that its child's `vd_self` equals
//! the real reduce verifier data (a constant there), which pins every reduce node below it.
//!
//! WARNING: a reduce proof on its own proves nothing about which circuits its children came
//! from until `vd_self` is checked against the real verifier data: verify reduce proofs only
//! through the root circuit or [`ShapeCircuits::verify_reduce`].

use anyhow::{ensure, Result};
use plonky2::field::types::Field;
use plonky2::gates::gate::GateRef;
use plonky2::gates::noop::NoopGate;
use plonky2::hash::hash_types::{HashOutTarget, MerkleCapTarget};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{
    CircuitConfig, CircuitData, CommonCircuitData, VerifierCircuitTarget, VerifierOnlyCircuitData,
};
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};

use super::merge::merge_partial_aggregates;
use super::statement::{StatementTargets, STATEMENT_LEN};
use super::{Cfg, Proof, D, F};

/// Public inputs of the shape circuits after the statement: the cyclic verifier data
/// (circuit digest 4 + constants-sigmas cap 4 × 16 under the standard recursion config).
pub fn vd_len(common: &CommonCircuitData<F, D>) -> usize {
    4 + 4 * common.config.fri_config.num_cap_elements()
}

/// The circuit configuration of the wrap and reduce circuits: plonky2's
/// `CircuitConfig::standard_recursion_config()` (28 FRI queries at rate 1/8, 16 grinding bits:
/// `3 · 28 + 16 = 100` conjectured bits), the same as the leaf and root circuits.
///
/// A reduce node verifies two shape proofs in 8,079 rows (+ 37 rows of public-input hashing at
/// build), so both shape circuits fit 2^13 rows. That margin comes from the lazy sums of the
/// statement (a merge is 16 field additions per sum, not a range-checked 256-bit addition) and
/// from checking the children's verifier data with one multiplication per element; before
/// them the reduce needed 8,209 rows and traded a query for 3 grinding bits (27 + 19) to fit,
/// which cost ~0.5 s of grinding per proof.
pub fn shape_config() -> CircuitConfig {
    CircuitConfig::standard_recursion_config()
}

/// Rows kept free below the padded size for what `build` adds (public-input hashing of the 286
/// public inputs and constant gates: 37 rows measured for these circuits).
const BUILD_RESERVE_ROWS: usize = 64;

/// The gate set and size both shape circuits are padded to.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Every gate of either circuit.
    pub gates: Vec<GateRef<F, D>>,
    /// log2 of the number of rows.
    pub degree_bits: usize,
}

fn pad_to_shape(builder: &mut CircuitBuilder<F, D>, shape: &Shape) {
    pad_to_shape_with_reserve(builder, shape, BUILD_RESERVE_ROWS);
}

fn pad_to_shape_with_reserve(builder: &mut CircuitBuilder<F, D>, shape: &Shape, reserve: usize) {
    for g in &shape.gates {
        builder.add_gate_to_gate_set(g.clone());
    }
    let target = (1usize << shape.degree_bits) - reserve;
    assert!(builder.num_gates() <= target, "shape too small: {} rows", builder.num_gates());
    while builder.num_gates() < target {
        builder.add_gate(NoopGate, vec![]);
    }
}

/// The wrap circuit: verifies one map (leaf) proof with fixed verifier data and re-exposes its
/// statement, followed by `vd_len` zero public inputs so its layout matches reduce proofs.
pub struct WrapCircuit {
    /// Circuit data (common data equals the shape's).
    pub data: CircuitData<F, Cfg, D>,
    leaf_proof: ProofWithPublicInputsTarget<D>,
}

impl WrapCircuit {
    /// Builds the wrap, padded to `shape` if given. The rows `build` adds (public-input
    /// hashing, constants) depend on the leaf verified (its gates' constraints are evaluated
    /// with constants), so the padding leaves [`BUILD_RESERVE_ROWS`] free, or twice as many, and
    /// so on, until the built circuit has the shape's size.
    fn build(
        leaf_common: &CommonCircuitData<F, D>,
        leaf_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
    ) -> (Self, usize) {
        let mut reserve = BUILD_RESERVE_ROWS;
        loop {
            let (b, leaf_proof, rows) =
                Self::wire_with_reserve(leaf_common, leaf_vd, shape, reserve);
            let data = b.build::<Cfg>();
            let fits = shape.is_none_or(|s| data.common.degree_bits() == s.degree_bits);
            if fits || reserve >= rows {
                return (Self { data, leaf_proof }, rows);
            }
            reserve *= 2;
        }
    }

    fn wire(
        leaf_common: &CommonCircuitData<F, D>,
        leaf_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
    ) -> (CircuitBuilder<F, D>, ProofWithPublicInputsTarget<D>, usize) {
        Self::wire_with_reserve(leaf_common, leaf_vd, shape, BUILD_RESERVE_ROWS)
    }

    fn wire_with_reserve(
        leaf_common: &CommonCircuitData<F, D>,
        leaf_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
        reserve: usize,
    ) -> (CircuitBuilder<F, D>, ProofWithPublicInputsTarget<D>, usize) {
        let mut b = CircuitBuilder::<F, D>::new(shape_config());
        let leaf_proof = b.add_virtual_proof_with_pis(leaf_common);
        let vd = b.constant_verifier_data(leaf_vd);
        b.verify_proof::<Cfg>(&leaf_proof, &vd, leaf_common);
        let statement = StatementTargets::from_slice(&leaf_proof.public_inputs);
        statement.register(&mut b);
        let zero = b.zero();
        let n_vd = 4 + 4 * b.config.fri_config.num_cap_elements();
        for _ in 0..n_vd {
            b.register_public_input(zero);
        }
        let rows = b.num_gates();
        if let Some(shape) = shape {
            pad_to_shape_with_reserve(&mut b, shape, reserve);
        }
        (b, leaf_proof, rows)
    }

    /// Proves the wrap of a leaf proof.
    ///
    /// # Errors
    /// When the leaf proof does not verify.
    pub fn prove(&self, leaf: &Proof) -> Result<Proof> {
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.leaf_proof, leaf)?;
        self.data.prove(pw)
    }
}

/// Which circuit proved a child of a reduce node or of the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// The wrap of a `header_map` leaf.
    HeaderWrap,
    /// The wrap of a `state_map` leaf.
    StateWrap,
    /// A reduce node.
    Reduce,
}

impl ChildKind {
    /// A wrap proof (of either leaf kind).
    pub fn is_leaf(self) -> bool {
        self != ChildKind::Reduce
    }
}

/// Targets of one child of a reduce node (or of the root).
pub(crate) struct ChildTargets {
    pub(crate) proof: ProofWithPublicInputsTarget<D>,
    pub(crate) is_leaf: BoolTarget,
    pub(crate) is_state: BoolTarget,
}

impl ChildTargets {
    pub(crate) fn add(b: &mut CircuitBuilder<F, D>, common: &CommonCircuitData<F, D>) -> Self {
        Self {
            proof: b.add_virtual_proof_with_pis(common),
            is_leaf: b.add_virtual_bool_target_safe(),
            is_state: b.add_virtual_bool_target_safe(),
        }
    }

    pub(crate) fn set(
        &self,
        pw: &mut PartialWitness<F>,
        proof: &Proof,
        kind: ChildKind,
    ) -> Result<()> {
        pw.set_proof_with_pis_target(&self.proof, proof)?;
        pw.set_bool_target(self.is_leaf, kind.is_leaf())?;
        pw.set_bool_target(self.is_state, kind == ChildKind::StateWrap)
    }

    /// The verifier data of the wrap circuit this child names (`is_state` picks one of the
    /// two constants), as elements.
    pub(crate) fn wrap_vd(
        &self,
        b: &mut CircuitBuilder<F, D>,
        wraps: &WrapVerifierData,
    ) -> Vec<Target> {
        let header = vd_elements(&b.constant_verifier_data(&wraps.header));
        let state = vd_elements(&b.constant_verifier_data(&wraps.state));
        header.iter().zip(&state).map(|(&h, &s)| b.select(self.is_state, s, h)).collect()
    }
}

/// The verifier data of the two wrap circuits.
#[derive(Clone, Debug)]
pub struct WrapVerifierData {
    /// Wrap of `header_map`.
    pub header: VerifierOnlyCircuitData<Cfg, D>,
    /// Wrap of `state_map`.
    pub state: VerifierOnlyCircuitData<Cfg, D>,
}

/// The reduce circuit: two children (wrap or reduce proofs) of adjacent, hash-linked ranges →
/// the merged statement.
///
/// Constrained: both children verify (against the wrap verifier data or `vd_self`), reduce
/// children expose `vd_self` and wrap children zeros, equal `program_hash`, `left.to_block + 1 == right.from_block`,
/// `left.last_hash == right.first_parent_hash`, merged aggregates.
pub struct ReduceCircuit {
    /// Circuit data (common data equals the shape's).
    pub data: CircuitData<F, Cfg, D>,
    left: ChildTargets,
    right: ChildTargets,
    vd_self: VerifierCircuitTarget,
}

/// The verifier data as field-element targets: digest, then the constants-sigmas cap.
pub(crate) fn vd_elements(vd: &VerifierCircuitTarget) -> Vec<Target> {
    let mut v = vd.circuit_digest.elements.to_vec();
    for h in &vd.constants_sigmas_cap.0 {
        v.extend_from_slice(&h.elements);
    }
    v
}

/// Inverse of [`vd_elements`].
pub(crate) fn vd_from_elements(elems: &[Target]) -> VerifierCircuitTarget {
    let hash = |c: &[Target]| HashOutTarget { elements: [c[0], c[1], c[2], c[3]] };
    VerifierCircuitTarget {
        circuit_digest: hash(&elems[..4]),
        constants_sigmas_cap: MerkleCapTarget(elems[4..].chunks(4).map(hash).collect()),
    }
}

impl ReduceCircuit {
    fn build(
        inner_common: &CommonCircuitData<F, D>,
        wraps: &WrapVerifierData,
        shape: Option<&Shape>,
    ) -> (Self, usize) {
        let (b, t, rows) = Self::wire(inner_common, wraps, shape);
        let data = b.build::<Cfg>();
        (Self { data, left: t.0, right: t.1, vd_self: t.2 }, rows)
    }

    fn wire(
        inner_common: &CommonCircuitData<F, D>,
        wraps: &WrapVerifierData,
        shape: Option<&Shape>,
    ) -> (CircuitBuilder<F, D>, (ChildTargets, ChildTargets, VerifierCircuitTarget), usize) {
        let mut b = CircuitBuilder::<F, D>::new(shape_config());
        let left = ChildTargets::add(&mut b, inner_common);
        let right = ChildTargets::add(&mut b, inner_common);
        let ls = StatementTargets::from_slice(&left.proof.public_inputs);
        let rs = StatementTargets::from_slice(&right.proof.public_inputs);

        b.connect_hashes(ls.program_hash, rs.program_hash);
        let next = b.add_const(ls.to_block, F::ONE);
        b.connect(next, rs.from_block);
        for i in 0..8 {
            b.connect(ls.last_hash[i], rs.first_parent_hash[i]);
        }
        let aggregates = core::array::from_fn(|j| {
            merge_partial_aggregates(&mut b, &ls.aggregates[j], &rs.aggregates[j])
        });
        let merged = StatementTargets {
            program_hash: ls.program_hash,
            from_block: ls.from_block,
            to_block: rs.to_block,
            first_parent_hash: ls.first_parent_hash,
            last_hash: rs.last_hash,
            aggregates,
        };
        merged.register(&mut b);

        // Must come last: the verifier data of this very circuit, as public inputs.
        let vd_self = b.add_verifier_data_public_inputs();
        let self_elems = vd_elements(&vd_self);
        for c in [&left, &right] {
            let wrap_elems = c.wrap_vd(&mut b, wraps);
            // A reduce child exposes `vd_self`, a wrap child zeros: `child_vd = not_leaf · vd_self`.
            // The verifier data it is checked against is then
            // `is_leaf · wrap_vd + not_leaf · vd_self = is_leaf · wrap_vd + child_vd`
            // (one multiplication per element instead of a select and a conditional check).
            let not_leaf = b.not(c.is_leaf);
            let child_vd = &c.proof.public_inputs[STATEMENT_LEN..];
            assert_eq!(child_vd.len(), self_elems.len(), "child verifier-data layout");
            assert_eq!(wrap_elems.len(), self_elems.len(), "wrap verifier-data layout");
            let mut vd_elems = Vec::with_capacity(self_elems.len());
            for ((&x, &s), &w) in child_vd.iter().zip(&self_elems).zip(&wrap_elems) {
                let m = b.mul(not_leaf.target, s);
                b.connect(x, m);
                vd_elems.push(b.mul_add(c.is_leaf.target, w, x));
            }
            let vd = vd_from_elements(&vd_elems);
            b.verify_proof::<Cfg>(&c.proof, &vd, inner_common);
        }
        let rows = b.num_gates();
        if let Some(shape) = shape {
            pad_to_shape(&mut b, shape);
        }
        (b, (left, right, vd_self), rows)
    }

    /// Proves a reduce node over two children, each proven by the circuit its [`ChildKind`]
    /// names.
    ///
    /// # Errors
    /// When a child does not verify or the children's statements do not chain.
    pub fn prove(
        &self,
        left: &Proof,
        left_kind: ChildKind,
        right: &Proof,
        right_kind: ChildKind,
    ) -> Result<Proof> {
        let mut pw = PartialWitness::new();
        self.left.set(&mut pw, left, left_kind)?;
        self.right.set(&mut pw, right, right_kind)?;
        pw.set_verifier_data_target(&self.vd_self, &self.data.verifier_only)?;
        self.data.prove(pw)
    }
}

/// Wrap (one per leaf kind) and reduce circuits padded to one shape.
///
/// A `state_map` proof (2^18 rows) is first verified by `state_shrink`, an unpadded wrap
/// (2^13 rows), and only that proof by `state_wrap`. Verifying a proof whose LDE has more than
/// 20 bits (degree 2^18 at rate 1/8) makes plonky2's FRI verifier use an `ExponentiationGate`
/// (`exp_from_bits_const_base`); in the shape's gate set it would cost the reduce circuit more
/// rows than 2^13 leaves room for.
pub struct ShapeCircuits {
    /// The shared common data.
    pub common: CommonCircuitData<F, D>,
    /// The wrap of `header_map` proofs.
    pub wrap: WrapCircuit,
    /// Verifies a `state_map` proof (not padded to the shape).
    pub state_shrink: WrapCircuit,
    /// The wrap of `state_shrink` proofs.
    pub state_wrap: WrapCircuit,
    /// The reduce circuit.
    pub reduce: ReduceCircuit,
}

/// A leaf circuit's common and verifier data.
pub type LeafData<'a> = (&'a CommonCircuitData<F, D>, &'a VerifierOnlyCircuitData<Cfg, D>);

impl ShapeCircuits {
    /// Builds the shape circuits for leaves of the given circuits (`header_map`, `state_map`),
    /// searching the smallest common shape (a fixpoint: the reduce circuit verifies proofs of
    /// its own shape).
    ///
    /// # Errors
    /// If no common shape is found within a few rounds (a bug).
    pub fn build(header: LeafData<'_>, state_leaf: LeafData<'_>) -> Result<Self> {
        let (state_shrink, _) = WrapCircuit::build(state_leaf.0, state_leaf.1, None);
        let state = (&state_shrink.data.common, &state_shrink.data.verifier_only);
        let (w0, w_rows) = WrapCircuit::build(header.0, header.1, None);
        let (s0, s_rows) = WrapCircuit::build(state.0, state.1, None);
        let wraps = WrapVerifierData {
            header: w0.data.verifier_only.clone(),
            state: s0.data.verifier_only.clone(),
        };
        let (r0, r_rows) = ReduceCircuit::build(&w0.data.common, &wraps, None);
        let mut gates = w0.data.common.gates.clone();
        for g in s0.data.common.gates.iter().chain(&r0.data.common.gates) {
            if !gates.contains(g) {
                gates.push(g.clone());
            }
        }
        let rows = w_rows.max(s_rows).max(r_rows) + BUILD_RESERVE_ROWS;
        let mut shape =
            Shape { gates, degree_bits: rows.next_power_of_two().trailing_zeros() as usize };
        for _ in 0..3 {
            let (wrap, _) = WrapCircuit::build(header.0, header.1, Some(&shape));
            let (state_wrap, _) = WrapCircuit::build(state.0, state.1, Some(&shape));
            let wraps = WrapVerifierData {
                header: wrap.data.verifier_only.clone(),
                state: state_wrap.data.verifier_only.clone(),
            };
            let (reduce, r_rows) = ReduceCircuit::build(&wrap.data.common, &wraps, Some(&shape));
            if reduce.data.common == wrap.data.common && state_wrap.data.common == wrap.data.common
            {
                let common = wrap.data.common.clone();
                return Ok(Self { common, wrap, state_shrink, state_wrap, reduce });
            }
            for g in &reduce.data.common.gates {
                if !shape.gates.contains(g) {
                    shape.gates.push(g.clone());
                }
            }
            let need = (r_rows + BUILD_RESERVE_ROWS).next_power_of_two().trailing_zeros() as usize;
            shape.degree_bits = shape.degree_bits.max(need);
        }
        anyhow::bail!("wrap and reduce circuits did not reach a common shape")
    }

    /// The two wrap circuits' verifier data.
    pub fn wrap_verifier_data(&self) -> WrapVerifierData {
        WrapVerifierData {
            header: self.wrap.data.verifier_only.clone(),
            state: self.state_wrap.data.verifier_only.clone(),
        }
    }

    /// Wraps a leaf proof of the kind's leaf circuit into the shape: `header_map` → `wrap`;
    /// `state_map` → `state_shrink` → `state_wrap`.
    ///
    /// # Errors
    /// When the leaf proof does not verify, or for [`ChildKind::Reduce`].
    pub fn wrap_leaf(&self, kind: ChildKind, leaf: &Proof) -> Result<Proof> {
        match kind {
            ChildKind::HeaderWrap => self.wrap.prove(leaf),
            ChildKind::StateWrap => self.state_wrap.prove(&self.state_shrink.prove(leaf)?),
            ChildKind::Reduce => anyhow::bail!("a reduce node has no wrap"),
        }
    }

    /// Pairs cached wrap and reduce circuit data with freshly wired targets.
    ///
    /// # Errors
    /// If they do not share common data.
    pub fn from_data(
        header: LeafData<'_>,
        state_leaf: LeafData<'_>,
        wrap: CircuitData<F, Cfg, D>,
        state_shrink: CircuitData<F, Cfg, D>,
        state_wrap: CircuitData<F, Cfg, D>,
        reduce: CircuitData<F, Cfg, D>,
    ) -> Result<Self> {
        ensure!(
            wrap.common == reduce.common && state_wrap.common == reduce.common,
            "cached wrap and reduce circuits differ in shape"
        );
        let shape =
            Shape { gates: wrap.common.gates.clone(), degree_bits: wrap.common.degree_bits() };
        let (_, leaf_proof, _) = WrapCircuit::wire(header.0, header.1, Some(&shape));
        let (_, shrink_proof, _) = WrapCircuit::wire(state_leaf.0, state_leaf.1, None);
        let (_, state_proof, _) =
            WrapCircuit::wire(&state_shrink.common, &state_shrink.verifier_only, Some(&shape));
        let wraps = WrapVerifierData {
            header: wrap.verifier_only.clone(),
            state: state_wrap.verifier_only.clone(),
        };
        let (_, t, _) = ReduceCircuit::wire(&wrap.common, &wraps, Some(&shape));
        Ok(Self {
            common: wrap.common.clone(),
            wrap: WrapCircuit { data: wrap, leaf_proof },
            state_shrink: WrapCircuit { data: state_shrink, leaf_proof: shrink_proof },
            state_wrap: WrapCircuit { data: state_wrap, leaf_proof: state_proof },
            reduce: ReduceCircuit { data: reduce, left: t.0, right: t.1, vd_self: t.2 },
        })
    }

    /// Verifies a reduce proof and checks that its `vd_self` is the real reduce verifier data.
    ///
    /// # Errors
    /// When the proof does not verify or claims other verifier data.
    pub fn verify_reduce(&self, proof: &Proof) -> Result<()> {
        self.reduce.data.verify(proof.clone())?;
        check_vd_self(proof, &self.reduce.data.verifier_only)
    }
}

/// Checks that a shape proof's trailing public inputs equal the given verifier data.
///
/// # Errors
/// When they differ.
pub fn check_vd_self(
    proof: &ProofWithPublicInputs<F, Cfg, D>,
    vd: &VerifierOnlyCircuitData<Cfg, D>,
) -> Result<()> {
    let pis = &proof.public_inputs[STATEMENT_LEN..];
    let mut expect = vd.circuit_digest.elements.to_vec();
    for h in &vd.constants_sigmas_cap.0 {
        expect.extend_from_slice(&h.elements);
    }
    ensure!(pis == expect.as_slice(), "proof claims verifier data of another circuit");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape circuits keep at least 100 conjectured bits of FRI security
    /// (`rate_bits · num_query_rounds + proof_of_work_bits`), as the leaf and root do.
    #[test]
    fn shape_config_has_100_conjectured_bits() {
        let c = shape_config().fri_config;
        let bits = c.rate_bits * c.num_query_rounds + c.proof_of_work_bits as usize;
        assert!(bits >= 100, "{bits} conjectured bits");
        assert_eq!(shape_config().security_bits, 100);
    }
}

//! The shape circuits of the MapReduce tree: **wrap** (one map proof → the common shape) and
//! **reduce** (two shape proofs → one), which share one [`CommonCircuitData`] so that a reduce
//! node verifies either kind of child with the same verifier gadget.
//!
//! # Allowed circuits
//! A reduce circuit verifies each child against verifier data chosen by a witness bit
//! `is_leaf`: the wrap circuit's verifier data (a constant baked into the reduce circuit) or
//! the reduce circuit's own verifier data. The latter cannot be a constant (it depends on the
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
    for g in &shape.gates {
        builder.add_gate_to_gate_set(g.clone());
    }
    let target = (1usize << shape.degree_bits) - BUILD_RESERVE_ROWS;
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
    fn build(
        leaf_common: &CommonCircuitData<F, D>,
        leaf_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
    ) -> (Self, usize) {
        let (b, leaf_proof, rows) = Self::wire(leaf_common, leaf_vd, shape);
        (Self { data: b.build::<Cfg>(), leaf_proof }, rows)
    }

    fn wire(
        leaf_common: &CommonCircuitData<F, D>,
        leaf_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
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
            pad_to_shape(&mut b, shape);
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

/// Targets of one child of a reduce node.
struct ChildTargets {
    proof: ProofWithPublicInputsTarget<D>,
    is_leaf: BoolTarget,
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

fn vd_elements(vd: &VerifierCircuitTarget) -> Vec<Target> {
    let mut v = vd.circuit_digest.elements.to_vec();
    for h in &vd.constants_sigmas_cap.0 {
        v.extend_from_slice(&h.elements);
    }
    v
}

/// Inverse of [`vd_elements`].
fn vd_from_elements(elems: &[Target]) -> VerifierCircuitTarget {
    let hash = |c: &[Target]| HashOutTarget { elements: [c[0], c[1], c[2], c[3]] };
    VerifierCircuitTarget {
        circuit_digest: hash(&elems[..4]),
        constants_sigmas_cap: MerkleCapTarget(elems[4..].chunks(4).map(hash).collect()),
    }
}

impl ReduceCircuit {
    fn build(
        inner_common: &CommonCircuitData<F, D>,
        wrap_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
    ) -> (Self, usize) {
        let (b, t, rows) = Self::wire(inner_common, wrap_vd, shape);
        let data = b.build::<Cfg>();
        (Self { data, left: t.0, right: t.1, vd_self: t.2 }, rows)
    }

    fn wire(
        inner_common: &CommonCircuitData<F, D>,
        wrap_vd: &VerifierOnlyCircuitData<Cfg, D>,
        shape: Option<&Shape>,
    ) -> (CircuitBuilder<F, D>, (ChildTargets, ChildTargets, VerifierCircuitTarget), usize) {
        let mut b = CircuitBuilder::<F, D>::new(shape_config());
        let child = |b: &mut CircuitBuilder<F, D>| ChildTargets {
            proof: b.add_virtual_proof_with_pis(inner_common),
            is_leaf: b.add_virtual_bool_target_safe(),
        };
        let left = child(&mut b);
        let right = child(&mut b);
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
        let wrap_vd_t = b.constant_verifier_data(wrap_vd);
        let self_elems = vd_elements(&vd_self);
        let wrap_elems = vd_elements(&wrap_vd_t);
        for c in [&left, &right] {
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

    /// Proves a reduce node over two children; `*_is_leaf` says whether each child is a wrap
    /// proof (else a reduce proof).
    ///
    /// # Errors
    /// When a child does not verify or the children's statements do not chain.
    pub fn prove(
        &self,
        left: &Proof,
        left_is_leaf: bool,
        right: &Proof,
        right_is_leaf: bool,
    ) -> Result<Proof> {
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.left.proof, left)?;
        pw.set_bool_target(self.left.is_leaf, left_is_leaf)?;
        pw.set_proof_with_pis_target(&self.right.proof, right)?;
        pw.set_bool_target(self.right.is_leaf, right_is_leaf)?;
        pw.set_verifier_data_target(&self.vd_self, &self.data.verifier_only)?;
        self.data.prove(pw)
    }
}

/// Wrap and reduce circuits padded to one shape.
pub struct ShapeCircuits {
    /// The shared common data.
    pub common: CommonCircuitData<F, D>,
    /// The wrap circuit.
    pub wrap: WrapCircuit,
    /// The reduce circuit.
    pub reduce: ReduceCircuit,
}

impl ShapeCircuits {
    /// Builds both shape circuits for leaves of the given circuit, searching the smallest
    /// common shape (a fixpoint: the reduce circuit verifies proofs of its own shape).
    ///
    /// # Errors
    /// If no common shape is found within a few rounds (a bug).
    pub fn build(
        leaf_common: &CommonCircuitData<F, D>,
        leaf_vd: &VerifierOnlyCircuitData<Cfg, D>,
    ) -> Result<Self> {
        let (w0, w_rows) = WrapCircuit::build(leaf_common, leaf_vd, None);
        let (r0, r_rows) = ReduceCircuit::build(&w0.data.common, &w0.data.verifier_only, None);
        let mut gates = w0.data.common.gates.clone();
        for g in &r0.data.common.gates {
            if !gates.contains(g) {
                gates.push(g.clone());
            }
        }
        let rows = w_rows.max(r_rows) + BUILD_RESERVE_ROWS;
        let mut shape =
            Shape { gates, degree_bits: rows.next_power_of_two().trailing_zeros() as usize };
        for _ in 0..3 {
            let (wrap, _) = WrapCircuit::build(leaf_common, leaf_vd, Some(&shape));
            let (reduce, r_rows) =
                ReduceCircuit::build(&wrap.data.common, &wrap.data.verifier_only, Some(&shape));
            if reduce.data.common == wrap.data.common {
                return Ok(Self { common: wrap.data.common.clone(), wrap, reduce });
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

    /// Pairs cached wrap and reduce circuit data with freshly wired targets.
    ///
    /// # Errors
    /// If the two do not share common data.
    pub fn from_data(
        leaf: &CircuitData<F, Cfg, D>,
        wrap: CircuitData<F, Cfg, D>,
        reduce: CircuitData<F, Cfg, D>,
    ) -> Result<Self> {
        ensure!(wrap.common == reduce.common, "cached wrap and reduce circuits differ in shape");
        let shape =
            Shape { gates: wrap.common.gates.clone(), degree_bits: wrap.common.degree_bits() };
        let (_, leaf_proof, _) = WrapCircuit::wire(&leaf.common, &leaf.verifier_only, Some(&shape));
        let (_, t, _) = ReduceCircuit::wire(&wrap.common, &wrap.verifier_only, Some(&shape));
        Ok(Self {
            common: wrap.common.clone(),
            wrap: WrapCircuit { data: wrap, leaf_proof },
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

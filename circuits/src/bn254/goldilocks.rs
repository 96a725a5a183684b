//! Goldilocks arithmetic (`p = 2^64 − 2^32 + 1`) and its quadratic extension
//! (`F_p[X]/(X^2 − 7)`, plonky2's `QuadraticExtension`) emulated in an R1CS over BN254 `Fr`:
//! the field the R1CS verifier of the last plonky2 proof computes in (issue 6, step 3).
//!
//! # Representation and reduction
//! A [`GoldilocksVar`] is one `Fr` variable holding the canonical value (`< p`), range-checked
//! when it is allocated or produced: 64 boolean bits, and "high half all ones ⇒ low half zero"
//! (that is, `x ≤ p − 1 = 0xffffffff_00000000`). Operations compute the exact integer result in
//! `Fr` (no wrap-around: every intermediate is below `2^132 ≪ r`) and reduce it once:
//! witnesses `q`, `r` with `x = q·p + r`, `q` range-checked to `bits − 63` bits (so
//! `q·p + r < 2^(bits+2) < r_BN254`, hence the equality holds over the integers) and `r`
//! canonical. The witnesses are hints; the equality and the range checks are what bind them.
//!
//! # Cost (R1CS constraints, measured by the tests)
//! `add`, `sub`, `mul` and `mul_add` together 413 (each is one reduction: ~68 for the
//! canonical remainder plus the quotient's bits); an extension `mul` 276 (four products, two
//! reductions).

use alloy_primitives::U256;
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::R1CSVar;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};
use plonky2::field::extension::quadratic::QuadraticExtension;
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::{Field, PrimeField64};

/// The Goldilocks modulus.
pub const P: u64 = 0xffff_ffff_0000_0001;
/// plonky2's quadratic non-residue `W`: the extension is `F_p[X]/(X^2 − W)`.
pub const W: u64 = 7;

type Result<T> = core::result::Result<T, SynthesisError>;

/// The integer value of an `Fr` variable, when the constraint system has values.
fn value_of(x: &FpVar<Fr>) -> Option<U256> {
    x.value().ok().map(|v| U256::from_le_slice(&v.into_bigint().to_bytes_le()))
}

fn fr(v: U256) -> Fr {
    Fr::from_le_bytes_mod_order(&v.to_le_bytes::<32>())
}

/// `n` boolean witnesses and the `Fr` variable `Σ b_i 2^i` (so `< 2^n`); `value`'s bits past
/// `n` are dropped (a wrong hint then fails the caller's equality).
fn alloc_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<U256>,
    n: usize,
) -> Result<(FpVar<Fr>, Vec<Boolean<Fr>>)> {
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value.map(|v| v.bit(i)).ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((Boolean::le_bits_to_fp(&bits)?, bits))
}

/// `⌈log2 n⌉` (0 for `n ≤ 1`): the bits a sum of `n` terms adds to their bound.
fn ceil_log2(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// Constrains the `Fr` variable `x`, whose integer value is below `2^bits` (`64 <= bits <=
/// 250`), to be a multiple of `p`: `x = k · p` with `k < 2^(bits − 63)` (so the equality holds
/// over the integers). About `bits − 62` constraints.
fn enforce_multiple_of_p(x: &FpVar<Fr>, bits: usize) -> Result<()> {
    assert!((64..=250).contains(&bits), "bound 2^{bits} out of range");
    if let FpVar::Constant(c) = x {
        let v = U256::from_le_slice(&c.into_bigint().to_bytes_le());
        return if v % U256::from(P) == U256::ZERO {
            Ok(())
        } else {
            Err(SynthesisError::Unsatisfiable)
        };
    }
    let (k, _) = alloc_bits(&x.cs(), value_of(x).map(|v| v / U256::from(P)), bits - 63)?;
    (k * fr(U256::from(P))).enforce_equal(x)
}

/// A canonical extension witness `q` with `q · d ≡ n (mod p)` coordinate-wise, `n` and `d`
/// given as unreduced `Fr` variables with integer values `n_i < p^2`, `d_i < 2p` (and their
/// values, when known, reduced). The check: `q0 d0 + 7 q1 d1 + p^2 − n0` and
/// `q0 d1 + q1 d0 + p^2 − n1` (nonnegative, below `17 p^2 < 2^134`) are multiples of `p`.
pub(crate) fn enforce_ext_quotient(
    n: &[FpVar<Fr>; 2],
    n_value: Option<QuadraticExtension<GoldilocksField>>,
    d: &[FpVar<Fr>; 2],
    d_value: Option<QuadraticExtension<GoldilocksField>>,
) -> Result<GoldilocksExtVar> {
    let cs =
        [&n[0], &n[1], &d[0], &d[1]].iter().fold(ConstraintSystemRef::None, |cs, v| cs.or(v.cs()));
    if cs.is_none() {
        let q = n_value.zip(d_value).and_then(|(a, b)| Some(a * b.try_inverse()?));
        return Ok(GoldilocksExtVar::constant(q.ok_or(SynthesisError::DivisionByZero)?));
    }
    let q = n_value.zip(d_value).map(|(a, b)| a * b.try_inverse().unwrap_or(Field::ZERO));
    let q = GoldilocksExtVar::new_witness(&cs, q)?;
    let [q0, q1] = [q.0[0].fr(), q.0[1].fr()];
    let p2 = fr(U256::from(P) * U256::from(P));
    let c0 = q0 * &d[0] + (q1 * &d[1]) * Fr::from(W) + p2 - &n[0];
    let c1 = q0 * &d[1] + q1 * &d[0] + p2 - &n[1];
    enforce_multiple_of_p(&c0, 134)?;
    enforce_multiple_of_p(&c1, 134)?;
    Ok(q)
}

/// An element of Goldilocks in the R1CS: one `Fr` variable, constrained `< p`.
#[derive(Clone, Debug)]
pub struct GoldilocksVar(FpVar<Fr>);

impl GoldilocksVar {
    /// A constant (no constraints).
    pub fn constant(x: GoldilocksField) -> Self {
        Self(FpVar::constant(Fr::from(x.to_canonical_u64())))
    }

    /// A witness, range-checked to `[0, p)`. `value` is `None` in setup mode; a value `≥ p`
    /// (only reachable through this raw form) leaves the system unsatisfied.
    pub fn new_witness_u64(cs: &ConstraintSystemRef<Fr>, value: Option<u64>) -> Result<Self> {
        let (x, bits) = alloc_bits(cs, value.map(U256::from), 64)?;
        // x ≤ 0xffffffff_00000000: when the high 32 bits are all ones, the low 32 are zero.
        let high_all_ones = Boolean::kary_and(&bits[32..])?;
        let low = Boolean::le_bits_to_fp(&bits[..32])?;
        let low_if_high = FpVar::from(high_all_ones) * &low;
        low_if_high.enforce_equal(&FpVar::zero())?;
        Ok(Self(x))
    }

    /// A witness of a field element.
    pub fn new_witness(
        cs: &ConstraintSystemRef<Fr>,
        value: Option<GoldilocksField>,
    ) -> Result<Self> {
        Self::new_witness_u64(cs, value.map(|v| v.to_canonical_u64()))
    }

    /// The value of at most 63 little-endian bits (below `2^63 < p`, so canonical without
    /// further checks; the bits must be boolean-constrained, as [`Boolean`] variables are).
    pub fn from_bits_le(bits: &[Boolean<Fr>]) -> Result<Self> {
        assert!(bits.len() <= 63, "{} bits may exceed p", bits.len());
        Ok(Self(Boolean::le_bits_to_fp(bits)?))
    }

    /// The `Fr` variable (canonical value).
    pub fn fr(&self) -> &FpVar<Fr> {
        &self.0
    }

    /// The value, when the system has values.
    pub fn value(&self) -> Option<GoldilocksField> {
        value_of(&self.0).map(|v| GoldilocksField::from_canonical_u64(v.to::<u64>()))
    }

    /// Reduces an `Fr` variable whose integer value is below `2^bits` (the caller's bound,
    /// from how it was computed; `64 <= bits <= 250`) mod `p`.
    pub fn reduce(x: &FpVar<Fr>, bits: usize) -> Result<Self> {
        if let FpVar::Constant(c) = x {
            let v = U256::from_le_slice(&c.into_bigint().to_bytes_le()) % U256::from(P);
            return Ok(Self(FpVar::constant(fr(v))));
        }
        let hint = value_of(x).map(|v| (v / U256::from(P), v % U256::from(P)));
        Self::reduce_with_hint(x, bits, hint)
    }

    /// [`GoldilocksVar::reduce`] with the quotient and remainder given (tests tamper with
    /// them): `x = q·p + r`, `q < 2^(bits − 63)`, `r` canonical.
    fn reduce_with_hint(x: &FpVar<Fr>, bits: usize, hint: Option<(U256, U256)>) -> Result<Self> {
        assert!((64..=250).contains(&bits), "reduce bound 2^{bits} out of range");
        let cs = x.cs();
        let (q, _) = alloc_bits(&cs, hint.map(|h| h.0), bits - 63)?;
        let r = Self::new_witness_u64(&cs, hint.map(|h| h.1.saturating_to::<u64>()))?;
        let recomposed = q * fr(U256::from(P)) + &r.0;
        recomposed.enforce_equal(x)?;
        Ok(r)
    }

    /// `a + b mod p`.
    pub fn add(&self, other: &Self) -> Result<Self> {
        Self::reduce(&(&self.0 + &other.0), 65)
    }

    /// `a − b mod p` (computed as `a + p − b ∈ [1, 2p)`).
    pub fn sub(&self, other: &Self) -> Result<Self> {
        Self::reduce(&(&self.0 + fr(U256::from(P)) - &other.0), 65)
    }

    /// `a · b mod p`.
    pub fn mul(&self, other: &Self) -> Result<Self> {
        Self::reduce(&(&self.0 * &other.0), 128)
    }

    /// `a · b + c mod p`, one reduction.
    pub fn mul_add(&self, other: &Self, c: &Self) -> Result<Self> {
        Self::reduce(&(&self.0 * &other.0 + &c.0), 129)
    }

    /// Constrains `self = other`.
    pub fn enforce_equal(&self, other: &Self) -> Result<()> {
        self.0.enforce_equal(&other.0)
    }

    /// The 64 little-endian bits of the canonical value: boolean witnesses whose weighted sum
    /// equals it (unique, as `Σ b_i 2^i < 2^64 < r`); constant bits for a constant. 65
    /// constraints.
    pub fn to_bits_le(&self) -> Result<Vec<Boolean<Fr>>> {
        if let FpVar::Constant(_) = &self.0 {
            let v = self.value().expect("a constant has a value").to_canonical_u64();
            return Ok((0..64).map(|i| Boolean::constant((v >> i) & 1 == 1)).collect());
        }
        let (x, bits) = alloc_bits(&self.0.cs(), value_of(&self.0), 64)?;
        x.enforce_equal(&self.0)?;
        Ok(bits)
    }

    /// `a^{-1}`: a witness `b` with `a · b = 1` (unsatisfiable for `a = 0`); computed natively
    /// for a constant.
    pub fn inverse(&self) -> Result<Self> {
        if self.0.is_constant() {
            let v = self.value().expect("a constant has a value");
            return Ok(Self::constant(v.try_inverse().ok_or(SynthesisError::DivisionByZero)?));
        }
        let inv = self.value().map(|v| v.try_inverse().unwrap_or(GoldilocksField::ZERO));
        let b = Self::new_witness(&self.0.cs(), inv)?;
        self.mul(&b)?.enforce_equal(&Self::constant(GoldilocksField::ONE))?;
        Ok(b)
    }
}

/// An element `c0 + c1·X` of the quadratic extension `F_p[X]/(X^2 − 7)`.
#[derive(Clone, Debug)]
pub struct GoldilocksExtVar(pub [GoldilocksVar; 2]);

impl GoldilocksExtVar {
    /// A constant.
    pub fn constant(x: QuadraticExtension<GoldilocksField>) -> Self {
        Self([GoldilocksVar::constant(x.0[0]), GoldilocksVar::constant(x.0[1])])
    }

    /// A witness, both coordinates range-checked.
    pub fn new_witness(
        cs: &ConstraintSystemRef<Fr>,
        value: Option<QuadraticExtension<GoldilocksField>>,
    ) -> Result<Self> {
        Ok(Self([
            GoldilocksVar::new_witness(cs, value.map(|v| v.0[0]))?,
            GoldilocksVar::new_witness(cs, value.map(|v| v.0[1]))?,
        ]))
    }

    /// The value, when the system has values.
    pub fn value(&self) -> Option<QuadraticExtension<GoldilocksField>> {
        Some(QuadraticExtension([self.0[0].value()?, self.0[1].value()?]))
    }

    /// Coordinate-wise sum.
    pub fn add(&self, other: &Self) -> Result<Self> {
        Ok(Self([self.0[0].add(&other.0[0])?, self.0[1].add(&other.0[1])?]))
    }

    /// Coordinate-wise difference.
    pub fn sub(&self, other: &Self) -> Result<Self> {
        Ok(Self([self.0[0].sub(&other.0[0])?, self.0[1].sub(&other.0[1])?]))
    }

    /// `(a0 + a1 X)(b0 + b1 X) = (a0 b0 + 7 a1 b1) + (a0 b1 + a1 b0) X`, each coordinate
    /// reduced once (bounds `8·2^128` and `2·2^128`).
    pub fn mul(&self, other: &Self) -> Result<Self> {
        let [a0, a1] = [self.0[0].fr(), self.0[1].fr()];
        let [b0, b1] = [other.0[0].fr(), other.0[1].fr()];
        let c0 = a0 * b0 + (a1 * b1) * Fr::from(W);
        let c1 = a0 * b1 + a1 * b0;
        Ok(Self([GoldilocksVar::reduce(&c0, 131)?, GoldilocksVar::reduce(&c1, 129)?]))
    }

    /// `self · s + c` for a base-field `s`, one reduction per coordinate (Horner's step for
    /// evaluating at a base-field point).
    pub fn scalar_mul_add(&self, s: &GoldilocksVar, c: &Self) -> Result<Self> {
        let c0 = self.0[0].fr() * s.fr() + c.0[0].fr();
        let c1 = self.0[1].fr() * s.fr() + c.0[1].fr();
        Ok(Self([GoldilocksVar::reduce(&c0, 129)?, GoldilocksVar::reduce(&c1, 129)?]))
    }

    /// `Σ a_i · b_i` over the extension with one reduction per coordinate (each coordinate of
    /// a product is below `8 · 2^128`, the sum below `2^(131 + ⌈log2 n⌉)`): four constraints
    /// per product of two variables.
    pub fn inner_product(a: &[Self], b: &[Self]) -> Result<Self> {
        assert_eq!(a.len(), b.len(), "inner product of unequal lengths");
        let (mut c0, mut c1) = (FpVar::zero(), FpVar::zero());
        for (x, y) in a.iter().zip(b) {
            let [x0, x1] = [x.0[0].fr(), x.0[1].fr()];
            let [y0, y1] = [y.0[0].fr(), y.0[1].fr()];
            c0 += x0 * y0 + (x1 * y1) * Fr::from(W);
            c1 += x0 * y1 + x1 * y0;
        }
        let bits = 131 + ceil_log2(a.len());
        Ok(Self([GoldilocksVar::reduce(&c0, bits)?, GoldilocksVar::reduce(&c1, bits)?]))
    }

    /// `Σ a_i · b_i` of extension `a_i` and base-field `b_i`, one reduction per coordinate
    /// (bound `2^(128 + ⌈log2 n⌉)`): two constraints per product of two variables.
    pub fn inner_product_base(a: &[Self], b: &[GoldilocksVar]) -> Result<Self> {
        assert_eq!(a.len(), b.len(), "inner product of unequal lengths");
        let (mut c0, mut c1) = (FpVar::zero(), FpVar::zero());
        for (x, y) in a.iter().zip(b) {
            c0 += x.0[0].fr() * y.fr();
            c1 += x.0[1].fr() * y.fr();
        }
        let bits = 128 + ceil_log2(a.len());
        Ok(Self([GoldilocksVar::reduce(&c0, bits)?, GoldilocksVar::reduce(&c1, bits)?]))
    }

    /// `self / d`: a canonical witness `q` with `q · d ≡ self (mod p)` in both coordinates,
    /// checked on the unreduced products (`q0 d0 + 7 q1 d1 − n0` and `q0 d1 + q1 d0 − n1` are
    /// multiples of `p`: about 275 constraints, less than a multiplication plus an equality).
    /// Unsatisfiable for `d = 0` unless `self = 0`, when `q` is free: callers divide by values
    /// that are nonzero except with negligible probability (`x − zeta`, `beta − x`).
    pub fn div(&self, d: &Self) -> Result<Self> {
        let n = [self.0[0].fr().clone(), self.0[1].fr().clone()];
        let dv = [d.0[0].fr().clone(), d.0[1].fr().clone()];
        enforce_ext_quotient(&n, self.value(), &dv, d.value())
    }

    /// Constrains `self = other`.
    pub fn enforce_equal(&self, other: &Self) -> Result<()> {
        self.0[0].enforce_equal(&other.0[0])?;
        self.0[1].enforce_equal(&other.0[1])
    }

    /// `s · (c0 + c1 X)` for a base-field `s`.
    pub fn scalar_mul(&self, s: &GoldilocksVar) -> Result<Self> {
        Ok(Self([self.0[0].mul(s)?, self.0[1].mul(s)?]))
    }

    /// The inverse: a witness `b` with `a · b = 1` (unsatisfiable for `a = 0`); computed
    /// natively for a constant.
    pub fn inverse(&self) -> Result<Self> {
        if self.0.iter().all(|c| c.fr().is_constant()) {
            let v = self.value().expect("a constant has a value");
            return Ok(Self::constant(v.try_inverse().ok_or(SynthesisError::DivisionByZero)?));
        }
        let cs = self.0[0].fr().cs().or(self.0[1].fr().cs());
        let inv = self.value().map(|v| v.try_inverse().unwrap_or(Field::ZERO));
        let b = Self::new_witness(&cs, inv)?;
        let one = Self::constant(QuadraticExtension([GoldilocksField::ONE, GoldilocksField::ZERO]));
        self.mul(&b)?.enforce_equal(&one)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;
    use plonky2::field::extension::FieldExtension;
    use plonky2::field::types::Sample;

    type F = GoldilocksField;
    type E = QuadraticExtension<F>;

    fn edge_values() -> Vec<F> {
        let mut v: Vec<F> = [0, 1, 2, P - 1, P - 2, 1 << 32, (1 << 32) - 1, u64::MAX - P]
            .iter()
            .map(|&x| F::from_canonical_u64(x))
            .collect();
        v.extend((0..8).map(|_| F::rand()));
        v
    }

    #[test]
    fn base_field_ops_equal_plonky2() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let values = edge_values();
        let vars: Vec<GoldilocksVar> =
            values.iter().map(|v| GoldilocksVar::new_witness(&cs, Some(*v)).unwrap()).collect();
        let before = cs.num_constraints();
        for (i, (a, av)) in values.iter().zip(&vars).enumerate() {
            for (b, bv) in values.iter().zip(&vars) {
                assert_eq!(av.add(bv).unwrap().value(), Some(*a + *b));
                assert_eq!(av.sub(bv).unwrap().value(), Some(*a - *b));
                assert_eq!(av.mul(bv).unwrap().value(), Some(*a * *b));
                let c = &vars[(i + 3) % vars.len()];
                let expected = *a * *b + c.value().unwrap();
                assert_eq!(av.mul_add(bv, c).unwrap().value(), Some(expected));
            }
        }
        assert!(cs.is_satisfied().unwrap());
        let n = values.len() * values.len();
        eprintln!("add + sub + mul + mul_add: {} constraints", (cs.num_constraints() - before) / n);
        let c = GoldilocksVar::constant(values[3]);
        c.enforce_equal(&vars[3]).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // Inverses: of a variable (checked by a product), of a constant (native); 0 has none.
        let x = values[9];
        assert_eq!(vars[9].inverse().unwrap().value(), Some(x.inverse()));
        assert_eq!(GoldilocksVar::constant(x).inverse().unwrap().value(), Some(x.inverse()));
        assert!(GoldilocksVar::constant(F::ZERO).inverse().is_err());
        assert!(cs.is_satisfied().unwrap());
        vars[0].inverse().unwrap();
        assert!(!cs.is_satisfied().unwrap(), "0 has no inverse");
    }

    #[test]
    fn extension_ops_equal_plonky2() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let edge = edge_values();
        let values: Vec<E> = (0..edge.len())
            .map(|i| E::from_basefield_array([edge[i], edge[(i * 5 + 1) % edge.len()]]))
            .collect();
        let vars: Vec<GoldilocksExtVar> =
            values.iter().map(|v| GoldilocksExtVar::new_witness(&cs, Some(*v)).unwrap()).collect();
        for (a, av) in values.iter().zip(&vars) {
            for (b, bv) in values.iter().zip(&vars) {
                let before = cs.num_constraints();
                assert_eq!(av.mul(bv).unwrap().value(), Some(*a * *b));
                if std::ptr::eq(av, &vars[0]) && std::ptr::eq(bv, &vars[1]) {
                    eprintln!("extension mul: {} constraints", cs.num_constraints() - before);
                }
                assert_eq!(av.add(bv).unwrap().value(), Some(*a + *b));
                assert_eq!(av.sub(bv).unwrap().value(), Some(*a - *b));
            }
        }
        let x = values[9];
        assert_eq!(vars[9].inverse().unwrap().value(), Some(x.inverse()));
        assert_eq!(GoldilocksExtVar::constant(x).inverse().unwrap().value(), Some(x.inverse()));
        for (i, j) in [(9, 3), (4, 10), (1, 2)] {
            let q = vars[i].div(&vars[j]).unwrap();
            assert_eq!(q.value(), Some(values[i] / values[j]));
        }
        // Inner products (one reduction per coordinate) and Horner's step.
        let base: Vec<GoldilocksVar> = vars.iter().map(|v| v.0[1].clone()).collect();
        let dot: E = values.iter().zip(&values).map(|(a, b)| *a * *b).sum();
        assert_eq!(GoldilocksExtVar::inner_product(&vars, &vars).unwrap().value(), Some(dot));
        let dot: E = values.iter().map(|a| *a * E::from(a.0[1])).sum();
        assert_eq!(GoldilocksExtVar::inner_product_base(&vars, &base).unwrap().value(), Some(dot));
        let s = &vars[5].0[0];
        let horner = vars[2].scalar_mul_add(s, &vars[3]).unwrap().value();
        assert_eq!(horner, Some(values[2] * E::from(values[5].0[0]) + values[3]));
        assert!(cs.is_satisfied().unwrap());
    }

    /// A quotient hint that is not `n / d` leaves the division unsatisfied; the right one
    /// satisfies it.
    #[test]
    fn a_wrong_quotient_is_unsatisfiable() {
        let (n, d) = (E::rand(), E::rand());
        for hint in [n, n + E::ONE] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let nv = GoldilocksExtVar::new_witness(&cs, Some(n)).unwrap();
            let dv = GoldilocksExtVar::new_witness(&cs, Some(d)).unwrap();
            let q = enforce_ext_quotient(
                &[nv.0[0].fr().clone(), nv.0[1].fr().clone()],
                Some(hint),
                &[dv.0[0].fr().clone(), dv.0[1].fr().clone()],
                Some(d),
            )
            .unwrap();
            assert_eq!(q.value(), Some(hint / d));
            assert_eq!(cs.is_satisfied().unwrap(), hint == n, "hint {hint:?}");
        }
    }

    #[test]
    fn non_canonical_values_and_wrong_hints_are_unsatisfiable() {
        // p itself, and others with the high half all ones and the low half non-zero, are not
        // canonical.
        for raw in [P, 0xffff_ffff_8000_0000, u64::MAX] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            GoldilocksVar::new_witness_u64(&cs, Some(raw)).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "{raw:#x} accepted");
        }
        let cs = ConstraintSystem::<Fr>::new_ref();
        GoldilocksVar::new_witness_u64(&cs, Some(P - 1)).unwrap();
        assert!(cs.is_satisfied().unwrap());

        // a · b with a small remainder ((p − 1)^2 ≡ 1): (q − 1, r + p) satisfies the equation but not the range
        // check; (q + 1, r) and (q, r + 1) do not satisfy the equation.
        let (a, b) = (F::NEG_ONE, F::NEG_ONE);
        let product = U256::from(P - 1) * U256::from(P - 1);
        let (q, r) = (product / U256::from(P), product % U256::from(P));
        assert!(r + U256::from(P) < U256::from(u64::MAX));
        let hints = [
            (q, r, true),
            (q - U256::from(1), r + U256::from(P), false),
            (q + U256::from(1), r, false),
            (q, r + U256::from(1), false),
        ];
        for (q, r, ok) in hints {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let av = GoldilocksVar::new_witness(&cs, Some(a)).unwrap();
            let bv = GoldilocksVar::new_witness(&cs, Some(b)).unwrap();
            let x = av.fr() * bv.fr();
            GoldilocksVar::reduce_with_hint(&x, 128, Some((q, r))).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "hint ({q}, {r})");
        }
    }
}

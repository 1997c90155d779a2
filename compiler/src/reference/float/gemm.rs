//! Gemm and MatMul on `matrixmultiply`'s strided sgemm/dgemm, with the fused activation applied
//! at the end. Integer MatMul (which ONNX allows) uses a plain triple loop with wrapping adds.

use super::activation;
use super::broadcast;
use super::num::{dispatch_num, Num, Real};
use super::{err, input, max_inputs, opt_input, tensor, typed};
use crate::error::KernelError;
use crate::ir::op::{Activation, GemmAttrs};
use crate::tensor::{DType, Tensor};

/// One GEMM problem, `C[m×n] = alpha · A[m×k] · B[k×n] + beta · C`: its sizes and scalars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GemmProblem<T> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: T,
    pub beta: T,
}

impl<T: Real> GemmProblem<T> {
    /// `C = A · B` (alpha 1, beta 0).
    pub fn product(m: usize, k: usize, n: usize) -> GemmProblem<T> {
        GemmProblem {
            m,
            k,
            n,
            alpha: T::ONE,
            beta: T::ZERO,
        }
    }
}

/// A float type with a BLAS-like kernel.
pub trait GemmScalar: Real {
    /// Problem `p` on strided row/column views (each pointer with its (row, column) strides).
    ///
    /// # Safety
    /// Every index reached through the strides must be inside the pointed-to buffers.
    unsafe fn raw_gemm(
        p: GemmProblem<Self>,
        a: *const Self,
        a_strides: (isize, isize),
        b: *const Self,
        b_strides: (isize, isize),
        c: *mut Self,
        c_strides: (isize, isize),
    );
}

macro_rules! impl_gemm {
    ($t:ty, $f:path) => {
        impl GemmScalar for $t {
            unsafe fn raw_gemm(
                GemmProblem {
                    m,
                    k,
                    n,
                    alpha,
                    beta,
                }: GemmProblem<Self>,
                a: *const Self,
                (rsa, csa): (isize, isize),
                b: *const Self,
                (rsb, csb): (isize, isize),
                c: *mut Self,
                (rsc, csc): (isize, isize),
            ) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { $f(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) }
            }
        }
    };
}
impl_gemm!(f32, matrixmultiply::sgemm);
impl_gemm!(f64, matrixmultiply::dgemm);

/// A strided matrix view: data, row stride, column stride.
pub type View<'a, T> = (&'a [T], usize, usize);

fn span(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

/// Problem `p` with `c` row-major (row stride `ldc`), bounds-checked.
pub fn gemm_into<T: GemmScalar>(
    p: GemmProblem<T>,
    (a, rsa, csa): View<T>,
    (b, rsb, csb): View<T>,
    c: &mut [T],
    ldc: usize,
) {
    let GemmProblem { m, k, n, beta, .. } = p;
    if m == 0 || n == 0 {
        return;
    }
    assert!(span(m, k, rsa, csa) <= a.len() && span(k, n, rsb, csb) <= b.len());
    assert!(span(m, n, ldc, 1) <= c.len());
    if k == 0 {
        for r in 0..m {
            for x in &mut c[r * ldc..r * ldc + n] {
                *x = if beta == T::ZERO { T::ZERO } else { beta * *x };
            }
        }
        return;
    }
    let s = |v: usize| v as isize;
    // SAFETY: the spans checked above bound every index the kernel touches.
    unsafe {
        T::raw_gemm(
            p,
            a.as_ptr(),
            (s(rsa), s(csa)),
            b.as_ptr(),
            (s(rsb), s(csb)),
            c.as_mut_ptr(),
            (s(ldc), 1),
        )
    }
}

/// Gemm: `Y = alpha · A' · B' + beta · C`, C broadcast unidirectionally to `[M, N]`.
pub fn gemm(attrs: &GemmAttrs, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Gemm", inputs, 3)?;
    let a = input("Gemm", inputs, 0, "A")?;
    let dt = a.dtype();
    match dt {
        DType::F32 => gemm_typed::<f32>(attrs, inputs),
        DType::F64 => gemm_typed::<f64>(attrs, inputs),
        _ => Err(err(format!("Gemm: input A must be f32 or f64, got {dt}"))),
    }
}

fn gemm_typed<T: GemmScalar>(
    attrs: &GemmAttrs,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    let a = input("Gemm", inputs, 0, "A")?;
    let b = input("Gemm", inputs, 1, "B")?;
    for (t, name) in [(a, "A"), (b, "B")] {
        if t.rank() != 2 {
            return Err(err(format!(
                "Gemm: input {name} must be 2-D, got shape {:?}",
                t.shape
            )));
        }
    }
    let (av, bv) = (typed::<T>("Gemm", "A", a)?, typed::<T>("Gemm", "B", b)?);
    let (m, k) = if attrs.trans_a {
        (a.shape[1], a.shape[0])
    } else {
        (a.shape[0], a.shape[1])
    };
    let (kb, n) = if attrs.trans_b {
        (b.shape[1], b.shape[0])
    } else {
        (b.shape[0], b.shape[1])
    };
    if k != kb {
        return Err(err(format!(
            "Gemm: inner dimensions differ: A{} is {:?} and B{} is {:?} (K {k} vs {kb})",
            if attrs.trans_a { "ᵀ" } else { "" },
            a.shape,
            if attrs.trans_b { "ᵀ" } else { "" },
            b.shape
        )));
    }
    let beta = T::from_f64(attrs.beta as f64);
    let mut y = match opt_input(inputs, 2) {
        Some(c) if beta != T::ZERO => {
            let cv = typed::<T>("Gemm", "C", c)?;
            broadcast::expand("Gemm", "input C", cv, &c.shape, &[m, n])?
        }
        Some(c) => {
            typed::<T>("Gemm", "C", c)?;
            vec![T::ZERO; m * n]
        }
        None => vec![T::ZERO; m * n],
    };
    // Row-major A is (rs=k, cs=1); its transpose view swaps the strides.
    let av = if attrs.trans_a {
        (av, 1, m)
    } else {
        (av, k, 1)
    };
    let bv = if attrs.trans_b {
        (bv, 1, k)
    } else {
        (bv, n, 1)
    };
    let alpha = T::from_f64(attrs.alpha as f64);
    let problem = GemmProblem {
        m,
        k,
        n,
        alpha,
        beta,
    };
    gemm_into(problem, av, bv, &mut y, n);
    activation::apply(attrs.act, &mut y);
    Ok(tensor(vec![m, n], y))
}

/// MatMul with numpy semantics: batch dimensions broadcast, 1-D operands promoted and the
/// promoted dimension removed from the result.
pub fn matmul(act: Option<Activation>, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("MatMul", inputs, 2)?;
    let a = input("MatMul", inputs, 0, "A")?;
    let b = input("MatMul", inputs, 1, "B")?;
    if a.dtype() != b.dtype() {
        return Err(err(format!(
            "MatMul: inputs A and B must have the same type, got {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    for (t, name) in [(a, "A"), (b, "B")] {
        if t.rank() == 0 {
            return Err(err(format!(
                "MatMul: input {name} must have rank >= 1, got a scalar"
            )));
        }
    }
    let dt = a.dtype();
    if act.is_some() && !dt.is_float() {
        return Err(err(format!(
            "MatMul: a fused activation needs a float type, got {dt}"
        )));
    }
    match dt {
        DType::F32 => matmul_typed::<f32>(act, a, b, blas_batch::<f32>),
        DType::F64 => matmul_typed::<f64>(act, a, b, blas_batch::<f64>),
        _ => dispatch_num!(dt, T => matmul_typed::<T>(None, a, b, naive_batch::<T>),
            Err(err("MatMul: bool tensors are not supported"))),
    }
}

/// One `[m×k]·[k×n]` product into `c` (row-major, contiguous).
type BatchFn<T> = fn(usize, usize, usize, &[T], &[T], &mut [T]);

fn blas_batch<T: GemmScalar>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) {
    gemm_into(GemmProblem::product(m, k, n), (a, k, 1), (b, n, 1), c, n);
}

fn naive_batch<T: Num>(m: usize, k: usize, n: usize, a: &[T], b: &[T], c: &mut [T]) {
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        row.iter_mut().for_each(|x| *x = T::ZERO);
        for p in 0..k {
            let x = a[i * k + p];
            for (j, out) in row.iter_mut().enumerate() {
                *out = out.add(x.mul(b[p * n + j]));
            }
        }
    }
}

fn matmul_typed<T: Num>(
    act: Option<Activation>,
    a: &Tensor,
    b: &Tensor,
    kernel: BatchFn<T>,
) -> Result<Tensor, KernelError> {
    let (av, bv) = (typed::<T>("MatMul", "A", a)?, typed::<T>("MatMul", "B", b)?);
    let a_shape: Vec<usize> = if a.rank() == 1 {
        vec![1, a.shape[0]]
    } else {
        a.shape.clone()
    };
    let b_shape: Vec<usize> = if b.rank() == 1 {
        vec![b.shape[0], 1]
    } else {
        b.shape.clone()
    };
    let (ra, rb) = (a_shape.len(), b_shape.len());
    let (m, k) = (a_shape[ra - 2], a_shape[ra - 1]);
    let (kb, n) = (b_shape[rb - 2], b_shape[rb - 1]);
    if k != kb {
        return Err(err(format!(
            "MatMul: inner dimensions differ: A is {:?} and B is {:?} (K {k} vs {kb})",
            a.shape, b.shape
        )));
    }
    let batch = broadcast::broadcast_shapes("MatMul", &[&a_shape[..ra - 2], &b_shape[..rb - 2]])?;
    let sa = broadcast::broadcast_strides(&a_shape[..ra - 2], &batch);
    let sb = broadcast::broadcast_strides(&b_shape[..rb - 2], &batch);
    let nb: usize = batch.iter().product();
    let mut y = vec![T::ZERO; nb * m * n];
    let bstr = crate::tensor::strides_of(&batch);
    for i in 0..nb {
        let (mut oa, mut ob) = (0, 0);
        for d in 0..batch.len() {
            let idx = (i / bstr[d]) % batch[d];
            oa += idx * sa[d];
            ob += idx * sb[d];
        }
        let a_mat = &av[oa * m * k..(oa + 1) * m * k];
        let b_mat = &bv[ob * k * n..(ob + 1) * k * n];
        kernel(m, k, n, a_mat, b_mat, &mut y[i * m * n..(i + 1) * m * n]);
    }
    let mut shape = batch;
    if a.rank() > 1 {
        shape.push(m);
    }
    if b.rank() > 1 {
        shape.push(n);
    }
    if T::DTYPE == DType::F32 || T::DTYPE == DType::F64 {
        let mut out = tensor(shape, y);
        match &mut out.data {
            crate::tensor::Data::F32(v) => activation::apply(act, v),
            crate::tensor::Data::F64(v) => activation::apply(act, v),
            _ => {}
        }
        return Ok(out);
    }
    Ok(tensor(shape, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Data;

    fn g(alpha: f32, beta: f32, ta: bool, tb: bool) -> GemmAttrs {
        GemmAttrs {
            alpha,
            beta,
            trans_a: ta,
            trans_b: tb,
            act: None,
        }
    }

    #[test]
    fn gemm_transposes_alpha_beta_and_bias_broadcast() {
        let a = Tensor::f32(vec![2, 3], vec![1., 2., 3., 4., 5., 6.]);
        let b = Tensor::f32(vec![3, 2], vec![1., 0., 0., 1., 1., 1.]);
        let y = gemm(&g(1.0, 1.0, false, false), &[Some(&a), Some(&b)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[4., 5., 10., 11.]);
        // Aᵀ given as [3, 2] and Bᵀ as [2, 3]: same product.
        let at = Tensor::f32(vec![3, 2], vec![1., 4., 2., 5., 3., 6.]);
        let bt = Tensor::f32(vec![2, 3], vec![1., 0., 1., 0., 1., 1.]);
        let y = gemm(&g(1.0, 1.0, true, true), &[Some(&at), Some(&bt)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[4., 5., 10., 11.]);
        // alpha, beta and C of shape [2] (per column), [2, 1] (per row) and a scalar.
        let c = Tensor::f32(vec![2], vec![100., 200.]);
        let y = gemm(&g(2.0, 0.5, false, false), &[Some(&a), Some(&b), Some(&c)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[58., 110., 70., 122.]);
        let c = Tensor::f32(vec![2, 1], vec![100., 200.]);
        let y = gemm(&g(1.0, 1.0, false, false), &[Some(&a), Some(&b), Some(&c)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[104., 105., 210., 211.]);
        let c = Tensor::scalar_f32(-4.0);
        let mut attrs = g(1.0, 1.0, false, false);
        attrs.act = Some(Activation::Relu);
        let y = gemm(&attrs, &[Some(&a), Some(&b), Some(&c)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[0., 1., 6., 7.]);
    }

    #[test]
    fn gemm_errors_and_f64() {
        let a = Tensor::f32(vec![2, 3], vec![0.; 6]);
        let e = gemm(&g(1.0, 1.0, false, false), &[Some(&a), Some(&a)]).unwrap_err();
        assert!(e.0.contains("inner dimensions"), "{e}");
        let c = Tensor::f32(vec![3], vec![0.; 3]);
        let at = Tensor::f32(vec![3, 2], vec![0.; 6]);
        assert!(gemm(&g(1.0, 1.0, false, false), &[Some(&a), Some(&at), Some(&c)]).is_err());
        let v = Tensor::f32(vec![3], vec![0.; 3]);
        assert!(gemm(&g(1.0, 1.0, false, false), &[Some(&v), Some(&at)]).is_err());
        let i = Tensor::i64(vec![2, 2], vec![1; 4]);
        assert!(gemm(&g(1.0, 1.0, false, false), &[Some(&i), Some(&i)]).is_err());
        let d = Tensor::new(vec![1, 2], Data::F64(vec![1., 2.])).unwrap();
        let e = Tensor::new(vec![2, 1], Data::F64(vec![3., 4.])).unwrap();
        let y = gemm(&g(1.0, 0.0, false, false), &[Some(&d), Some(&e), Some(&d)]).unwrap();
        assert_eq!(y.data, Data::F64(vec![11.]));
    }

    #[test]
    fn matmul_promotion_and_batch_broadcast() {
        let a = Tensor::f32(vec![2, 2, 3], (0..12).map(|v| v as f32).collect());
        let v = Tensor::f32(vec![3], vec![1., 0., -1.]);
        let y = matmul(None, &[Some(&a), Some(&v)]).unwrap();
        assert_eq!(y.shape, vec![2, 2]);
        assert_eq!(y.as_f32().unwrap(), &[-2., -2., -2., -2.]);
        let u = Tensor::f32(vec![2], vec![1., 1.]);
        let y = matmul(None, &[Some(&u), Some(&a)]).unwrap();
        assert_eq!(y.shape, vec![2, 3]);
        assert_eq!(y.as_f32().unwrap(), &[3., 5., 7., 15., 17., 19.]);
        let y = matmul(None, &[Some(&v), Some(&v)]).unwrap();
        assert!(y.shape.is_empty());
        assert_eq!(y.as_f32().unwrap(), &[2.]);
        // [2, 1, 2, 3] · [3, 3, 1] → [2, 3, 2, 1].
        let a4 = Tensor::f32(vec![2, 1, 2, 3], (0..12).map(|v| v as f32).collect());
        let b = Tensor::f32(vec![3, 3, 1], vec![1., 0., 0., 0., 1., 0., 0., 0., 1.]);
        let y = matmul(None, &[Some(&a4), Some(&b)]).unwrap();
        assert_eq!(y.shape, vec![2, 3, 2, 1]);
        assert_eq!(&y.as_f32().unwrap()[..6], &[0., 3., 1., 4., 2., 5.]);
        let bad = Tensor::f32(vec![2, 2], vec![0.; 4]);
        assert!(matmul(None, &[Some(&a), Some(&bad)])
            .unwrap_err()
            .0
            .contains("inner"));
        let b3 = Tensor::f32(vec![3, 3, 2], vec![0.; 18]);
        assert!(matmul(None, &[Some(&a), Some(&b3)])
            .unwrap_err()
            .0
            .contains("broadcast"));
    }

    #[test]
    fn matmul_integers_and_fused_act() {
        let a = Tensor::new(vec![2, 2], Data::I32(vec![1, 2, 3, 4])).unwrap();
        let y = matmul(None, &[Some(&a), Some(&a)]).unwrap();
        assert_eq!(y.data, Data::I32(vec![7, 10, 15, 22]));
        assert!(matmul(Some(Activation::Relu), &[Some(&a), Some(&a)]).is_err());
        let f = Tensor::f32(vec![1, 2], vec![1., -1.]);
        let m = Tensor::f32(vec![2, 2], vec![1., 0., 0., 1.]);
        let y = matmul(Some(Activation::Relu), &[Some(&f), Some(&m)]).unwrap();
        assert_eq!(y.as_f32().unwrap(), &[1., 0.]);
    }
}

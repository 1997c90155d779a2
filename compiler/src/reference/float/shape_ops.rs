//! Ops that change only the shape (data is copied unchanged): Flatten, Reshape, Squeeze,
//! Unsqueeze; and ops about shapes: Shape, ConstantOfShape; plus inference-mode Dropout.

use super::{err, input, int_values, max_inputs, norm_axis, opt_input, tensor};
use crate::error::KernelError;
use crate::tensor::{DType, Data, Tensor};

fn reshaped(x: &Tensor, shape: Vec<usize>) -> Tensor {
    Tensor {
        shape,
        data: x.data.clone(),
    }
}

pub fn flatten(axis: i64, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Flatten", inputs, 1)?;
    let x = input("Flatten", inputs, 0, "input")?;
    let a = norm_axis("Flatten", "axis", axis, x.rank(), true)?;
    let outer = x.shape[..a].iter().product();
    let inner = x.shape[a..].iter().product();
    Ok(reshaped(x, vec![outer, inner]))
}

/// Reshape: `0` copies the input dimension (unless `allowzero`), `-1` is inferred.
pub fn reshape(allowzero: bool, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Reshape", inputs, 2)?;
    let x = input("Reshape", inputs, 0, "data")?;
    let s = input("Reshape", inputs, 1, "shape")?;
    if s.rank() != 1 {
        return Err(err(format!(
            "Reshape: input shape must be 1-D, got shape {:?}",
            s.shape
        )));
    }
    let spec = int_values("Reshape", "shape", s)?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if infer.is_some() => {
                return Err(err(format!("Reshape: shape {spec:?} has more than one -1")))
            }
            -1 => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => match x.shape.get(i) {
                Some(&v) => out.push(v),
                None => {
                    return Err(err(format!(
                        "Reshape: shape {spec:?} copies dimension {i} (0) but data has rank {}",
                        x.rank()
                    )))
                }
            },
            d if d < 0 => {
                return Err(err(format!(
                    "Reshape: shape {spec:?} has invalid dimension {d}"
                )))
            }
            d => out.push(d as usize),
        }
    }
    let n = x.len();
    if let Some(i) = infer {
        let known: usize = out.iter().product();
        if known == 0 || n % known != 0 {
            return Err(err(format!(
                "Reshape: cannot infer the -1 in {spec:?} for data of shape {:?} ({n} elements)",
                x.shape
            )));
        }
        out[i] = n / known;
    }
    if out.iter().product::<usize>() != n {
        return Err(err(format!(
            "Reshape: shape {spec:?} (resolved {out:?}) does not hold the {n} elements of data {:?}",
            x.shape
        )));
    }
    Ok(reshaped(x, out))
}

/// Axes given as an integer tensor, normalized against `rank` and checked for duplicates.
fn axes_list(op: &str, t: &Tensor, rank: usize) -> Result<Vec<usize>, KernelError> {
    if t.rank() > 1 {
        return Err(err(format!(
            "{op}: input axes must be 1-D, got shape {:?}",
            t.shape
        )));
    }
    let mut axes = Vec::new();
    for a in int_values(op, "axes", t)? {
        let a = norm_axis(op, "axis", a, rank, false)?;
        if axes.contains(&a) {
            return Err(err(format!("{op}: axis {a} is repeated in axes")));
        }
        axes.push(a);
    }
    Ok(axes)
}

pub fn squeeze(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Squeeze", inputs, 2)?;
    let x = input("Squeeze", inputs, 0, "data")?;
    let axes = match opt_input(inputs, 1) {
        Some(t) => axes_list("Squeeze", t, x.rank())?,
        None => (0..x.rank()).filter(|&d| x.shape[d] == 1).collect(),
    };
    for &a in &axes {
        if x.shape[a] != 1 {
            return Err(err(format!(
                "Squeeze: dimension {a} of data {:?} is {}, not 1",
                x.shape, x.shape[a]
            )));
        }
    }
    let shape = (0..x.rank())
        .filter(|d| !axes.contains(d))
        .map(|d| x.shape[d])
        .collect();
    Ok(reshaped(x, shape))
}

pub fn unsqueeze(inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Unsqueeze", inputs, 2)?;
    let x = input("Unsqueeze", inputs, 0, "data")?;
    let t = input("Unsqueeze", inputs, 1, "axes")?;
    let out_rank = x.rank() + t.len();
    let axes = axes_list("Unsqueeze", t, out_rank)?;
    let mut dims = x.shape.iter();
    let shape = (0..out_rank)
        .map(|d| {
            if axes.contains(&d) {
                1
            } else {
                *dims.next().unwrap_or(&1)
            }
        })
        .collect();
    Ok(reshaped(x, shape))
}

/// Shape, optionally sliced to `[start, end)` (negative values count from the end; clamped).
pub fn shape(
    start: i64,
    end: Option<i64>,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    max_inputs("Shape", inputs, 1)?;
    let x = input("Shape", inputs, 0, "data")?;
    let r = x.rank() as i64;
    let clampi = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let (s, e) = (clampi(start), clampi(end.unwrap_or(r)));
    let dims: Vec<i64> = if s < e {
        x.shape[s..e].iter().map(|&d| d as i64).collect()
    } else {
        vec![]
    };
    Ok(tensor(vec![dims.len()], dims))
}

pub fn constant_of_shape(
    value: &Tensor,
    inputs: &[Option<&Tensor>],
) -> Result<Tensor, KernelError> {
    max_inputs("ConstantOfShape", inputs, 1)?;
    let s = input("ConstantOfShape", inputs, 0, "input")?;
    if s.rank() != 1 {
        return Err(err(format!(
            "ConstantOfShape: input must be a 1-D shape, got shape {:?}",
            s.shape
        )));
    }
    if value.len() != 1 {
        return Err(err(format!(
            "ConstantOfShape: value must hold one element, got shape {:?}",
            value.shape
        )));
    }
    let mut shape = Vec::with_capacity(s.len());
    for d in int_values("ConstantOfShape", "input", s)? {
        if d < 0 {
            return Err(err(format!(
                "ConstantOfShape: negative dimension {d} in the shape"
            )));
        }
        shape.push(d as usize);
    }
    let n = super::runtime_elements("ConstantOfShape", &shape, value.dtype().size_bytes())?;
    let data = crate::map_data!(&value.data, v => vec![v[0]; n]);
    Ok(Tensor { shape, data })
}

/// Inference-mode Dropout: returns the data and an all-true mask. Training mode with a
/// non-zero ratio is random and therefore refused.
pub fn dropout(inputs: &[Option<&Tensor>]) -> Result<Vec<Tensor>, KernelError> {
    max_inputs("Dropout", inputs, 3)?;
    let x = input("Dropout", inputs, 0, "data")?;
    let training = match opt_input(inputs, 2) {
        Some(t) if t.dtype() == DType::Bool && t.len() == 1 => t.data.get_i64(0) != 0,
        Some(t) => {
            return Err(err(format!(
                "Dropout: input training_mode must be a bool scalar, got {} of shape {:?}",
                t.dtype(),
                t.shape
            )))
        }
        None => false,
    };
    let ratio = match opt_input(inputs, 1) {
        Some(t) if t.dtype().is_float() && t.len() == 1 => t.data.get_f64(0),
        Some(t) => {
            return Err(err(format!(
                "Dropout: input ratio must be a float scalar, got {} of shape {:?}",
                t.dtype(),
                t.shape
            )))
        }
        None => 0.5,
    };
    if training && ratio != 0.0 {
        return Err(err(format!(
            "Dropout: training mode with ratio {ratio} is random; only inference is supported"
        )));
    }
    let mask = Tensor {
        shape: x.shape.clone(),
        data: Data::Bool(vec![true; x.len()]),
    };
    Ok(vec![x.clone(), mask])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x234() -> Tensor {
        Tensor::f32(vec![2, 3, 4], (0..24).map(|v| v as f32).collect())
    }

    fn shp(v: &[i64]) -> Tensor {
        Tensor::i64(vec![v.len()], v.to_vec())
    }

    #[test]
    fn flatten_axes() {
        let x = x234();
        assert_eq!(flatten(0, &[Some(&x)]).unwrap().shape, vec![1, 24]);
        assert_eq!(flatten(2, &[Some(&x)]).unwrap().shape, vec![6, 4]);
        assert_eq!(flatten(3, &[Some(&x)]).unwrap().shape, vec![24, 1]);
        assert_eq!(flatten(-1, &[Some(&x)]).unwrap().shape, vec![6, 4]);
        assert!(flatten(4, &[Some(&x)]).is_err());
    }

    #[test]
    fn reshape_zero_and_minus_one() {
        let x = x234();
        let r = |s: &[i64], az: bool| reshape(az, &[Some(&x), Some(&shp(s))]);
        assert_eq!(r(&[0, -1], false).unwrap().shape, vec![2, 12]);
        assert_eq!(r(&[-1], false).unwrap().shape, vec![24]);
        assert_eq!(r(&[4, 0, 2], false).unwrap().shape, vec![4, 3, 2]);
        assert_eq!(r(&[2, 3, 4], false).unwrap().data, x.data);
        assert!(r(&[-1, -1], false).is_err());
        assert!(r(&[5, -1], false).is_err());
        assert!(r(&[0, 0, 0, 0], false).is_err());
        assert!(
            r(&[0, 3, 4], true).is_err(),
            "allowzero keeps 0 literally: 0 elements ≠ 24"
        );
        let empty = Tensor::f32(vec![0, 3], vec![]);
        let y = reshape(true, &[Some(&empty), Some(&shp(&[3, 0]))]).unwrap();
        assert_eq!(y.shape, vec![3, 0]);
    }

    #[test]
    fn squeeze_and_unsqueeze() {
        let x = Tensor::f32(vec![1, 3, 1, 2], vec![0.0; 6]);
        assert_eq!(squeeze(&[Some(&x)]).unwrap().shape, vec![3, 2]);
        assert_eq!(
            squeeze(&[Some(&x), Some(&shp(&[-2]))]).unwrap().shape,
            vec![1, 3, 2]
        );
        assert!(squeeze(&[Some(&x), Some(&shp(&[1]))]).is_err());
        assert!(squeeze(&[Some(&x), Some(&shp(&[4]))]).is_err());
        let y = Tensor::f32(vec![3, 4, 5], vec![0.0; 60]);
        let u = |a: &[i64]| unsqueeze(&[Some(&y), Some(&shp(a))]);
        assert_eq!(u(&[0, 4]).unwrap().shape, vec![1, 3, 4, 5, 1]);
        assert_eq!(u(&[5, 4, 2]).unwrap().shape, vec![3, 4, 1, 5, 1, 1]);
        assert_eq!(u(&[-2]).unwrap().shape, vec![3, 4, 1, 5]);
        assert_eq!(u(&[-1]).unwrap().shape, vec![3, 4, 5, 1]);
        assert!(u(&[1, 1]).is_err());
        assert!(u(&[5]).is_err());
    }

    #[test]
    fn shape_slices() {
        let x = x234();
        let s = |a: i64, b: Option<i64>| shape(a, b, &[Some(&x)]).unwrap().to_i64_vec();
        assert_eq!(s(0, None), vec![2, 3, 4]);
        assert_eq!(s(-1, None), vec![4]);
        assert_eq!(s(1, Some(2)), vec![3]);
        assert_eq!(s(-10, Some(10)), vec![2, 3, 4]);
        assert_eq!(s(2, Some(1)), Vec::<i64>::new());
    }

    #[test]
    fn constant_of_shape_and_dropout() {
        let v = Tensor::new(vec![1], Data::I32(vec![7])).unwrap();
        let y = constant_of_shape(&v, &[Some(&shp(&[2, 2]))]).unwrap();
        assert_eq!(y.data, Data::I32(vec![7; 4]));
        let y = constant_of_shape(&v, &[Some(&shp(&[0]))]).unwrap();
        assert_eq!((y.shape.clone(), y.len()), (vec![0], 0));
        assert!(constant_of_shape(&v, &[Some(&shp(&[-1]))]).is_err());
        let x = x234();
        let out = dropout(&[Some(&x)]).unwrap();
        assert_eq!(out[0], x);
        assert_eq!(out[1].data, Data::Bool(vec![true; 24]));
        let t = Tensor::new(vec![], Data::Bool(vec![true])).unwrap();
        let r = Tensor::scalar_f32(0.5);
        assert!(dropout(&[Some(&x), Some(&r), Some(&t)]).is_err());
        let r0 = Tensor::scalar_f32(0.0);
        assert_eq!(dropout(&[Some(&x), Some(&r0), Some(&t)]).unwrap()[0], x);
    }
}

//! Static tensor types: element type plus a shape whose dimensions may be symbolic.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::tensor::DType;

/// One dimension: a number, or a name (`N`, `batch`, `seq`) bound when the model runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Dim {
    Known(usize),
    Sym(String),
}

impl Dim {
    pub fn known(&self) -> Option<usize> {
        match self {
            Dim::Known(n) => Some(*n),
            Dim::Sym(_) => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Sym(s) => f.write_str(s),
        }
    }
}

/// The type of a value: `shape == None` means the rank is not known (yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Option<Vec<Dim>>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Vec<Dim>) -> TensorType {
        TensorType {
            dtype,
            shape: Some(shape),
        }
    }

    pub fn known(dtype: DType, shape: &[usize]) -> TensorType {
        TensorType::new(dtype, shape.iter().map(|&d| Dim::Known(d)).collect())
    }

    pub fn unknown(dtype: DType) -> TensorType {
        TensorType { dtype, shape: None }
    }

    pub fn rank(&self) -> Option<usize> {
        self.shape.as_ref().map(|s| s.len())
    }

    /// The shape if every dimension is a number.
    pub fn concrete(&self) -> Option<Vec<usize>> {
        self.shape.as_ref()?.iter().map(|d| d.known()).collect()
    }

    /// Number of elements per unit of each symbolic dimension; `None` if the rank is unknown.
    /// Used for parameter and MAC counts, where a symbolic batch counts as 1.
    pub fn numel_per_symbol(&self) -> Option<usize> {
        Some(
            self.shape
                .as_ref()?
                .iter()
                .map(|d| d.known().unwrap_or(1))
                .fold(1usize, |a, d| a.saturating_mul(d)),
        )
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shape {
            None => write!(f, "{}[?]", self.dtype),
            Some(s) => {
                write!(f, "{}[", self.dtype)?;
                for (i, d) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{d}")?;
                }
                f.write_str("]")
            }
        }
    }
}

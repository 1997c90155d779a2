//! Binding symbolic input dimensions (`batch_size`, `sequence_length`) to numbers.
//!
//! Transformer exports compute their attention masks, position ids and reshape targets from
//! `Shape` of the inputs; once the inputs' shapes are numbers, `infer-shapes` makes every such
//! value concrete and `fold-constants` turns those chains into constants, so the graph that
//! reaches the quantizer and the scheduler is static. Not a pipeline pass: it needs the binding
//! from the user (`--bind NAME=N`) or from the given inputs' shapes, so verbs call it before
//! [`super::run_pipeline`].

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::ir::{Dim, Graph};

/// Parses `NAME=N` (what `--bind` takes).
pub fn parse_bind(s: &str) -> Result<(String, usize)> {
    let bad = |msg: String| Error::Bind {
        spec: s.to_string(),
        msg,
    };
    let (n, v) = s
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=N, e.g. sequence_length=128".into()))?;
    let v: usize = v
        .trim()
        .parse()
        .map_err(|_| bad(format!("{v} is not a non-negative integer")))?;
    if n.trim().is_empty() {
        return Err(bad("the dimension name is empty".into()));
    }
    if v == 0 {
        return Err(bad("a dimension must be at least 1".into()));
    }
    Ok((n.trim().to_string(), v))
}

/// The symbolic dimension names of the graph inputs, sorted.
pub fn input_symbols(g: &Graph) -> Vec<String> {
    let mut v: Vec<String> = g
        .inputs
        .iter()
        .filter_map(|&i| g.value(i).ty.shape.as_ref())
        .flatten()
        .filter_map(|d| match d {
            Dim::Sym(s) if s != "?" => Some(s.clone()),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Replaces every graph-input dimension named in `binds` by its number. A name that no input
/// has is an error listing the names there are (a typo must not be silently ignored).
pub fn bind(g: &mut Graph, binds: &BTreeMap<String, usize>) -> Result<()> {
    let known = input_symbols(g);
    for name in binds.keys() {
        if !known.contains(name) {
            return Err(Error::Model {
                msg: format!(
                    "--bind {name}=…: no input has a dimension named '{name}'; symbolic input dimensions: {}",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            });
        }
    }
    for i in g.inputs.clone() {
        if let Some(shape) = g.value_mut(i).ty.shape.as_mut() {
            for d in shape.iter_mut() {
                if let Dim::Sym(s) = d {
                    if let Some(&n) = binds.get(s.as_str()) {
                        *d = Dim::Known(n);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Errors, naming the first input and dimension, unless every input shape is concrete: for the
/// verbs that need static shapes (the first unbound dimension is what the user must fix).
pub fn require_static_inputs(g: &Graph) -> Result<()> {
    for &i in &g.inputs {
        let v = g.value(i);
        let Some(shape) = &v.ty.shape else {
            return Err(Error::Input {
                name: v.name.clone(),
                msg: "its rank is unknown; the model must declare the input's shape".into(),
            });
        };
        for (ax, d) in shape.iter().enumerate() {
            if let Dim::Sym(s) = d {
                return Err(Error::Input {
                    name: v.name.clone(),
                    msg: format!(
                        "axis {ax} is the dynamic dimension '{s}' ({}); bind it with --bind {s}=N",
                        v.ty
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_bind_accepts_name_equals_number() {
        assert_eq!(
            parse_bind("sequence_length=128").unwrap(),
            ("sequence_length".into(), 128)
        );
        assert!(parse_bind("sequence_length").is_err());
        assert!(parse_bind("=3").is_err());
        assert!(parse_bind("s=-1").is_err());
        assert!(parse_bind("s=0").is_err());
    }
}

//! Typed access to an ONNX node's attributes, with errors that name the node and attribute.

use std::collections::BTreeMap;

use super::proto::{AttributeProto, NodeProto};
use crate::error::{Error, Result};

pub struct Attrs<'a> {
    node: &'a str,
    op: &'a str,
    map: BTreeMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    pub fn new(node_name: &'a str, n: &'a NodeProto) -> Attrs<'a> {
        let map = n.attribute.iter().map(|a| (a.name(), a)).collect();
        Attrs {
            node: node_name,
            op: n.op_type(),
            map,
        }
    }

    pub fn err(&self, attr: &str, msg: impl Into<String>) -> Error {
        Error::Attr {
            node: self.node.to_string(),
            op: self.op.to_string(),
            attr: attr.to_string(),
            msg: msg.into(),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Names of all attributes, for rejecting ones that change semantics we do not model.
    pub fn names(&self) -> Vec<&'a str> {
        self.map.keys().copied().collect()
    }

    pub fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.map.get(name).copied()
    }

    pub fn f32(&self, name: &str, default: f32) -> Result<f32> {
        match self.get(name) {
            None => Ok(default),
            Some(a) => a.f.ok_or_else(|| self.err(name, "expected a float")),
        }
    }

    /// A normalization's `epsilon`: finite and not negative. A negative one makes the variance
    /// plus epsilon negative and every output NaN, which used to run with exit 0.
    pub fn epsilon(&self) -> Result<f32> {
        let e = self.f32("epsilon", 1e-5)?;
        if !e.is_finite() || e < 0.0 {
            return Err(self.err(
                "epsilon",
                format!("is {e:e}, expected a finite value of at least 0"),
            ));
        }
        Ok(e)
    }

    pub fn i64(&self, name: &str, default: i64) -> Result<i64> {
        match self.get(name) {
            None => Ok(default),
            Some(a) => a.i.ok_or_else(|| self.err(name, "expected an int")),
        }
    }

    pub fn req_i64(&self, name: &str) -> Result<i64> {
        match self.get(name) {
            None => Err(self.err(name, "is required")),
            Some(a) => a.i.ok_or_else(|| self.err(name, "expected an int")),
        }
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool> {
        Ok(self.i64(name, default as i64)? != 0)
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }

    pub fn floats(&self, name: &str) -> Option<Vec<f32>> {
        self.get(name).map(|a| a.floats.clone())
    }

    /// Non-negative ints (sizes, strides, pads), or the default when absent.
    pub fn usizes(&self, name: &str, default: Vec<usize>) -> Result<Vec<usize>> {
        match self.ints(name) {
            None => Ok(default),
            Some(v) => v
                .iter()
                .map(|&x| {
                    usize::try_from(x).map_err(|_| self.err(name, format!("{x} is negative")))
                })
                .collect(),
        }
    }

    pub fn string(&self, name: &str, default: &str) -> Result<String> {
        match self.get(name) {
            None => Ok(default.to_string()),
            Some(a) => {
                let s =
                    a.s.as_ref()
                        .ok_or_else(|| self.err(name, "expected a string"))?;
                String::from_utf8(s.clone()).map_err(|_| self.err(name, "is not UTF-8"))
            }
        }
    }
}

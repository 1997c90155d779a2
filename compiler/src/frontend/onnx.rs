//! ONNX model → graph IR.
//!
//! Decoding uses prost types generated from `onnx.proto` by protox at build time. The importer
//! resolves names to values, converts each node through the op registry (`ops.rs`), and runs
//! shape inference so that every value has a type before any pass sees the graph.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use super::attrs::Attrs;
use super::ops::{self, SUPPORTED};
use super::proto::{self, ModelProto, NodeProto};
use super::tensor_proto::tensor_from_proto;
use crate::error::{Error, Result};
use crate::ir::graph::{Graph, Node, ValueId, ValueKind};
use crate::ir::op::Op;
use crate::ir::types::{Dim, TensorType};
use crate::tensor::{DType, Tensor};

/// Files larger than this are refused before reading; ONNX protobufs cannot exceed 2 GiB anyway.
pub const MAX_MODEL_BYTES: u64 = 2 << 30;
/// Newest default-domain opset accepted: the one onnx 1.23 writes. The ops Systole supports did
/// not change meaning after opset 21, so newer files import as they are.
pub const MAX_OPSET: i64 = 28;

/// Per-node conversion context handed to the op registry.
pub struct Cx<'a> {
    pub opset: i64,
    graph: &'a mut Graph,
    node: &'a NodeProto,
    node_name: String,
    inputs: Vec<Option<ValueId>>,
    constant: Option<Tensor>,
}

impl Cx<'_> {
    /// Puts a constant at input `slot` (an attribute that newer opsets take as an input).
    pub fn set_const_input(&mut self, slot: usize, t: Tensor) {
        let name = format!("{}::in{}", self.node_name, slot);
        let v = self.graph.add_const(name, t);
        if self.inputs.len() <= slot {
            self.inputs.resize(slot + 1, None);
        }
        self.inputs[slot] = Some(v);
    }

    pub fn input_rank(&self, slot: usize) -> Option<usize> {
        self.inputs
            .get(slot)
            .copied()
            .flatten()
            .and_then(|v| self.graph.value(v).ty.rank())
    }

    pub fn n_outputs(&self) -> usize {
        self.node.output.iter().filter(|o| !o.is_empty()).count()
    }

    /// Marks this node as a Constant whose output is `t`.
    pub fn define_constant(&mut self, t: Tensor) {
        self.constant = Some(t);
    }

    pub fn unsupported(&self) -> Error {
        Error::UnsupportedOp {
            node: self.node_name.clone(),
            op_type: self.node.op_type().to_string(),
            domain: display_domain(self.node.domain()).to_string(),
            opset: self.opset,
            supported: if ops::QONNX_DOMAINS.contains(&self.node.domain()) {
                ops::QONNX_SUPPORTED.join(", ")
            } else {
                SUPPORTED.join(", ")
            },
        }
    }
}

fn display_domain(d: &str) -> &str {
    if d.is_empty() {
        "ai.onnx"
    } else {
        d
    }
}

fn type_from_proto(name: &str, tp: Option<&proto::TypeProto>) -> Result<TensorType> {
    let Some(proto::type_proto::Value::TensorType(t)) = tp.and_then(|t| t.value.as_ref()) else {
        return Err(Error::Input {
            name: name.into(),
            msg: "is not a tensor (sequences, maps and optionals are not supported)".into(),
        });
    };
    let code = t.elem_type();
    let dtype = DType::from_onnx(code).ok_or_else(|| Error::Input {
        name: name.into(),
        msg: format!(
            "element type {} ({code}) is not supported",
            DType::onnx_name(code)
        ),
    })?;
    let shape = t
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) if *v >= 0 => {
                        Ok(Dim::Known(*v as usize))
                    }
                    // A negative size is no shape at all; read as "unknown" it made MAC counts
                    // silently wrong (an input of [N, -64] counted 10 MACs for 640).
                    Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) => {
                        Err(Error::Input {
                            name: name.into(),
                            msg: format!(
                                "dimension {v} is negative; expected a size >= 0 or a name"
                            ),
                        })
                    }
                    Some(proto::tensor_shape_proto::dimension::Value::DimParam(p))
                        if !p.is_empty() =>
                    {
                        Ok(Dim::Sym(p.clone()))
                    }
                    _ => Ok(Dim::Sym("?".into())),
                })
                .collect::<Result<Vec<Dim>>>()
        })
        .transpose()?;
    Ok(TensorType { dtype, shape })
}

/// Reads and imports an ONNX model file.
pub fn load_model(path: &Path) -> Result<Graph> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    if meta.is_dir() {
        return Err(Error::File {
            path: path.into(),
            msg: "is a directory, not an ONNX file".into(),
        });
    }
    if meta.len() > MAX_MODEL_BYTES {
        return Err(Error::File {
            path: path.into(),
            msg: format!("{} bytes exceeds the 2 GiB protobuf limit", meta.len()),
        });
    }
    let bytes = crate::files::read(path)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    import(&bytes, path, path.parent(), &stem)
}

/// Imports a model from bytes (external data, if any, cannot be resolved).
pub fn load_model_bytes(bytes: &[u8], name: &str) -> Result<Graph> {
    import(bytes, Path::new(name), None, name)
}

fn import(bytes: &[u8], path: &Path, dir: Option<&Path>, stem: &str) -> Result<Graph> {
    let decode = |msg: String| Error::Decode {
        path: path.into(),
        msg,
    };
    if bytes.is_empty() {
        return Err(decode("the file is empty".into()));
    }
    let model = ModelProto::decode(bytes).map_err(|e| decode(e.to_string()))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| decode("the model has no graph".into()))?;
    if graph.node.is_empty() && graph.output.is_empty() {
        return Err(decode("the graph has no nodes and no outputs".into()));
    }
    systole_hw::limits::MAX_NODES
        .check(graph.node.len() as u128)
        .map_err(|m| decode(format!("the graph has {m}")))?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain().is_empty() || o.domain() == "ai.onnx")
        .map(|o| o.version())
        .ok_or_else(|| decode("no opset_import for the default ONNX domain".into()))?;
    if !(7..=MAX_OPSET).contains(&opset) {
        return Err(decode(format!(
            "opset {opset} is outside the supported range 7..={MAX_OPSET}"
        )));
    }
    // The file name identifies a model better than exporters' graph names ("tf2onnx", "main").
    let name = if stem.is_empty() {
        graph.name().to_string()
    } else {
        stem.to_string()
    };
    let mut g = Graph::new(name, opset);
    let mut names: HashMap<String, ValueId> = HashMap::new();

    for init in &graph.initializer {
        let t = tensor_from_proto(init, dir)?;
        // A NaN weight makes every output NaN: the float path ran such a model with exit 0.
        // Infinities stay allowed (attention masks use them).
        if let Some(i) = (0..t.len()).find(|&i| t.dtype().is_float() && t.data.get_f64(i).is_nan())
        {
            return Err(Error::Tensor {
                name: init.name().to_string(),
                msg: format!(
                    "element {i} is NaN; expected numbers (a NaN weight makes every output NaN)"
                ),
            });
        }
        let v = g.add_const(init.name(), t);
        names.insert(init.name().to_string(), v);
    }
    if !graph.sparse_initializer.is_empty() {
        return Err(decode("sparse initializers are not supported".into()));
    }
    for inp in &graph.input {
        if names.contains_key(inp.name()) {
            continue; // IR < 4: initializers are also listed as inputs; the initializer wins.
        }
        let ty = type_from_proto(inp.name(), inp.r#type.as_ref())?;
        let v = g.add_value(inp.name(), ty, ValueKind::Input);
        names.insert(inp.name().to_string(), v);
        g.inputs.push(v);
    }

    for (idx, n) in graph.node.iter().enumerate() {
        let node_name = if n.name().is_empty() {
            format!("{}_{}", n.op_type(), idx)
        } else {
            n.name().to_string()
        };
        let domain = n.domain();
        let mut cx = Cx {
            opset,
            graph: &mut g,
            node: n,
            node_name: node_name.clone(),
            inputs: vec![],
            constant: None,
        };
        let qonnx = ops::QONNX_DOMAINS.contains(&domain);
        if !(domain.is_empty() || domain == "ai.onnx" || qonnx) {
            return Err(cx.unsupported());
        }
        for i in &n.input {
            if i.is_empty() {
                cx.inputs.push(None);
                continue;
            }
            let v = names.get(i).copied().ok_or_else(|| Error::Node {
                node: node_name.clone(),
                op: n.op_type().to_string(),
                msg: format!(
                    "reads '{i}', which is not a graph input, an initializer or an earlier node's output"
                ),
            })?;
            cx.inputs.push(Some(v));
        }
        let attrs = Attrs::new(&node_name, n);
        let op = if qonnx {
            Some(ops::convert_qonnx(n.op_type(), &attrs, &cx)?)
        } else {
            ops::convert(n.op_type(), &attrs, &mut cx)?
        };
        let (inputs, constant) = (cx.inputs, cx.constant);
        let outputs: Vec<&String> = n.output.iter().collect();
        if outputs.is_empty() || outputs[0].is_empty() {
            return Err(Error::Node {
                node: node_name,
                op: n.op_type().into(),
                msg: "has no output".into(),
            });
        }
        match op {
            None => {
                // `ops::convert` answers `None` only for a Constant, after `define_constant`.
                let t = constant.ok_or_else(|| {
                    Error::internal(format!("node '{node_name}': a Constant without a value"))
                })?;
                let v = g.add_const(outputs[0].as_str(), t);
                names.insert(outputs[0].clone(), v);
            }
            Some(op) => {
                let mut outs = Vec::new();
                for o in outputs.iter().filter(|o| !o.is_empty()) {
                    if names.contains_key(o.as_str()) {
                        return Err(Error::Node {
                            node: node_name,
                            op: n.op_type().into(),
                            msg: format!("writes '{o}', which is already defined (not SSA)"),
                        });
                    }
                    let v = g.add_value(
                        o.as_str(),
                        TensorType::unknown(DType::F32),
                        ValueKind::Intermediate,
                    );
                    names.insert((*o).clone(), v);
                    outs.push(v);
                }
                // Optional outputs that we do not compute (e.g. Dropout's mask) stay unused.
                if let Op::Dropout = op {
                    outs.truncate(2);
                }
                g.add_node(Node {
                    name: node_name,
                    op,
                    inputs,
                    outputs: outs,
                });
            }
        }
    }
    for out in &graph.output {
        let v = names.get(out.name()).copied().ok_or_else(|| Error::Model {
            msg: format!("graph output '{}' is not produced by any node", out.name()),
        })?;
        g.outputs.push(v);
        // Keep the declared type when inference cannot do better (it is overwritten below).
        if let Ok(ty) = type_from_proto(out.name(), out.r#type.as_ref()) {
            if g.value(v).producer.is_some() {
                g.value_mut(v).ty = ty;
            }
        }
    }
    g.validate()?;
    crate::passes::shape_inference::infer_all(&mut g)?;
    Ok(g)
}

//! Builders for small ONNX models in the CLI tests (one copy; four test files had their own).

use std::path::Path;

use prost::Message;
use systole_compiler::frontend::proto::{
    attribute_proto,
    tensor_shape_proto::{dimension, Dimension},
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

/// ONNX element type codes used by the tests.
pub const FLOAT: i32 = 1;
pub const INT64: i32 = 7;

/// A value of element type `elem` with numeric dimensions.
pub fn value(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dims: Vec<Result<i64, &str>> = dims.iter().map(|&d| Ok(d)).collect();
    value_sym(name, elem, &dims)
}

/// A value whose dimensions are numbers (`Ok`) or names (`Err`).
pub fn value_sym(name: &str, elem: i32, dims: &[Result<i64, &str>]) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem),
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(match d {
                                Ok(v) => dimension::Value::DimValue(*v),
                                Err(p) => dimension::Value::DimParam(p.to_string()),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A value with no type (an output left to shape inference).
pub fn untyped(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        ..Default::default()
    }
}

/// A 1-D int64 initializer.
pub fn ints(name: &str, v: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![v.len() as i64],
        data_type: Some(INT64),
        int64_data: v.to_vec(),
        ..Default::default()
    }
}

/// A float initializer of shape `dims`.
pub fn floats(name: &str, dims: &[i64], v: Vec<f32>) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(FLOAT),
        float_data: v,
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_proto::AttributeType::Ints as i32),
        ints: v.to_vec(),
        ..Default::default()
    }
}

pub fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_proto::AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

pub fn attr_float(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(attribute_proto::AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

pub fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(name.into()),
        op_type: Some(op.into()),
        ..Default::default()
    }
}

/// `node` with attributes.
pub fn node_with(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        attribute: attrs,
        ..node(op, name, inputs, outputs)
    }
}

/// Writes an opset-17 model of these nodes, graph inputs, outputs and initializers.
pub fn save(
    path: &Path,
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    init: Vec<TensorProto>,
) {
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            name: Some("test".into()),
            node: nodes,
            input: inputs,
            output: outputs,
            initializer: init,
            ..Default::default()
        }),
        ..Default::default()
    };
    std::fs::write(path, m.encode_to_vec()).unwrap();
}

/// Names of a chain of `n` nodes from `first` to `y`: `first`, v1, …, v(n-1), `y`.
pub fn chain_name(first: &str, i: usize, n: usize) -> String {
    if i == 0 {
        first.to_string()
    } else if i == n {
        "y".to_string()
    } else {
        format!("v{i}")
    }
}

/// Asserts a run ended without a panic or an internal error (any exit status but 101).
pub fn assert_no_panic(o: &std::process::Output) {
    let e = super::stderr(o);
    assert!(
        o.status.code() != Some(101) && !e.contains("panicked") && !e.contains("internal error"),
        "{e}"
    );
}

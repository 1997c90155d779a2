//! Generated ONNX protobuf types (package `onnx`).
#![allow(clippy::all, missing_docs)]
include!(concat!(env!("OUT_DIR"), "/onnx.rs"));

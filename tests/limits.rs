//! Limits checked before allocation (issue 9): a graph of 10^6 nodes, a tensor of 2^40
//! elements, an array of 10^6 × 10^6 PEs are refused with an error naming the limit and the flag
//! that raises it; the flag does raise it.

mod common;

use std::path::Path;

use common::onnx::{chain_name, node, save, value, FLOAT};
use common::{assert_usage_error, systole, tmpdir};
use systole_compiler::frontend::proto::TensorProto;

/// `x → Relu → … → Relu → y` with `n` nodes, input of shape `dims`.
fn relu_chain(path: &Path, n: usize, dims: &[i64], init: Option<TensorProto>) {
    let name = |i: usize| chain_name("x", i, n);
    let nodes = (0..n)
        .map(|i| node("Relu", &format!("r{i}"), &[&name(i)], &[&name(i + 1)]))
        .collect();
    save(
        path,
        nodes,
        vec![value("x", FLOAT, dims)],
        vec![value("y", FLOAT, dims)],
        init.into_iter().collect(),
    );
}

#[test]
fn a_million_nodes_is_refused_and_the_flag_moves_the_limit() {
    let d = tmpdir("limits-nodes");
    let big = d.join("million.onnx");
    relu_chain(&big, 1_000_000, &[1, 4], None);
    let o = systole(&["inspect", big.to_str().unwrap()]);
    assert_usage_error(
        &o,
        &[
            "million.onnx",
            "1000000 nodes",
            "limit of 200000",
            "--max-nodes",
        ],
    );

    let small = d.join("thousand.onnx");
    relu_chain(&small, 1000, &[1, 4], None);
    let o = systole(&["inspect", small.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let o = systole(&["--max-nodes", "500", "inspect", small.to_str().unwrap()]);
    assert_usage_error(&o, &["1000 nodes", "limit of 500", "--max-nodes"]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_tensor_of_2_pow_40_elements_is_refused_before_allocation() {
    let d = tmpdir("limits-tensor");
    // An activation: the input's declared shape.
    let act = d.join("act.onnx");
    relu_chain(&act, 2, &[1 << 20, 1 << 20], None);
    let o = systole(&["inspect", act.to_str().unwrap()]);
    assert_usage_error(&o, &["1099511627776 elements", "--max-tensor-elements"]);
    // Raised, `inspect` goes through: it never allocates activations.
    let o = systole(&[
        "--max-tensor-elements",
        "2199023255552",
        "inspect",
        act.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));

    // An initializer whose dims claim 2^40 floats (and whose data is absent).
    let init = d.join("init.onnx");
    let w = TensorProto {
        name: Some("w".into()),
        dims: vec![1 << 20, 1 << 20],
        data_type: Some(1),
        ..Default::default()
    };
    relu_chain(&init, 2, &[1, 4], Some(w));
    let o = systole(&["inspect", init.to_str().unwrap()]);
    assert_usage_error(
        &o,
        &["'w'", "1099511627776 elements", "--max-tensor-elements"],
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_array_of_a_million_by_a_million_is_refused() {
    let d = tmpdir("limits-array");
    let text = std::fs::read_to_string(common::repo().join("hw/presets/edge-8x8.ron"))
        .unwrap()
        .replace("rows: 8,", "rows: 1000000,")
        .replace("cols: 8,", "cols: 1000000,");
    let ron = d.join("huge.ron");
    std::fs::write(&ron, text).unwrap();
    let sysq = d.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    let out = d.join("build");
    let o = systole(&[
        "compile",
        sysq.to_str().unwrap(),
        "--hw",
        ron.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(
        &o,
        &[
            "huge.ron",
            "rows",
            "1000000 PEs per side",
            "--max-array-side",
        ],
    );
    assert!(!out.exists(), "a refused compile wrote {}", out.display());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_sweep_of_10_pow_12_points_is_refused_before_enumeration() {
    let d = tmpdir("limits-sweep");
    let list = |f: &dyn Fn(u32) -> String| (1..=1000).map(f).collect::<Vec<_>>().join(", ");
    let space = format!(
        "(name: \"huge\", rows: [{}], cols: [{}], dataflow: [WeightStationary], buffer_kib: [{}], \
         clock_mhz: [{}], dram_bytes_per_cycle: [8.0], dram_latency_cycles: 50, vector_lanes: 8)",
        list(&|i| i.to_string()),
        list(&|i| i.to_string()),
        list(&|i| i.to_string()),
        list(&|i| format!("{i}.0")),
    );
    let path = d.join("huge.ron");
    std::fs::write(&path, space).unwrap();
    let sysq = d.join("mlp.sysq");
    common::quantize_mlp(&sysq);
    let out = d.join("out");
    let o = systole(&[
        "sweep",
        sysq.to_str().unwrap(),
        "--space",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_usage_error(
        &o,
        &[
            "huge.ron",
            "1000000000000 design points",
            "--max-sweep-points",
        ],
    );
    assert!(!out.join("points.jsonl").exists());
    let _ = std::fs::remove_dir_all(&d);
}

//! Float reference kernels on the shapes of the bundled digits CNN (batch 256, 8×8 inputs).
//!
//! `cargo bench -p systole-compiler --bench float_reference` (add `-- --quick` for a fast run).
//! Compare with onnxruntime on the same shapes (it folds BN and fuses ReLU itself, so
//! `digits_cnn_fused_b256` is the like-for-like figure).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;

use systole_compiler::ir::op::{Activation, AutoPad, ConvAttrs, GemmAttrs, Op, PoolAttrs};
use systole_compiler::reference::float::eval;
use systole_compiler::Tensor;

/// Deterministic values in [-1, 1).
fn filled(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    let v = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect();
    Tensor::f32(shape.to_vec(), v)
}

fn conv_op() -> Op {
    Op::Conv(ConvAttrs {
        kernel_shape: vec![3, 3],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        auto_pad: AutoPad::NotSet,
        group: 1,
        act: Some(Activation::Relu),
        im2col: None,
    })
}

fn bench_conv(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv2d_3x3_pad1_relu");
    for (name, ci, co, hw) in [("b256_1to16_8x8", 1, 16, 8), ("b256_16to32_4x4", 16, 32, 4)] {
        let x = filled(&[256, ci, hw, hw], 1);
        let w = filled(&[co, ci, 3, 3], 2);
        let b = filled(&[co], 3);
        let op = conv_op();
        g.throughput(Throughput::Elements((256 * co * hw * hw * ci * 9) as u64));
        g.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| eval(black_box(&op), &[Some(&x), Some(&w), Some(&b)]).unwrap())
        });
    }
    g.finish();
}

fn bench_gemm(c: &mut Criterion) {
    let a = filled(&[256, 128], 4);
    let b = filled(&[128, 10], 5);
    let bias = filled(&[10], 6);
    let op = Op::Gemm(GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
        act: None,
    });
    c.bench_function("gemm_256x128x10", |bench| {
        bench.iter(|| eval(black_box(&op), &[Some(&a), Some(&b), Some(&bias)]).unwrap())
    });
}

/// The whole digits CNN body: (Conv 3×3 pad 1 → BN → ReLU → MaxPool 2) twice, then Gemm.
fn bench_digits_cnn(c: &mut Criterion) {
    let x = filled(&[256, 1, 8, 8], 7);
    let layers: Vec<_> = [(1usize, 16usize), (16, 32)]
        .iter()
        .enumerate()
        .map(|(i, &(ci, co))| {
            let s = 10 * i as u32;
            let w = filled(&[co, ci, 3, 3], s + 1);
            let b = filled(&[co], s + 2);
            let scale = filled(&[co], s + 3);
            let shift = filled(&[co], s + 4);
            let mean = filled(&[co], s + 5);
            let var = Tensor::f32(vec![co], vec![1.5; co]);
            (w, b, [scale, shift, mean, var])
        })
        .collect();
    let fc_w = filled(&[128, 10], 40);
    let fc_b = filled(&[10], 41);
    let mut conv = conv_op();
    if let Op::Conv(a) = &mut conv {
        a.act = None;
    }
    let bn = Op::BatchNormalization { epsilon: 1e-5 };
    let relu = Op::Unary(systole_compiler::ir::op::UnaryOp::Relu);
    let pool = Op::MaxPool(PoolAttrs {
        kernel_shape: vec![2, 2],
        strides: vec![2, 2],
        dilations: vec![],
        pads: vec![],
        auto_pad: AutoPad::NotSet,
        ceil_mode: false,
        count_include_pad: false,
    });
    let flatten = Op::Flatten { axis: 1 };
    let gemm = Op::Gemm(GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
        act: None,
    });
    c.bench_function("digits_cnn_b256", |bench| {
        bench.iter(|| {
            let mut h = x.clone();
            for (w, b, [s, sh, m, v]) in &layers {
                h = eval(&conv, &[Some(&h), Some(w), Some(b)])
                    .unwrap()
                    .remove(0);
                h = eval(&bn, &[Some(&h), Some(s), Some(sh), Some(m), Some(v)])
                    .unwrap()
                    .remove(0);
                h = eval(&relu, &[Some(&h)]).unwrap().remove(0);
                h = eval(&pool, &[Some(&h)]).unwrap().remove(0);
            }
            h = eval(&flatten, &[Some(&h)]).unwrap().remove(0);
            eval(&gemm, &[Some(&h), Some(&fc_w), Some(&fc_b)]).unwrap()
        })
    });
}

/// The same network after the fold/fuse passes, as onnxruntime runs it: BN folded into the
/// conv weights and ReLU fused, i.e. (Conv+ReLU → MaxPool) twice, then Gemm.
fn bench_digits_cnn_fused(c: &mut Criterion) {
    let x = filled(&[256, 1, 8, 8], 7);
    let convs: Vec<_> = [(1usize, 16usize), (16, 32)]
        .iter()
        .enumerate()
        .map(|(i, &(ci, co))| {
            (
                filled(&[co, ci, 3, 3], 20 + i as u32),
                filled(&[co], 30 + i as u32),
            )
        })
        .collect();
    let fc_w = filled(&[128, 10], 40);
    let fc_b = filled(&[10], 41);
    let conv = conv_op();
    let pool = Op::MaxPool(PoolAttrs {
        kernel_shape: vec![2, 2],
        strides: vec![2, 2],
        dilations: vec![],
        pads: vec![],
        auto_pad: AutoPad::NotSet,
        ceil_mode: false,
        count_include_pad: false,
    });
    let flatten = Op::Flatten { axis: 1 };
    let gemm = Op::Gemm(GemmAttrs {
        alpha: 1.0,
        beta: 1.0,
        trans_a: false,
        trans_b: false,
        act: None,
    });
    c.bench_function("digits_cnn_fused_b256", |bench| {
        bench.iter(|| {
            let mut h = x.clone();
            for (w, b) in &convs {
                h = eval(&conv, &[Some(&h), Some(w), Some(b)])
                    .unwrap()
                    .remove(0);
                h = eval(&pool, &[Some(&h)]).unwrap().remove(0);
            }
            h = eval(&flatten, &[Some(&h)]).unwrap().remove(0);
            eval(&gemm, &[Some(&h), Some(&fc_w), Some(&fc_b)]).unwrap()
        })
    });
}

criterion_group!(
    benches,
    bench_conv,
    bench_gemm,
    bench_digits_cnn,
    bench_digits_cnn_fused
);
criterion_main!(benches);

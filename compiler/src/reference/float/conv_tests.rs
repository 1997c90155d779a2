//! Conv tests: ONNX node-test cases computed by hand, errors, and a property test of
//! im2col + GEMM against a direct nested-loop convolution.

use proptest::prelude::*;

use super::conv::conv;
use super::spatial;
use crate::ir::op::{Activation, AutoPad, ConvAttrs};
use crate::tensor::Tensor;

fn attrs(pads: &[usize], strides: &[usize]) -> ConvAttrs {
    ConvAttrs {
        kernel_shape: vec![],
        strides: strides.to_vec(),
        dilations: vec![],
        pads: pads.to_vec(),
        auto_pad: AutoPad::NotSet,
        group: 1,
        act: None,
        im2col: None,
    }
}

fn ramp(shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>();
    Tensor::f32(shape.to_vec(), (0..n).map(|v| v as f32).collect())
}

fn ones(shape: &[usize]) -> Tensor {
    Tensor::f32(shape.to_vec(), vec![1.0; shape.iter().product()])
}

#[test]
fn onnx_conv_with_and_without_padding() {
    let (x, w) = (ramp(&[1, 1, 5, 5]), ones(&[1, 1, 3, 3]));
    let y = conv(&attrs(&[1, 1, 1, 1], &[]), &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.shape, vec![1, 1, 5, 5]);
    #[rustfmt::skip]
    let want = [12., 21., 27., 33., 24., 33., 54., 63., 72., 51., 63., 99., 108., 117., 81.,
        93., 144., 153., 162., 111., 72., 111., 117., 123., 84.];
    assert_eq!(y.as_f32().unwrap(), &want);
    let y = conv(&attrs(&[], &[]), &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(
        y.as_f32().unwrap(),
        &[54., 63., 72., 99., 108., 117., 144., 153., 162.]
    );
}

#[test]
fn onnx_conv_strides_and_auto_pad() {
    let (x, w) = (ramp(&[1, 1, 7, 5]), ones(&[1, 1, 3, 3]));
    let y = conv(&attrs(&[1, 1, 1, 1], &[2, 2]), &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.shape, vec![1, 1, 4, 3]);
    #[rustfmt::skip]
    let want = [12., 27., 24., 63., 108., 81., 123., 198., 141., 112., 177., 124.];
    assert_eq!(y.as_f32().unwrap(), &want);
    // Padding along H only.
    let y = conv(&attrs(&[1, 0, 1, 0], &[2, 2]), &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(
        y.as_f32().unwrap(),
        &[21., 33., 99., 117., 189., 207., 171., 183.]
    );
    let x = ramp(&[1, 1, 5, 5]);
    let mut a = attrs(&[], &[2, 2]);
    a.auto_pad = AutoPad::SameLower;
    let y = conv(&a, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(
        y.as_f32().unwrap(),
        &[12., 27., 24., 63., 108., 81., 72., 117., 84.]
    );
}

#[test]
fn groups_bias_dilation_and_act() {
    // Depthwise: 2 channels, each with its own 1-D kernel; bias and ReLU.
    let x = Tensor::f32(vec![1, 2, 4], vec![1., 2., 3., 4., -1., -2., -3., -4.]);
    let w = Tensor::f32(vec![2, 1, 2], vec![1., 1., 1., -1.]);
    let b = Tensor::f32(vec![2], vec![0.5, -10.0]);
    let mut a = attrs(&[], &[]);
    a.group = 2;
    let y = conv(&a, &[Some(&x), Some(&w), Some(&b)]).unwrap();
    assert_eq!(y.as_f32().unwrap(), &[3.5, 5.5, 7.5, -9., -9., -9.]);
    a.act = Some(Activation::Relu);
    let y = conv(&a, &[Some(&x), Some(&w), Some(&b)]).unwrap();
    assert_eq!(y.as_f32().unwrap(), &[3.5, 5.5, 7.5, 0., 0., 0.]);
    // Dilation 2 on [1, 1, 5]: taps i and i + 2.
    let x = ramp(&[1, 1, 5]);
    let w = Tensor::f32(vec![1, 1, 2], vec![1., 10.]);
    let mut a = attrs(&[], &[]);
    a.dilations = vec![2];
    let y = conv(&a, &[Some(&x), Some(&w)]).unwrap();
    assert_eq!(y.as_f32().unwrap(), &[20., 31., 42.]);
}

#[test]
fn conv_errors() {
    let x = ramp(&[1, 2, 4, 4]);
    let w = ones(&[3, 2, 3, 3]);
    let ok = attrs(&[], &[]);
    let mut g = ok.clone();
    g.group = 2;
    let e = conv(&g, &[Some(&x), Some(&w)]).unwrap_err();
    assert!(e.0.contains("channels"), "{e}");
    let mut k = ok.clone();
    k.kernel_shape = vec![2, 2];
    assert!(conv(&k, &[Some(&x), Some(&w)])
        .unwrap_err()
        .0
        .contains("kernel_shape"));
    let b = ones(&[2]);
    assert!(conv(&ok, &[Some(&x), Some(&w), Some(&b)])
        .unwrap_err()
        .0
        .contains("input B"));
    assert!(conv(&ok, &[Some(&x), Some(&ones(&[3, 2, 3]))]).is_err());
    assert!(conv(&ok, &[Some(&ramp(&[2, 4])), Some(&w)]).is_err());
    assert!(conv(&ok, &[Some(&x), Some(&ones(&[3, 2, 5, 5]))]).is_err());
    assert!(conv(&ok, &[Some(&x)]).unwrap_err().0.contains("missing"));
    let wi = Tensor::i64(vec![3, 2, 3, 3], vec![1; 54]);
    assert!(conv(&ok, &[Some(&x), Some(&wi)]).is_err());
}

/// Direct convolution, the definition.
fn naive(attrs: &ConvAttrs, x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> Vec<f32> {
    let (xv, wv) = (x.as_f32().unwrap(), w.as_f32().unwrap());
    let geo = spatial::resolve("t", &x.shape[2..], &attrs.window(&w.shape[2..])).unwrap();
    let nd = geo.input.len();
    let (n, c, m, cg) = (x.shape[0], x.shape[1], w.shape[0], w.shape[1]);
    let mg = m / attrs.group;
    let in_area: usize = geo.input.iter().product();
    let k_area: usize = geo.kernel.iter().product();
    let out_area = geo.output_area();
    let unravel = |mut i: usize, dims: &[usize]| {
        let mut v = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            v[d] = i % dims[d];
            i /= dims[d];
        }
        v
    };
    let mut y = Vec::new();
    for img in 0..n {
        for oc in 0..m {
            let g = oc / mg;
            for o in 0..out_area {
                let oi = unravel(o, &geo.output);
                let mut s = b.map_or(0.0, |b| b.as_f32().unwrap()[oc]);
                for ic in 0..cg {
                    for k in 0..k_area {
                        let ki = unravel(k, &geo.kernel);
                        let mut off = 0usize;
                        let mut inside = true;
                        for d in 0..nd {
                            let p = geo.tap(d, oi[d], ki[d]);
                            inside &= p >= 0 && p < geo.input[d] as i64;
                            off = off * geo.input[d] + p.max(0) as usize;
                        }
                        if inside {
                            let xc = img * c + g * cg + ic;
                            s += xv[xc * in_area + off] * wv[(oc * cg + ic) * k_area + k];
                        }
                    }
                }
                y.push(s);
            }
        }
    }
    y
}

#[derive(Debug, Clone)]
struct Case {
    attrs: ConvAttrs,
    x: Tensor,
    w: Tensor,
    b: Option<Tensor>,
}

fn case() -> impl Strategy<Value = Case> {
    let dim = (
        1usize..=6,
        1usize..=3,
        1usize..=3,
        1usize..=2,
        0usize..=2,
        0usize..=2,
    );
    (
        prop::collection::vec(dim, 1..=3),
        (1usize..=3, 1usize..=3, 1usize..=2, 1usize..=3),
        0usize..4,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(dims, (n, group, cg, mg), auto, bias, seed)| {
            let auto_pad = [
                AutoPad::NotSet,
                AutoPad::SameUpper,
                AutoPad::SameLower,
                AutoPad::Valid,
            ][auto];
            let mut attrs = attrs(&[], &[]);
            attrs.group = group;
            attrs.auto_pad = auto_pad;
            let (mut xs, mut ks) = (vec![n, group * cg], vec![group * mg, cg]);
            let mut pads_e = vec![];
            for &(i, k, s, d, pb, pe) in &dims {
                let eff = d * (k - 1) + 1;
                xs.push(i.max(eff)); // keep VALID and unpadded windows feasible
                ks.push(k);
                attrs.strides.push(s);
                attrs.dilations.push(d);
                attrs.pads.push(pb);
                pads_e.push(pe);
            }
            attrs.pads.extend(pads_e);
            // Deterministic pseudo-random values from the seed.
            let mut state = seed | 1;
            let mut rnd = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 2001) as f32 / 1000.0 - 1.0
            };
            let mut t = |shape: Vec<usize>| {
                let len = shape.iter().product();
                Tensor::f32(shape, (0..len).map(|_| rnd()).collect())
            };
            let (x, w) = (t(xs), t(ks));
            let b = bias.then(|| t(vec![group * mg]));
            Case { attrs, x, w, b }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn im2col_gemm_matches_direct_conv(c in case()) {
        let y = conv(&c.attrs, &[Some(&c.x), Some(&c.w), c.b.as_ref()]).unwrap();
        let want = naive(&c.attrs, &c.x, &c.w, c.b.as_ref());
        let got = y.as_f32().unwrap();
        prop_assert_eq!(got.len(), want.len());
        prop_assert_eq!(y.shape[0], c.x.shape[0]);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            prop_assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "at {}: {} vs {}", i, g, w);
        }
    }
}

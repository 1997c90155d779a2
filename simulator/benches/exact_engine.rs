//! PE-cycle updates per second of the exact engine: one GEMM per dataflow on a 32×32 array,
//! int8-range operands (the `i32`-accumulator path) and full-range ones (`i64`).
//! Throughput is reported in elements = PE-cycle updates (rows × cols × simulated cycles).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use systole_hw::Dataflow;
use systole_sim::exact::run_gemm_on;
use systole_sim::fast::{gemm_on, ArrayShape};

fn operands(m: usize, k: usize, n: usize, lim: i64) -> (Vec<i32>, Vec<i32>) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s % (2 * lim as u64 + 1)) as i64 - lim) as i32
    };
    let a = (0..m * k).map(|_| next()).collect();
    let b = (0..k * n).map(|_| next()).collect();
    (a, b)
}

fn bench(c: &mut Criterion) {
    let (m, k, n) = (256, 256, 256);
    let mut g = c.benchmark_group("exact_gemm_256");
    g.sample_size(10);
    for (df, name) in [
        (Dataflow::WeightStationary, "ws"),
        (Dataflow::OutputStationary, "os"),
        (Dataflow::InputStationary, "is"),
    ] {
        let array = ArrayShape {
            rows: 32,
            cols: 32,
            dataflow: df,
        };
        let updates = gemm_on(array, m as u64, k as u64, n as u64).cycles * 32 * 32;
        g.throughput(Throughput::Elements(updates));
        for (lim, width) in [(127i64, "i8"), (i32::MAX as i64, "i32")] {
            let (a, b) = operands(m, k, n, lim);
            g.bench_function(format!("{name}_32x32_{width}"), |bch| {
                bch.iter(|| run_gemm_on(array, &a, &b, m, k, n).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

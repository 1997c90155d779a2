use proptest::prelude::*;

use super::*;

fn arr(r: usize, c: usize, d: Dataflow) -> ArrayShape {
    ArrayShape {
        rows: r,
        cols: c,
        dataflow: d,
    }
}

fn dataflow() -> impl Strategy<Value = Dataflow> {
    prop_oneof![
        Just(Dataflow::WeightStationary),
        Just(Dataflow::OutputStationary),
        Just(Dataflow::InputStationary),
    ]
}

fn check_one(array: ArrayShape, a: &[i32], b: &[i32], m: usize, k: usize, n: usize) {
    let run = run_gemm_on(array, a, b, m, k, n).unwrap();
    if let Err(e) = run.check(a, b) {
        panic!("{array:?} m={m} k={k} n={n}: {e}");
    }
    let fast = crate::fast::gemm_on(array, m as u64, k as u64, n as u64);
    assert_eq!(run.cycles, fast.cycles, "{array:?} m={m} k={k} n={n}");
    for f in &run.folds {
        assert_eq!(f.cycles, fast.mapping.fold_cycles);
    }
    assert_eq!(
        run.folds.iter().map(|f| f.macs).sum::<u64>(),
        (m * k * n) as u64
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn exact_equals_matmul_and_fast_cycles(
        df in dataflow(),
        rows in prop_oneof![Just(1usize), 1usize..9],
        cols in prop_oneof![Just(1usize), 1usize..9],
        m in 1usize..20, k in 1usize..20, n in 1usize..20,
        wide in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut s = seed | 1;
        let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
        let lim: i64 = if wide { i32::MAX as i64 } else { 128 };
        let mut val = || ((next() % (2 * lim as u64 + 1)) as i64 - lim) as i32;
        let a: Vec<i32> = (0..m * k).map(|_| val()).collect();
        let b: Vec<i32> = (0..k * n).map(|_| val()).collect();
        check_one(arr(rows, cols, df), &a, &b, m, k, n);
    }
}

#[test]
fn narrow_path_is_taken_for_int8() {
    let a: Vec<i32> = (0..6 * 5).map(|i| (i % 255) - 127).collect();
    let b: Vec<i32> = (0..5 * 7).map(|i| 127 - (i % 255)).collect();
    let run = run_gemm_on(arr(4, 3, Dataflow::WeightStationary), &a, &b, 6, 5, 7).unwrap();
    assert!(run.narrow);
    run.check(&a, &b).unwrap();
    let big = vec![i32::MAX; 5 * 7];
    let run = run_gemm_on(arr(4, 3, Dataflow::WeightStationary), &a, &big, 6, 5, 7).unwrap();
    assert!(!run.narrow);
    run.check(&a, &big).unwrap();
}

#[test]
fn mismatch_names_tensor_index_values_and_cycle() {
    let (m, k, n) = (5usize, 4usize, 3usize);
    let a: Vec<i32> = (0..(m * k) as i32).collect();
    let b: Vec<i32> = (0..(k * n) as i32).collect();
    let mut run = run_gemm_on(arr(2, 2, Dataflow::WeightStationary), &a, &b, m, k, n).unwrap();
    run.out[n + 2] += 1;
    let e = run.check(&a, &b).unwrap_err();
    assert_eq!((e.row, e.col), (1, 2));
    assert_eq!(e.got, e.expected + 1);
    assert!(
        e.to_string()
            .starts_with("tensor C: first difference at [1, 2]"),
        "{e}"
    );
    assert!(e.cycle < run.cycles);
}

#[test]
fn bad_sizes_are_errors() {
    let e = run_gemm_on(
        arr(2, 2, Dataflow::WeightStationary),
        &[1, 2, 3],
        &[1],
        2,
        2,
        1,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("operand A: 3 elements for a 2×2 matrix"),
        "{e}"
    );
    assert!(run_gemm_on(arr(2, 2, Dataflow::WeightStationary), &[], &[], 0, 2, 1).is_err());
}

struct Count(u64);
impl Observer for Count {
    fn cycle(&mut self, s: &PeState<'_>) {
        assert_eq!(s.acc.len(), s.rows * s.cols);
        assert_eq!(s.cycle, self.0);
        self.0 += 1;
    }
}

#[test]
fn observer_sees_every_cycle_once_in_order() {
    for df in [
        Dataflow::WeightStationary,
        Dataflow::OutputStationary,
        Dataflow::InputStationary,
    ] {
        let hw = Accelerator::new("t", 3, 2, df, 100.0);
        let a: Vec<i32> = (0..4 * 5).collect();
        let b: Vec<i32> = (0..5 * 3).collect();
        let mut c = Count(0);
        let run = run_gemm_observed(&hw, &a, &b, 4, 5, 3, &mut c).unwrap();
        assert_eq!(c.0, run.cycles);
        run.check(&a, &b).unwrap();
    }
}

/// WS: the streamed register of PE `(r, c)` holds `A[t][r]` with `t = cycle - R - r - c` (the
/// skewed schedule of the module docs), zero outside `0..T` and during the tile shift-in; the
/// stationary register holds `B[r][c]` once the shift-in is over.
struct WsRegisters {
    a: Vec<i32>,
    b: Vec<i32>,
    k: usize,
    n: usize,
    m: usize,
}
impl Observer for WsRegisters {
    fn cycle(&mut self, st: &PeState<'_>) {
        let (rr, cc) = (st.rows, st.cols);
        let local = (st.cycle - st.fold.start_cycle) as i64;
        for r in 0..rr {
            for c in 0..cc {
                let t = local - rr as i64 - r as i64 - c as i64;
                let kk = st.fold.row_start as usize + r;
                let want = if t >= 0 && (t as usize) < self.m && (r as u64) < st.fold.rows_used {
                    self.a[t as usize * self.k + kk]
                } else {
                    0
                };
                assert_eq!(
                    st.moving[r * cc + c],
                    want,
                    "cycle {} PE ({r}, {c})",
                    st.cycle
                );
                if local >= rr as i64 {
                    let nn = st.fold.col_start as usize + c;
                    let used = (r as u64) < st.fold.rows_used && (c as u64) < st.fold.cols_used;
                    let s = if used { self.b[kk * self.n + nn] } else { 0 };
                    assert_eq!(st.second[r * cc + c], s, "cycle {} PE ({r}, {c})", st.cycle);
                }
            }
        }
    }
}

#[test]
fn ws_registers_follow_the_skewed_schedule() {
    let (m, k, n) = (5, 7, 4);
    let hw = Accelerator::new("t", 3, 2, Dataflow::WeightStationary, 100.0);
    let a: Vec<i32> = (0..m * k).map(|i| i as i32 + 1).collect();
    let b: Vec<i32> = (0..k * n).map(|i| 100 + i as i32).collect();
    let mut o = WsRegisters {
        a: a.clone(),
        b: b.clone(),
        k,
        n,
        m,
    };
    let run = run_gemm_observed(&hw, &a, &b, m, k, n, &mut o).unwrap();
    run.check(&a, &b).unwrap();
}

/// OS: PE `(r, c)` holds `A[r][t]` and `B[t][c]` with `t = cycle - r - c`, zero outside `0..K`.
struct OsRegisters {
    a: Vec<i32>,
    b: Vec<i32>,
    k: usize,
    n: usize,
}
impl Observer for OsRegisters {
    fn cycle(&mut self, st: &PeState<'_>) {
        let cc = st.cols;
        let local = (st.cycle - st.fold.start_cycle) as i64;
        for r in 0..st.rows {
            for c in 0..cc {
                let t = local - r as i64 - c as i64;
                let live = t >= 0 && (t as usize) < self.k;
                let (mm, nn) = (
                    st.fold.row_start as usize + r,
                    st.fold.col_start as usize + c,
                );
                let wa = if live && (r as u64) < st.fold.rows_used {
                    self.a[mm * self.k + t as usize]
                } else {
                    0
                };
                let wb = if live && (c as u64) < st.fold.cols_used {
                    self.b[t as usize * self.n + nn]
                } else {
                    0
                };
                assert_eq!(
                    st.moving[r * cc + c],
                    wa,
                    "A, cycle {} PE ({r}, {c})",
                    st.cycle
                );
                assert_eq!(
                    st.second[r * cc + c],
                    wb,
                    "B, cycle {} PE ({r}, {c})",
                    st.cycle
                );
            }
        }
    }
}

#[test]
fn os_registers_follow_the_skewed_schedule() {
    let (m, k, n) = (5, 7, 4);
    let hw = Accelerator::new("t", 3, 3, Dataflow::OutputStationary, 100.0);
    let a: Vec<i32> = (0..m * k).map(|i| i as i32 + 1).collect();
    let b: Vec<i32> = (0..k * n).map(|i| 100 + i as i32).collect();
    let mut o = OsRegisters {
        a: a.clone(),
        b: b.clone(),
        k,
        n,
    };
    let run = run_gemm_observed(&hw, &a, &b, m, k, n, &mut o).unwrap();
    run.check(&a, &b).unwrap();
}

//! `.npy` input and output (via the npyz crate), with atomic writes.

use npyz::WriterBuilder;
use std::path::Path;

use crate::error::{Error, Result};
use crate::tensor::{Data, Tensor};

fn ferr(path: &Path, msg: impl Into<String>) -> Error {
    Error::File {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Reads a `.npy` file of f32, f64, i8/u8/i16/u16/i32/u32/i64/u64 or bool.
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    if meta.is_dir() {
        return Err(ferr(path, "is a directory, not a .npy file"));
    }
    let bytes = crate::files::read(path)?;
    npy_from_bytes(&bytes, path)
}

/// Reads a `.npy` file of model inputs (inputs, calibration or evaluation data) and refuses
/// NaN and infinite values, naming the first. Fixed-point formats have no code for them (the
/// integer path would turn a NaN image into a confident class), and a float run that accepted
/// them could not be compared with the quantized one; the policy is in docs/robustness.md.
pub fn read_data(path: &Path) -> Result<Tensor> {
    to_f32(read_data_as_saved(path)?, path)
}

/// [`read_data`] keeping float64 as float64: for a graph input declared double.
pub fn read_data_as_saved(path: &Path) -> Result<Tensor> {
    let t = read_npy(path)?;
    if t.shape.first() == Some(&0) {
        // Refused here, naming the file: deeper down the message named only the model's input
        // or a batch of 0.
        return Err(ferr(
            path,
            format!(
                "holds no samples (shape {:?}); expected at least one",
                t.shape
            ),
        ));
    }
    if t.shape.len() > 1 && t.shape[1..].contains(&0) {
        // A sample of no elements: calibration histograms of it had infinite bounds and hung.
        return Err(ferr(
            path,
            format!(
                "each sample holds no elements (shape {:?}); expected at least one value per \
                 sample",
                t.shape
            ),
        ));
    }
    require_finite(&t, path)?;
    Ok(t)
}

/// numpy saves float64 by default; models take float32. Converted once, where data are read,
/// so every verb (the float reference, calibration, the integer reference) takes the same files.
fn to_f32(t: Tensor, path: &Path) -> Result<Tensor> {
    if let Data::F64(v) = &t.data {
        if let Some(i) = v.iter().position(|x| x.abs() > f64::from(f32::MAX)) {
            return Err(ferr(
                path,
                format!(
                    "element {:?} is {:e}, beyond the float32 range the models take",
                    unravel(i, &t.shape),
                    v[i]
                ),
            ));
        }
        let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        return Ok(Tensor {
            shape: t.shape,
            data: Data::F32(f),
        });
    }
    Ok(t)
}

/// Refuses a tensor holding NaN or ±Inf, naming the file, the first such index and its value.
pub fn require_finite(t: &Tensor, path: &Path) -> Result<()> {
    let first = match &t.data {
        Data::F32(v) => v.iter().position(|x| !x.is_finite()),
        Data::F64(v) => v.iter().position(|x| !x.is_finite()),
        _ => None,
    };
    match first {
        None => Ok(()),
        Some(i) => {
            let idx = unravel(i, &t.shape);
            Err(ferr(
                path,
                format!(
                    "element {idx:?} is {}: inputs must be finite numbers (fixed-point formats have no NaN or infinity)",
                    t.data.get_f64(i)
                ),
            ))
        }
    }
}

/// The multi-index of flat index `i` in `shape` (row-major).
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    idx
}

/// Parses `.npy` bytes; `path` names them in errors.
pub fn npy_from_bytes(bytes: &[u8], path: &Path) -> Result<Tensor> {
    let data_at = check_header_len(bytes, path)?;
    let npy = npyz::NpyFile::new(bytes).map_err(|e| ferr(path, format!("not a .npy file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(ferr(
            path,
            "Fortran-ordered arrays are not supported; save with C order",
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let n: u64 = npy
        .shape()
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .unwrap_or(u64::MAX);
    let avail = bytes.len() as u64;
    let npyz::DType::Plain(ts) = npy.dtype() else {
        return Err(ferr(
            path,
            "structured arrays are not supported; expected a plain numeric array",
        ));
    };
    let need = n.saturating_mul(ts.size_field());
    if need > avail {
        return Err(ferr(
            path,
            format!("header says shape {shape:?} but the file has only {avail} bytes"),
        ));
    }
    // Bytes after the data: numpy never writes them, so the header's shape and the data
    // disagree (a shape that lost a dimension, two arrays appended): which one is meant is a
    // guess, so the file is refused.
    if let Some(at) = data_at {
        let extra = avail.saturating_sub(at).saturating_sub(need);
        if extra > 0 {
            return Err(ferr(
                path,
                format!(
                    "{extra} bytes follow the data of shape {shape:?}; expected the file to end \
                     with its data"
                ),
            ));
        }
    }
    let descr = ts.to_string();
    let bad = |e: std::io::Error| ferr(path, format!("truncated or corrupt data: {e}"));
    let data = match descr.trim_start_matches(['<', '|', '=']) {
        "f4" => Data::F32(npy.into_vec().map_err(bad)?),
        "f8" => Data::F64(npy.into_vec().map_err(bad)?),
        "i1" => Data::I8(npy.into_vec().map_err(bad)?),
        "u1" => Data::U8(npy.into_vec().map_err(bad)?),
        "i2" => Data::I16(npy.into_vec().map_err(bad)?),
        "u2" => Data::U16(npy.into_vec().map_err(bad)?),
        "i4" => Data::I32(npy.into_vec().map_err(bad)?),
        "u4" => Data::U32(npy.into_vec().map_err(bad)?),
        "i8" => Data::I64(npy.into_vec().map_err(bad)?),
        "u8" => Data::U64(npy.into_vec().map_err(bad)?),
        "b1" => Data::Bool(npy.into_vec().map_err(bad)?),
        other => {
            return Err(ferr(
                path,
                format!("element type '{other}' is not supported (use float32)"),
            ))
        }
    };
    Tensor::new(shape, data).map_err(|e| ferr(path, e.to_string()))
}

/// Refuses a header that claims more bytes than the file holds: npyz allocates the header's
/// declared length before reading it, so a v2/v3 header (a 32-bit length) claiming 4 GB in a
/// 4 KB file would abort the process instead of failing.
/// Returns where the data starts, when the file has a header npyz will read.
fn check_header_len(bytes: &[u8], path: &Path) -> Result<Option<u64>> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Ok(None); // npyz names what is wrong with such a file
    }
    let (len, start) = match bytes[6] {
        1 => (u64::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10u64),
        2 | 3 if bytes.len() >= 12 => (
            u64::from(u32::from_le_bytes([
                bytes[8], bytes[9], bytes[10], bytes[11],
            ])),
            12,
        ),
        v => {
            return Err(ferr(
                path,
                format!("not a .npy file: format version {v} (expected 1, 2 or 3)"),
            ))
        }
    };
    if start + len > bytes.len() as u64 {
        return Err(ferr(
            path,
            format!(
                "not a .npy file: its header claims {len} bytes but the file has only {}",
                bytes.len()
            ),
        ));
    }
    check_header_shape(&bytes[start as usize..(start + len) as usize], path)?;
    Ok(Some(start + len))
}

/// Refuses a header shape whose element count overflows or passes the element limit before
/// npyz multiplies it out: npyz's product overflowed (a panic in debug builds, and in release a
/// wrapped count that a small file could match, read as a valid array).
fn check_header_shape(header: &[u8], path: &Path) -> Result<()> {
    let text = String::from_utf8_lossy(header);
    let Some(at) = text.find("'shape'") else {
        return Ok(()); // npyz names what is missing
    };
    let rest = &text[at..];
    let (Some(open), Some(close)) = (rest.find('('), rest.find(')')) else {
        return Ok(());
    };
    if close < open {
        return Ok(());
    }
    let mut n: u128 = 1;
    for d in rest[open + 1..close].split(',').map(str::trim) {
        if d.is_empty() {
            continue;
        }
        let Ok(d) = d.trim_end_matches('L').parse::<u128>() else {
            return Ok(()); // not a number: npyz refuses it
        };
        n = n.saturating_mul(d);
    }
    systole_hw::limits::MAX_TENSOR_ELEMENTS
        .check(n)
        .map_err(|m| ferr(path, format!("the header's shape is too large: {m}")))
}

/// Serializes a tensor as `.npy` bytes.
pub fn npy_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let shape_text: usize = t.shape.iter().map(|d| d.to_string().len() + 2).sum();
    if shape_text > LONG_HEADER {
        return Ok(npy_bytes_v2(t));
    }
    let mut out = Vec::new();
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    macro_rules! write_as {
        ($v:expr, $ty:ty) => {{
            let mut w = npyz::WriteOptions::<$ty>::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(|e| Error::internal(format!("npy into memory: {e}")))?;
            w.extend($v.iter().copied())
                .map_err(|e| Error::internal(format!("npy into memory: {e}")))?;
            w.finish()
                .map_err(|e| Error::internal(format!("npy into memory: {e}")))?;
        }};
    }
    match &t.data {
        Data::F32(v) => write_as!(v, f32),
        Data::F64(v) => write_as!(v, f64),
        Data::I8(v) => write_as!(v, i8),
        Data::U8(v) => write_as!(v, u8),
        Data::I16(v) => write_as!(v, i16),
        Data::U16(v) => write_as!(v, u16),
        Data::I32(v) => write_as!(v, i32),
        Data::U32(v) => write_as!(v, u32),
        Data::I64(v) => write_as!(v, i64),
        Data::U64(v) => write_as!(v, u64),
        Data::Bool(v) => write_as!(v, bool),
    }
    Ok(out)
}

/// Shape texts longer than this go through [`npy_bytes_v2`]: npyz 0.9 picks the 16-bit header
/// length of format 1.0 for any header under 4 GiB and then asserts it fits (a panic for a
/// tensor of some 20,000 unit dimensions). Shorter ones keep npyz's bytes exactly.
const LONG_HEADER: usize = 60_000;

/// A format 2.0 `.npy` (32-bit header length), written by hand for the long headers npyz cannot.
fn npy_bytes_v2(t: &Tensor) -> Vec<u8> {
    let descr = match t.data {
        Data::F32(_) => "<f4",
        Data::F64(_) => "<f8",
        Data::I8(_) => "|i1",
        Data::U8(_) => "|u1",
        Data::I16(_) => "<i2",
        Data::U16(_) => "<u2",
        Data::I32(_) => "<i4",
        Data::U32(_) => "<u4",
        Data::I64(_) => "<i8",
        Data::U64(_) => "<u8",
        Data::Bool(_) => "|b1",
    };
    let dims: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic (6) + version (2) + length (4) + text, padded with spaces to a multiple of 64
    // and ended by a newline, as the format asks.
    while !(12 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(12 + header.len() + t.len() * t.dtype().size_bytes());
    out.extend_from_slice(b"\x93NUMPY\x02\x00");
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&t.data.to_le_bytes());
    out
}

pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    crate::files::write(path, &npy_bytes(t)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_of_many_unit_dimensions_round_trip_through_a_v2_header() {
        // 25,000 unit dimensions: a shape text of 75 kB, past npyz's 16-bit header length.
        let mut shape = vec![1usize; 25_000];
        shape[7] = 3;
        for t in [
            Tensor::f32(shape.clone(), vec![1.5, -2.0, f32::MAX]),
            Tensor::i64(shape.clone(), vec![i64::MIN, 0, 9]),
            Tensor::new(shape.clone(), Data::Bool(vec![true, false, true])).unwrap(),
            Tensor::new(shape.clone(), Data::U16(vec![1, 2, 65535])).unwrap(),
        ] {
            let bytes = npy_bytes(&t).unwrap();
            assert_eq!(&bytes[..8], b"\x93NUMPY\x02\x00");
            let header = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
            assert_eq!((12 + header) % 64, 0);
            assert_eq!(npy_from_bytes(&bytes, Path::new("v2.npy")).unwrap(), t);
        }
        // Short shapes keep npyz's format 1.0 bytes.
        let b = npy_bytes(&Tensor::f32(vec![2], vec![1.0, 2.0])).unwrap();
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    }

    #[test]
    fn roundtrip_f32_and_i64() {
        let dir = std::env::temp_dir().join(format!("systole-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for t in [
            Tensor::f32(vec![2, 3], vec![1.0, -2.0, 3.5, 0.0, 1e-3, 7.0]),
            Tensor::i64(vec![3], vec![1, -5, 9]),
        ] {
            let p = dir.join("x.npy");
            write_npy(&p, &t).unwrap();
            assert_eq!(read_npy(&p).unwrap(), t);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_and_truncation_are_errors_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("systole-npy-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.npy");
        std::fs::write(&p, b"hello world").unwrap();
        assert!(read_npy(&p).unwrap_err().to_string().contains("bad.npy"));
        let full = npy_bytes(&Tensor::f32(vec![100], vec![1.0; 100])).unwrap();
        std::fs::write(&p, &full[..full.len() - 10]).unwrap();
        let e = read_npy(&p).unwrap_err().to_string();
        assert!(e.contains("bad.npy"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

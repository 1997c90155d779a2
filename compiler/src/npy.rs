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

/// Parses `.npy` bytes; `path` names them in errors.
pub fn npy_from_bytes(bytes: &[u8], path: &Path) -> Result<Tensor> {
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
    if n.saturating_mul(ts.size_field()) > avail {
        return Err(ferr(
            path,
            format!("header says shape {shape:?} but the file has only {avail} bytes"),
        ));
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
    Tensor::new(shape, data).map_err(|m| ferr(path, m))
}

/// Serializes a tensor as `.npy` bytes.
pub fn npy_bytes(t: &Tensor) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
    macro_rules! write_as {
        ($v:expr, $ty:ty) => {{
            let mut w = npyz::WriteOptions::<$ty>::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(|e| Error::Invalid(format!("npy: {e}")))?;
            w.extend($v.iter().copied())
                .map_err(|e| Error::Invalid(format!("npy: {e}")))?;
            w.finish()
                .map_err(|e| Error::Invalid(format!("npy: {e}")))?;
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

pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    crate::files::write(path, &npy_bytes(t)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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

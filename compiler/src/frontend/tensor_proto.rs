//! ONNX `TensorProto` → [`Tensor`]: raw_data, the typed repeated fields, and external data.

use std::path::Path;

use prost::Message;

use super::proto::TensorProto;
use crate::error::{Error, Result};
use crate::tensor::{DType, Data, Tensor};

fn err(name: &str, msg: impl Into<String>) -> Error {
    Error::Tensor {
        name: name.to_string(),
        msg: msg.into(),
    }
}

fn le_chunks<const N: usize, T>(raw: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| {
            let mut a = [0u8; N];
            a.copy_from_slice(c);
            f(a)
        })
        .collect()
}

fn from_raw(dtype: DType, raw: &[u8]) -> Data {
    match dtype {
        DType::F32 => Data::F32(le_chunks(raw, f32::from_le_bytes)),
        DType::F64 => Data::F64(le_chunks(raw, f64::from_le_bytes)),
        DType::I8 => Data::I8(raw.iter().map(|&b| b as i8).collect()),
        DType::U8 => Data::U8(raw.to_vec()),
        DType::I16 => Data::I16(le_chunks(raw, i16::from_le_bytes)),
        DType::U16 => Data::U16(le_chunks(raw, u16::from_le_bytes)),
        DType::I32 => Data::I32(le_chunks(raw, i32::from_le_bytes)),
        DType::U32 => Data::U32(le_chunks(raw, u32::from_le_bytes)),
        DType::I64 => Data::I64(le_chunks(raw, i64::from_le_bytes)),
        DType::U64 => Data::U64(le_chunks(raw, u64::from_le_bytes)),
        DType::Bool => Data::Bool(raw.iter().map(|&b| b != 0).collect()),
    }
}

/// Reads external data (`data_location = EXTERNAL`) from a file beside the model.
fn external_bytes(t: &TensorProto, name: &str, model_dir: Option<&Path>) -> Result<Vec<u8>> {
    let mut location = None;
    let (mut offset, mut length) = (0u64, None);
    for kv in &t.external_data {
        match kv.key() {
            "location" => location = Some(kv.value().to_string()),
            "offset" => {
                offset = kv
                    .value()
                    .parse()
                    .map_err(|_| err(name, "bad external offset"))?
            }
            "length" => {
                length = Some(
                    kv.value()
                        .parse::<u64>()
                        .map_err(|_| err(name, "bad external length"))?,
                )
            }
            _ => {}
        }
    }
    let location = location.ok_or_else(|| err(name, "external data without a 'location'"))?;
    let dir = model_dir.ok_or_else(|| {
        err(
            name,
            format!("stored in external file '{location}', but the model was not read from a file"),
        )
    })?;
    let rel = Path::new(&location);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(err(
            name,
            format!("external data location '{location}' leaves the model's folder"),
        ));
    }
    let path = dir.join(rel);
    let bytes = crate::files::read(&path)?;
    let start = offset as usize;
    let end = match length {
        Some(l) => start.checked_add(l as usize),
        None => Some(bytes.len()),
    };
    match end {
        Some(end) if start <= end && end <= bytes.len() => Ok(bytes[start..end].to_vec()),
        _ => Err(Error::File {
            path,
            msg: format!(
                "external data of '{name}' runs past the end of the file ({} bytes)",
                bytes.len()
            ),
        }),
    }
}

/// Converts a TensorProto. `model_dir` lets external data be read from beside the model.
pub fn tensor_from_proto(t: &TensorProto, model_dir: Option<&Path>) -> Result<Tensor> {
    let name = t.name();
    let code = t.data_type();
    let dtype = DType::from_onnx(code).ok_or_else(|| {
        err(
            name,
            format!(
                "element type {} ({code}) is not supported",
                DType::onnx_name(code)
            ),
        )
    })?;
    let mut shape = Vec::with_capacity(t.dims.len());
    let mut n: u64 = 1;
    for &d in &t.dims {
        if d < 0 {
            return Err(err(name, format!("negative dimension {d} in {:?}", t.dims)));
        }
        n = n.saturating_mul(d as u64);
        systole_hw::limits::MAX_TENSOR_ELEMENTS
            .check(u128::from(n))
            .map_err(|m| err(name, format!("{:?}: {m}", t.dims)))?;
        shape.push(d as usize);
    }
    let n = n as usize;
    let data = if t.data_location() == super::proto::tensor_proto::DataLocation::External {
        let raw = external_bytes(t, name, model_dir)?;
        check_raw(name, dtype, &raw, n)?;
        from_raw(dtype, &raw)
    } else if let Some(raw) = &t.raw_data {
        check_raw(name, dtype, raw, n)?;
        from_raw(dtype, raw)
    } else {
        match dtype {
            DType::F32 => Data::F32(t.float_data.clone()),
            DType::F64 => Data::F64(t.double_data.clone()),
            DType::I64 => Data::I64(t.int64_data.clone()),
            DType::U32 => Data::U32(t.uint64_data.iter().map(|&x| x as u32).collect()),
            DType::U64 => Data::U64(t.uint64_data.clone()),
            // int32_data carries every narrower integer type and bool.
            DType::I32 => Data::I32(t.int32_data.clone()),
            // Values outside the type were truncated (an int8 zero point of 1000 became -24).
            DType::I8 => Data::I8(narrow(name, dtype, &t.int32_data)?),
            DType::U8 => Data::U8(narrow(name, dtype, &t.int32_data)?),
            DType::I16 => Data::I16(narrow(name, dtype, &t.int32_data)?),
            DType::U16 => Data::U16(narrow(name, dtype, &t.int32_data)?),
            DType::Bool => Data::Bool(t.int32_data.iter().map(|&x| x != 0).collect()),
        }
    };
    Tensor::new(shape, data).map_err(|e| err(name, e.to_string()))
}

/// `int32_data` values as a narrower integer type, refusing any that does not fit.
fn narrow<T: TryFrom<i32>>(name: &str, dtype: DType, v: &[i32]) -> Result<Vec<T>> {
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            T::try_from(x).map_err(|_| {
                err(
                    name,
                    format!("element {i} is {x}, outside the range of {dtype}"),
                )
            })
        })
        .collect()
}

fn check_raw(name: &str, dtype: DType, raw: &[u8], n: usize) -> Result<()> {
    let want = n * dtype.size_bytes();
    if raw.len() != want {
        return Err(err(
            name,
            format!(
                "raw data has {} bytes; {} elements of {} need {}",
                raw.len(),
                n,
                dtype,
                want
            ),
        ));
    }
    Ok(())
}

/// Reads a serialized TensorProto file (the `.pb` files of the ONNX test data sets).
pub fn read_tensor_pb(path: &Path) -> Result<Tensor> {
    let bytes = crate::files::read(path)?;
    let t = TensorProto::decode(bytes.as_slice()).map_err(|e| Error::File {
        path: path.to_path_buf(),
        msg: format!("not a TensorProto: {e}"),
    })?;
    tensor_from_proto(&t, path.parent())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_typed_fields_agree() {
        let raw = TensorProto {
            dims: vec![2],
            data_type: Some(1),
            raw_data: Some([1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat()),
            ..Default::default()
        };
        let typed = TensorProto {
            dims: vec![2],
            data_type: Some(1),
            float_data: vec![1.5, -2.0],
            ..Default::default()
        };
        assert_eq!(
            tensor_from_proto(&raw, None).unwrap(),
            tensor_from_proto(&typed, None).unwrap()
        );
    }

    #[test]
    fn short_raw_data_is_an_error() {
        let t = TensorProto {
            name: Some("w".into()),
            dims: vec![3],
            data_type: Some(1),
            raw_data: Some(vec![0; 8]),
            ..Default::default()
        };
        let e = tensor_from_proto(&t, None).unwrap_err().to_string();
        assert!(e.contains("tensor 'w'") && e.contains("8 bytes"), "{e}");
    }

    #[test]
    fn huge_dims_are_refused_before_allocation() {
        let t = TensorProto {
            dims: vec![1 << 20, 1 << 20],
            data_type: Some(1),
            ..Default::default()
        };
        assert!(tensor_from_proto(&t, None)
            .unwrap_err()
            .to_string()
            .contains("limit"));
    }

    #[test]
    fn external_data_loads_from_beside_the_model_and_stays_inside_its_folder() {
        use super::super::proto::StringStringEntryProto;
        let dir = std::env::temp_dir().join(format!("systole-ext-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes: Vec<u8> = [0.0f32, 1.5, -2.0, 4.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(dir.join("w.bin"), &bytes).unwrap();
        let kv = |k: &str, v: &str| StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        let mut t = TensorProto {
            name: Some("w".into()),
            dims: vec![2],
            data_type: Some(1),
            data_location: Some(1),
            external_data: vec![
                kv("location", "w.bin"),
                kv("offset", "4"),
                kv("length", "8"),
            ],
            ..Default::default()
        };
        let got = tensor_from_proto(&t, Some(&dir)).unwrap();
        assert_eq!(got.as_f32().unwrap(), &[1.5, -2.0]);
        t.external_data[0] = kv("location", "../w.bin");
        let e = tensor_from_proto(&t, Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("leaves the model's folder"), "{e}");
        t.external_data[0] = kv("location", "w.bin");
        t.external_data[2] = kv("length", "800");
        let e = tensor_from_proto(&t, Some(&dir)).unwrap_err().to_string();
        assert!(e.contains("runs past the end"), "{e}");
        assert!(tensor_from_proto(&t, None)
            .unwrap_err()
            .to_string()
            .contains("external file 'w.bin'"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn float16_is_named_in_the_error() {
        let t = TensorProto {
            dims: vec![1],
            data_type: Some(10),
            ..Default::default()
        };
        assert!(tensor_from_proto(&t, None)
            .unwrap_err()
            .to_string()
            .contains("float16"));
    }
}

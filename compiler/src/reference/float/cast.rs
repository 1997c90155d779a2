//! Cast between every pair of [`DType`]s, with Rust `as` semantics: float → integer truncates
//! toward zero (saturating out of range, NaN → 0, where ONNX leaves the result undefined);
//! integer → integer wraps like C; anything → bool is `x != 0`; bool → number is 0 or 1.

use super::num::{dispatch_all, Elem};
use super::{input, max_inputs};
use crate::error::KernelError;
use crate::tensor::{DType, Data, Tensor};

/// Conversion of one element to every target type.
trait AsPrim: Elem {
    fn f32(self) -> f32;
    fn f64(self) -> f64;
    fn i8(self) -> i8;
    fn u8(self) -> u8;
    fn i16(self) -> i16;
    fn u16(self) -> u16;
    fn i32(self) -> i32;
    fn u32(self) -> u32;
    fn i64(self) -> i64;
    fn u64(self) -> u64;
    fn bool(self) -> bool;
}

macro_rules! impl_as_prim {
    ($($t:ty => $zero:expr),*) => {$(
        impl AsPrim for $t {
            fn f32(self) -> f32 { self as f32 }
            fn f64(self) -> f64 { self as f64 }
            fn i8(self) -> i8 { self as i8 }
            fn u8(self) -> u8 { self as u8 }
            fn i16(self) -> i16 { self as i16 }
            fn u16(self) -> u16 { self as u16 }
            fn i32(self) -> i32 { self as i32 }
            fn u32(self) -> u32 { self as u32 }
            fn i64(self) -> i64 { self as i64 }
            fn u64(self) -> u64 { self as u64 }
            #[allow(clippy::float_cmp)]
            fn bool(self) -> bool { self != $zero }
        }
    )*};
}
impl_as_prim!(f32 => 0.0, f64 => 0.0, i8 => 0, u8 => 0, i16 => 0, u16 => 0, i32 => 0,
    u32 => 0, i64 => 0, u64 => 0);

impl AsPrim for bool {
    fn f32(self) -> f32 {
        self as u8 as f32
    }
    fn f64(self) -> f64 {
        self as u8 as f64
    }
    fn i8(self) -> i8 {
        self as i8
    }
    fn u8(self) -> u8 {
        self as u8
    }
    fn i16(self) -> i16 {
        self as i16
    }
    fn u16(self) -> u16 {
        self as u16
    }
    fn i32(self) -> i32 {
        self as i32
    }
    fn u32(self) -> u32 {
        self as u32
    }
    fn i64(self) -> i64 {
        self as i64
    }
    fn u64(self) -> u64 {
        self as u64
    }
    fn bool(self) -> bool {
        self
    }
}

fn cast_slice<S: AsPrim>(v: &[S], to: DType) -> Data {
    match to {
        DType::F32 => Data::F32(v.iter().map(|x| x.f32()).collect()),
        DType::F64 => Data::F64(v.iter().map(|x| x.f64()).collect()),
        DType::I8 => Data::I8(v.iter().map(|x| x.i8()).collect()),
        DType::U8 => Data::U8(v.iter().map(|x| x.u8()).collect()),
        DType::I16 => Data::I16(v.iter().map(|x| x.i16()).collect()),
        DType::U16 => Data::U16(v.iter().map(|x| x.u16()).collect()),
        DType::I32 => Data::I32(v.iter().map(|x| x.i32()).collect()),
        DType::U32 => Data::U32(v.iter().map(|x| x.u32()).collect()),
        DType::I64 => Data::I64(v.iter().map(|x| x.i64()).collect()),
        DType::U64 => Data::U64(v.iter().map(|x| x.u64()).collect()),
        DType::Bool => Data::Bool(v.iter().map(|x| x.bool()).collect()),
    }
}

pub fn cast(to: DType, inputs: &[Option<&Tensor>]) -> Result<Tensor, KernelError> {
    max_inputs("Cast", inputs, 1)?;
    let x = input("Cast", inputs, 0, "input")?;
    if x.dtype() == to {
        return Ok(x.clone());
    }
    let data = dispatch_all!(x.dtype(), T => {
        let v = T::slice(&x.data).expect("dtype matches its data variant");
        cast_slice(v, to)
    });
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: Data, to: DType) -> Data {
        let n = x.len();
        cast(to, &[Some(&Tensor::new(vec![n], x).unwrap())])
            .unwrap()
            .data
    }

    #[test]
    fn float_to_int_truncates() {
        assert_eq!(
            c(Data::F32(vec![1.9, -1.9, 0.5]), DType::I32),
            Data::I32(vec![1, -1, 0])
        );
        assert_eq!(c(Data::F64(vec![300.7]), DType::U8), Data::U8(vec![255]));
        assert_eq!(c(Data::F32(vec![2.5]), DType::F64), Data::F64(vec![2.5]));
    }

    #[test]
    fn bool_conversions() {
        assert_eq!(
            c(Data::F32(vec![0.0, -0.0, 0.1, f32::NAN]), DType::Bool),
            Data::Bool(vec![false, false, true, true])
        );
        assert_eq!(
            c(Data::Bool(vec![true, false]), DType::F32),
            Data::F32(vec![1.0, 0.0])
        );
        assert_eq!(
            c(Data::I64(vec![0, 5]), DType::Bool),
            Data::Bool(vec![false, true])
        );
    }

    #[test]
    fn integer_wraps_and_large_values_exact() {
        assert_eq!(
            c(Data::I32(vec![-1, 256]), DType::U8),
            Data::U8(vec![255, 0])
        );
        assert_eq!(
            c(Data::U64(vec![u64::MAX]), DType::I64),
            Data::I64(vec![-1])
        );
        let big = (1i64 << 60) + 1;
        assert_eq!(
            c(Data::I64(vec![big]), DType::U64),
            Data::U64(vec![big as u64])
        );
    }
}

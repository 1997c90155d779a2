//! Element traits that let one generic kernel serve every [`DType`] it makes sense for, plus the
//! macros that turn a runtime dtype into a type parameter.

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

use crate::tensor::{DType, Data};

/// Any element type a [`Data`] can hold.
pub trait Elem: Copy + Send + Sync + PartialEq + Debug + 'static {
    const DTYPE: DType;
    /// The vector inside `d` when `d` is of this type.
    fn slice(d: &Data) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> Data;
}

macro_rules! impl_elem {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl Elem for $t {
            const DTYPE: DType = DType::$v;
            fn slice(d: &Data) -> Option<&[Self]> {
                match d {
                    Data::$v(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$v(v)
            }
        }
    )*};
}
impl_elem!(f32 => F32, f64 => F64, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32,
    u32 => U32, i64 => I64, u64 => U64, bool => Bool);

/// Numeric element types (everything but bool): the four arithmetic ops with ONNX semantics
/// (integers wrap on overflow; integer division truncates toward zero like C).
pub trait Num: Elem + PartialOrd {
    const ZERO: Self;
    const IS_FLOAT: bool;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Division; the caller has rejected integer division by zero.
    fn div(self, o: Self) -> Self;
    /// Converts an f64 bound (e.g. a Clip limit) into this type.
    fn from_f64(x: f64) -> Self;
}

macro_rules! impl_num_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0;
            const IS_FLOAT: bool = false;
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn div(self, o: Self) -> Self { self.wrapping_div(o) }
            fn from_f64(x: f64) -> Self { x as $t }
        }
    )*};
}
impl_num_int!(i8, u8, i16, u16, i32, u32, i64, u64);

/// Floating-point element types: what the arithmetic kernels (conv, pools, norms) run on.
pub trait Real:
    Num
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
{
    const ONE: Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn tanh(self) -> Self;
    /// The Gauss error function (musl's, through `libm`: std has no stable `erf`).
    fn erf(self) -> Self;
}

macro_rules! impl_real {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const ZERO: Self = 0.0;
            const IS_FLOAT: bool = true;
            fn add(self, o: Self) -> Self { self + o }
            fn sub(self, o: Self) -> Self { self - o }
            fn mul(self, o: Self) -> Self { self * o }
            fn div(self, o: Self) -> Self { self / o }
            fn from_f64(x: f64) -> Self { x as $t }
        }
        impl Real for $t {
            const ONE: Self = 1.0;
            fn to_f64(self) -> f64 { self as f64 }
            fn exp(self) -> Self { <$t>::exp(self) }
            fn tanh(self) -> Self { <$t>::tanh(self) }
            fn erf(self) -> Self { libm::Libm::<$t>::erf(self) }
        }
    )*};
}
impl_real!(f32, f64);

/// Runs `$body` with the type alias `$T` bound to the element type of `$dt`, for every dtype.
macro_rules! dispatch_all {
    ($dt:expr, $T:ident => $body:expr) => {{
        use $crate::tensor::DType as D;
        match $dt {
            D::F32 => {
                type $T = f32;
                $body
            }
            D::F64 => {
                type $T = f64;
                $body
            }
            D::I8 => {
                type $T = i8;
                $body
            }
            D::U8 => {
                type $T = u8;
                $body
            }
            D::I16 => {
                type $T = i16;
                $body
            }
            D::U16 => {
                type $T = u16;
                $body
            }
            D::I32 => {
                type $T = i32;
                $body
            }
            D::U32 => {
                type $T = u32;
                $body
            }
            D::I64 => {
                type $T = i64;
                $body
            }
            D::U64 => {
                type $T = u64;
                $body
            }
            D::Bool => {
                type $T = bool;
                $body
            }
        }
    }};
}

/// Like `dispatch_all!` for numeric dtypes; bool evaluates `$other`.
macro_rules! dispatch_num {
    ($dt:expr, $T:ident => $body:expr, $other:expr) => {{
        use $crate::tensor::DType as D;
        match $dt {
            D::F32 => {
                type $T = f32;
                $body
            }
            D::F64 => {
                type $T = f64;
                $body
            }
            D::I8 => {
                type $T = i8;
                $body
            }
            D::U8 => {
                type $T = u8;
                $body
            }
            D::I16 => {
                type $T = i16;
                $body
            }
            D::U16 => {
                type $T = u16;
                $body
            }
            D::I32 => {
                type $T = i32;
                $body
            }
            D::U32 => {
                type $T = u32;
                $body
            }
            D::I64 => {
                type $T = i64;
                $body
            }
            D::U64 => {
                type $T = u64;
                $body
            }
            D::Bool => $other,
        }
    }};
}

/// Like `dispatch_all!` for f32 and f64; other dtypes evaluate `$other`.
macro_rules! dispatch_real {
    ($dt:expr, $T:ident => $body:expr, $other:expr) => {{
        use $crate::tensor::DType as D;
        match $dt {
            D::F32 => {
                type $T = f32;
                $body
            }
            D::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    }};
}

pub(crate) use {dispatch_all, dispatch_num, dispatch_real};

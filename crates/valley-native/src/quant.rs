//! Quantised weights used as they are stored (GGUF blocks, no f32 copy): the block formats,
//! their dequantisation, the Q8 activation forms llama.cpp pairs them with, dot-product kernels
//! (portable Rust and AVX2 picked at run time) and the matrix products of the decoder
//! ([`crate::engine`]).
//!
//! Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the K-quants Q2_K … Q6_K. Each weight
//! row is dotted with activations quantised per block to 8 bits as llama.cpp does (`Q8_0` for
//! Q4_0/Q5_0/Q8_0, `Q8_1` — with its block sums — for Q4_1/Q5_1, `Q8_K` for the K-quants), so
//! the integer sums are the ones llama.cpp forms; float weights take f32 activations.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
pub mod dequant;
pub mod dot;
pub mod matrix;
pub mod packed;
pub mod quantize;
pub mod types;

pub use dot::Isa;
pub use matrix::{Acts, MatrixError, QMatrix};
pub use types::{ActKind, GgmlType};

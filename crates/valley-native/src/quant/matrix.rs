//! A weight matrix kept in its file's blocks (`[rows, cols]`, each row a whole number of
//! blocks) and its products with rows of activations, split across the rayon pool by output rows.

use rayon::prelude::*;

use super::dequant::dequantize;
use super::dot::{Isa, rows_block};
use super::packed::{self, GROUP};
use super::quantize::{ActRow, QuantRows};
use super::types::{ActKind, GgmlType};

/// Output values below which a product's rows are put in order on the calling thread.
const PARALLEL_TRANSPOSE: usize = 1 << 16;

/// A `[rows, cols]` weight matrix in ggml blocks, row-major.
#[derive(Debug, Clone)]
pub struct QMatrix {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    row_bytes: usize,
    data: Vec<u8>,
    /// Whether `data` is in the interleaved layout of `packed.rs` (whole groups of 16 rows).
    packed: bool,
}

/// Why bytes cannot be a matrix of the given type and shape.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("{cols} columns are not whole {ty} blocks of {per}")]
    Blocks { ty: &'static str, cols: usize, per: usize },
    #[error("{got} bytes, expected {expected} for {rows} x {cols} {ty}")]
    Length { ty: &'static str, rows: usize, cols: usize, got: usize, expected: usize },
    #[error("{0} is an activation format, not a weight type")]
    NotWeights(&'static str),
}

impl QMatrix {
    /// Wraps `data` (the file's bytes) as a `[rows, cols]` matrix of `ty`.
    pub fn new(ty: GgmlType, rows: usize, cols: usize, data: Vec<u8>) -> Result<Self, MatrixError> {
        if matches!(ty, GgmlType::Q8_1 | GgmlType::Q8K) {
            return Err(MatrixError::NotWeights(ty.name()));
        }
        let (per, _) = ty.block();
        if !cols.is_multiple_of(per) {
            return Err(MatrixError::Blocks { ty: ty.name(), cols, per });
        }
        let row_bytes = ty.bytes_for(cols);
        if data.len() != rows * row_bytes {
            return Err(MatrixError::Length {
                ty: ty.name(),
                rows,
                cols,
                got: data.len(),
                expected: rows * row_bytes,
            });
        }
        Ok(Self { ty, rows, cols, row_bytes, data, packed: false })
    }

    /// An f32 matrix from row-major values.
    pub fn from_f32(rows: usize, cols: usize, values: &[f32]) -> Self {
        assert_eq!(values.len(), rows * cols, "bug: matrix shape; please report");
        let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self { ty: GgmlType::F32, rows, cols, row_bytes: cols * 4, data, packed: false }
    }

    /// The matrix in the layout `isa`'s kernels read fastest ([`Isa::packs`]: Q4_0, Q4_1 and
    /// Q8_0 rows interleaved sixteen at a time for AVX-512 VNNI); others as they are. Same bytes,
    /// same values: only the order of the bytes changes.
    pub fn prepared(mut self, isa: Isa) -> Self {
        if !self.packed && isa.packs(self.ty, self.rows) {
            self.data = packed::pack(self.ty, self.rows, self.row_bytes, &self.data);
            self.packed = true;
        }
        self
    }

    /// Whether the rows are held interleaved for the AVX-512 kernels.
    pub fn is_packed(&self) -> bool {
        self.packed
    }

    /// The bytes of row `r` in the file's layout (`buf` holds them when the rows are packed).
    pub fn row<'a>(&'a self, r: usize, buf: &'a mut Vec<u8>) -> &'a [u8] {
        if self.packed {
            packed::unpack_row(self.ty, self.row_bytes, &self.data, r, buf);
            buf
        } else {
            &self.data[r * self.row_bytes..(r + 1) * self.row_bytes]
        }
    }

    /// Row `r` as f32 values (an embedding lookup).
    pub fn row_f32(&self, r: usize, out: &mut Vec<f32>) {
        let mut buf = Vec::new();
        dequantize(self.ty, self.row(r, &mut buf), out);
    }

    /// The matrix reordered by rows: new row `i` is old row `order[i]` (in the file's layout).
    pub fn permute_rows(&self, order: &[usize]) -> Self {
        let mut data = Vec::with_capacity(self.data.len());
        let mut buf = Vec::new();
        for &r in order {
            data.extend_from_slice(self.row(r, &mut buf));
        }
        Self { data, rows: order.len(), packed: false, ..self.clone() }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// `out[i][r] = Σ_c self[r][c] · x[i][c]` for the `acts.rows()` rows of `acts`: `out` is
    /// `[acts.rows(), self.rows]` row-major.
    pub fn matmul(&self, isa: Isa, acts: &mut Acts, out: &mut [f32], scratch: &mut Vec<f32>) {
        assert_eq!(
            acts.cols, self.cols,
            "bug: matmul of {} columns by {}; please report",
            acts.cols, self.cols
        );
        let n = acts.rows;
        assert_eq!(out.len(), n * self.rows, "bug: matmul output shape; please report");
        if self.packed {
            return self.matmul_packed(isa, acts, out, scratch);
        }
        let source = acts.source(self.ty.dot_partner());
        let rows: Vec<ActRow<'_>> = (0..n).map(|i| source.row(i)).collect();
        let threads = rayon::current_num_threads().max(1);
        // enough chunks to balance threads that other work delays, few enough to stay cheap
        let chunk = self.rows.div_ceil(threads * 8).max(4);
        let (ty, cols, rb) = (self.ty, self.cols, self.row_bytes);
        let target = kernel_output(n, self.rows, out, scratch);
        target.par_chunks_mut(chunk * n).enumerate().for_each(|(c, o)| {
            let first = c * chunk;
            let w = &self.data[first * rb..(first + o.len() / n) * rb];
            rows_block(isa, ty, w, rb, &rows, cols, o);
        });
        if n > 1 {
            transpose(scratch, n, self.rows, out);
        }
    }

    /// [`Self::matmul`] of packed rows: the AVX-512 kernels take up to eight activation rows
    /// per pass over a group of sixteen weight rows; another ISA (a caller's choice, or a test)
    /// unpacks each task's rows and runs its own kernels on them.
    fn matmul_packed(&self, isa: Isa, acts: &mut Acts, out: &mut [f32], scratch: &mut Vec<f32>) {
        let (n, ty, cols, rb) = (acts.rows, self.ty, self.cols, self.row_bytes);
        let Source::Quant(q) = acts.source(ty.dot_partner()) else {
            unreachable!("bug: f32 activations for packed {}; please report", ty.name())
        };
        let nb = cols / 32;
        let groups = self.rows / GROUP;
        let threads = rayon::current_num_threads().max(1);
        let chunk = groups.div_ceil(threads * 4).max(1) * GROUP;
        let target = kernel_output(n, self.rows, out, scratch);
        let data = &self.data;
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx512 {
            let rows: Vec<super::avx512::Act<'_>> = (0..n)
                .map(|i| super::avx512::Act {
                    d: &q.d[i * nb..(i + 1) * nb],
                    s: if q.kind == Some(ActKind::Q8_1) { &q.s[i * nb..(i + 1) * nb] } else { &[] },
                    isum: if q.isum.is_empty() { &[] } else { &q.isum[i * nb..(i + 1) * nb] },
                    qs: &q.qs[i * cols..(i + 1) * cols],
                })
                .collect();
            target.par_chunks_mut(chunk * n).enumerate().for_each(|(c, o)| {
                let w = &data[c * chunk * rb..(c * chunk + o.len() / n) * rb];
                super::avx512::rows_packed(ty, w, rb, &rows, o);
            });
            if n > 1 {
                transpose(scratch, n, self.rows, out);
            }
            return;
        }
        let rows: Vec<ActRow<'_>> = (0..n).map(|i| q.row(i)).collect();
        target.par_chunks_mut(chunk * n).enumerate().for_each(|(c, o)| {
            let first = c * chunk;
            let count = o.len() / n;
            let mut w = Vec::with_capacity(count * rb);
            let mut buf = Vec::new();
            for r in first..first + count {
                packed::unpack_row(ty, rb, data, r, &mut buf);
                w.extend_from_slice(&buf);
            }
            rows_block(isa, ty, &w, rb, &rows, cols, o);
        });
        if n > 1 {
            transpose(scratch, n, self.rows, out);
        }
    }
}

/// Where the kernels write their `[rows, n]` products: `out` itself for one activation row,
/// else `scratch` (then [`transpose`]d into `out`).
fn kernel_output<'a>(
    n: usize,
    rows: usize,
    out: &'a mut [f32],
    scratch: &'a mut Vec<f32>,
) -> &'a mut [f32] {
    if n == 1 {
        return out;
    }
    scratch.clear();
    scratch.resize(n * rows, 0.0);
    scratch
}

/// The kernels' `[rows, n]` into `[n, rows]`; one output row per task for a prompt (a decoding
/// batch's few rows are not worth waking the pool for).
fn transpose(scratch: &[f32], n: usize, rows: usize, out: &mut [f32]) {
    let transpose = |(i, o): (usize, &mut [f32])| {
        for (r, v) in o.iter_mut().enumerate() {
            *v = scratch[r * n + i];
        }
    };
    if n * rows >= PARALLEL_TRANSPOSE {
        out.par_chunks_mut(rows).enumerate().for_each(transpose);
    } else {
        out.chunks_mut(rows).enumerate().for_each(transpose);
    }
}

/// Rows of f32 activations and their quantised forms, each made once on first use.
#[derive(Debug, Default)]
pub struct Acts {
    x: Vec<f32>,
    rows: usize,
    cols: usize,
    quant: [(bool, QuantRows); 3],
}

/// Where a matmul reads its activation rows.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    F32(&'a [f32], usize),
    Quant(&'a QuantRows),
}

impl Source<'_> {
    fn row(&self, i: usize) -> ActRow<'_> {
        match self {
            Self::F32(x, cols) => ActRow::F32(&x[i * cols..(i + 1) * cols]),
            Self::Quant(q) => q.row(i),
        }
    }
}

impl Acts {
    /// Takes `rows × cols` new activations (copied into this value's buffer).
    pub fn set(&mut self, x: &[f32], rows: usize, cols: usize) {
        assert_eq!(x.len(), rows * cols, "bug: activation shape; please report");
        self.x.clear();
        self.x.extend_from_slice(x);
        self.rows = rows;
        self.cols = cols;
        for q in &mut self.quant {
            q.0 = false;
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    fn source(&mut self, kind: ActKind) -> Source<'_> {
        let slot = match kind {
            ActKind::F32 => return Source::F32(&self.x, self.cols),
            ActKind::Q8_0 => 0,
            ActKind::Q8_1 => 1,
            ActKind::Q8K => 2,
        };
        let (done, q) = &mut self.quant[slot];
        if !*done {
            q.fill(kind, &self.x, self.rows, self.cols);
            *done = true;
        }
        Source::Quant(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::dot::tests::{WEIGHT_TYPES, random_row};
    use crate::rng::Rng;

    /// A matmul over several activation rows gives, for every type, the row-by-row dot products
    /// (the batched and single-row paths agree), and its output is the f32 product within the
    /// activations' quantisation error.
    #[test]
    fn matmul_agrees_with_row_dots_and_with_f32() {
        let mut rng = Rng::new(11);
        let (rows, cols, n) = (37, 256, 5);
        for ty in WEIGHT_TYPES {
            let data: Vec<u8> = (0..rows).flat_map(|_| random_row(ty, cols, &mut rng)).collect();
            let m = QMatrix::new(ty, rows, cols, data).unwrap();
            let x: Vec<f32> = (0..n * cols).map(|_| rng.normal() as f32).collect();
            let mut acts = Acts::default();
            acts.set(&x, n, cols);
            let mut out = vec![0f32; n * rows];
            let mut scratch = Vec::new();
            m.matmul(Isa::detect(), &mut acts, &mut out, &mut scratch);
            for i in 0..n {
                let mut one = Acts::default();
                one.set(&x[i * cols..(i + 1) * cols], 1, cols);
                let mut single = vec![0f32; rows];
                m.matmul(Isa::Scalar, &mut one, &mut single, &mut scratch);
                for r in 0..rows {
                    let mut w = Vec::new();
                    m.row_f32(r, &mut w);
                    let exact: f32 = w.iter().zip(&x[i * cols..]).map(|(a, b)| a * b).sum();
                    let norm: f32 = w.iter().zip(&x[i * cols..]).map(|(a, b)| (a * b).abs()).sum();
                    let got = out[i * rows + r];
                    assert!(
                        (got - single[r]).abs() <= 1e-4 * norm,
                        "{} row {r}: {got} vs {}",
                        ty.name(),
                        single[r]
                    );
                    // 8-bit activations: relative error of a few 1/127 steps on the sum of |terms|
                    assert!(
                        (got - exact).abs() <= 0.02 * norm + 1e-6,
                        "{} row {r}: {got} vs f32 {exact}",
                        ty.name()
                    );
                }
            }
        }
    }

    /// A packed matrix (`packed.rs`) gives the unpacked one's products: exactly under the
    /// portable kernels (each task unpacks its rows), and up to float addition order under the
    /// AVX-512 VNNI kernels where this CPU has them — for activation row counts that fill a
    /// tile of eight, leave a remainder, or take one row.
    #[test]
    fn packed_matmul_agrees_with_unpacked() {
        let mut rng = Rng::new(29);
        let (rows, cols) = (48, 160);
        // without AVX-512 VNNI only the portable path over packed rows can run here
        let vnni = Isa::detect() == Isa::Avx512;
        for ty in [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0] {
            let data: Vec<u8> = (0..rows).flat_map(|_| random_row(ty, cols, &mut rng)).collect();
            let plain = QMatrix::new(ty, rows, cols, data).unwrap();
            let packed = plain.clone().prepared(Isa::Avx512);
            assert!(packed.is_packed() && !plain.clone().prepared(Isa::Avx2).is_packed());
            let mut scratch = Vec::new();
            for n in [1, 3, 8, 11] {
                let x: Vec<f32> = (0..n * cols).map(|_| rng.normal() as f32).collect();
                let run = |m: &QMatrix, isa: Isa, scratch: &mut Vec<f32>| {
                    let mut acts = Acts::default();
                    acts.set(&x, n, cols);
                    let mut out = vec![0f32; n * rows];
                    m.matmul(isa, &mut acts, &mut out, scratch);
                    out
                };
                let want = run(&plain, Isa::Scalar, &mut scratch);
                assert_eq!(run(&packed, Isa::Scalar, &mut scratch), want, "{} n {n}", ty.name());
                if !vnni {
                    continue;
                }
                let got = run(&packed, Isa::Avx512, &mut scratch);
                let mut w = Vec::new();
                for i in 0..n {
                    for r in 0..rows {
                        plain.row_f32(r, &mut w);
                        let norm: f32 =
                            w.iter().zip(&x[i * cols..]).map(|(a, b)| (a * b).abs()).sum();
                        let (g, e) = (got[i * rows + r], want[i * rows + r]);
                        assert!(
                            (g - e).abs() <= 1e-5 * norm + 1e-6,
                            "{} n {n} row {i},{r}: {g} vs {e}",
                            ty.name()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(matches!(
            QMatrix::new(GgmlType::Q4_0, 2, 48, vec![0; 2 * 18]),
            Err(MatrixError::Blocks { .. })
        ));
        assert!(matches!(
            QMatrix::new(GgmlType::Q4_0, 2, 64, vec![0; 18]),
            Err(MatrixError::Length { .. })
        ));
    }
}

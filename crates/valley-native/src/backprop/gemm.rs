//! Matrix products on f32 slices through the `gemm` crate (the kernels burn-flex uses), behind a
//! safe interface: strided views whose extents are checked against their slices, so the raw
//! pointers `gemm` takes never reach outside them.
#![expect(unsafe_code, reason = "gemm's raw-pointer interface, bounds checked here (issue 17)")]

/// A read-only matrix view: element `(i, j)` is `data[i · rs + j · cs]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct View<'a> {
    pub(super) data: &'a [f32],
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) rs: usize,
    pub(super) cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows × cols` matrix (row stride `ld`).
    pub(super) fn rows(data: &'a [f32], rows: usize, cols: usize, ld: usize) -> Self {
        Self { data, rows, cols, rs: ld, cs: 1 }
    }

    /// The whole slice as a row-major `rows × cols` matrix.
    pub(super) fn of(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::rows(data, rows, cols, cols)
    }

    /// The transpose (no copy).
    pub(super) fn t(self) -> Self {
        Self { rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs, ..self }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "bug: matrix view outside its slice; please report");
        }
    }
}

/// `c = a · b` (or `c += a · b` with `accumulate`), `c` row-major `a.rows × b.cols` with row
/// stride `ldc`. `parallel` splits the product over the rayon pool (for large products only).
pub(super) fn matmul(
    c: &mut [f32],
    ldc: usize,
    a: View<'_>,
    b: View<'_>,
    accumulate: bool,
    parallel: bool,
) {
    assert_eq!(a.cols, b.rows, "bug: inner dimensions differ; please report");
    let (m, n, k) = (a.rows, b.cols, a.cols);
    a.check();
    b.check();
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * ldc + n <= c.len() && n <= ldc,
        "bug: output view outside its slice; please report"
    );
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                c[r * ldc..r * ldc + n].fill(0.0);
            }
        }
        return;
    }
    let threads = if parallel { rayon::current_num_threads() } else { 1 };
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: every element the product touches lies inside its slice (checked above: the last
    // element of each view is in bounds, and strides are non-negative), `c` is borrowed
    // mutably so it aliases neither input, and `gemm` reads `c` only when `read_dst` is set.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldc as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: View<'_>, b: View<'_>) -> Vec<f32> {
        let mut out = vec![0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    out[i * b.cols + j] +=
                        a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs];
                }
            }
        }
        out
    }

    #[test]
    fn products_of_transposed_and_strided_views() {
        let a: Vec<f32> = (0..6 * 10).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..10 * 4).map(|i| (i % 5) as f32 * 0.5).collect();
        // a as 6×10, b as 10×4; then aᵀ-views and a column block of a (stride 10, 5 columns)
        for (va, vb) in [
            (View::of(&a, 6, 10), View::of(&b, 10, 4)),
            (View::of(&a, 10, 6).t(), View::of(&b, 10, 4)),
            (View::rows(&a[2..], 6, 5, 10), View::rows(&b, 5, 4, 4)),
        ] {
            let mut c = vec![1f32; va.rows * vb.cols];
            matmul(&mut c, vb.cols, va, vb, false, false);
            assert_eq!(c, naive(va, vb));
            matmul(&mut c, vb.cols, va, vb, true, true);
            let twice: Vec<f32> = naive(va, vb).iter().map(|v| 2.0 * v).collect();
            assert_eq!(c, twice);
        }
    }
}

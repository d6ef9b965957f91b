//! Element-wise work of the training pass, forward and backward, fused per row and split over
//! the rayon pool: RMSNorm, rotary embeddings, the SiLU-gated product, and the masked
//! cross-entropy on logits computed a chunk of rows at a time.

use rayon::prelude::*;

use super::gemm::{View, matmul};
use crate::engine::ops::{RopeTable, dot};

/// Rows per parallel task of an element-wise pass.
const ROWS: usize = 16;

/// `y = x · inv · g` with `inv = 1 / sqrt(mean(x²) + eps)` per row (kept for the backward).
pub(super) fn rms_forward(x: &[f32], g: &[f32], eps: f32, y: &mut [f32], inv: &mut [f32]) {
    let h = g.len();
    y.par_chunks_mut(h * ROWS).zip(x.par_chunks(h * ROWS)).zip(inv.par_chunks_mut(ROWS)).for_each(
        |((yc, xc), ic)| {
            for ((yr, xr), s) in yc.chunks_exact_mut(h).zip(xc.chunks_exact(h)).zip(ic.iter_mut()) {
                *s = 1.0 / (dot(xr, xr) / h as f32 + eps).sqrt();
                for ((o, &v), &w) in yr.iter_mut().zip(xr).zip(g) {
                    *o = v * *s * w;
                }
            }
        },
    );
}

/// The backward pass of [`rms_forward`]: `dx += ∂/∂x`, and `dg += Σ_rows dy · x · inv`.
pub(super) fn rms_backward(
    dy: &[f32],
    x: &[f32],
    inv: &[f32],
    g: &[f32],
    dx: &mut [f32],
    dg: &mut [f32],
) {
    let h = g.len();
    let partial: Vec<Vec<f32>> = dx
        .par_chunks_mut(h * ROWS)
        .zip(dy.par_chunks(h * ROWS))
        .zip(x.par_chunks(h * ROWS))
        .zip(inv.par_chunks(ROWS))
        .map(|(((dxc, dyc), xc), ic)| {
            let mut dgl = vec![0f32; h];
            for (((dxr, dyr), xr), &s) in
                dxc.chunks_exact_mut(h).zip(dyc.chunks_exact(h)).zip(xc.chunks_exact(h)).zip(ic)
            {
                // d(x·s) with s = (mean x² + eps)^-1/2: s·(dy·g) − x · s³/h · Σ (dy·g)·x
                let mut proj = 0f32;
                for ((&d, &v), &w) in dyr.iter().zip(xr).zip(g) {
                    proj += d * w * v;
                }
                let c = s * s * s * proj / h as f32;
                for (((o, &d), &v), (&w, gl)) in
                    dxr.iter_mut().zip(dyr).zip(xr).zip(g.iter().zip(dgl.iter_mut()))
                {
                    *o += s * d * w - c * v;
                    *gl += d * v * s;
                }
            }
            dgl
        })
        .collect();
    for p in partial {
        for (a, b) in dg.iter_mut().zip(p) {
            *a += b;
        }
    }
}

/// Rotates every head of every row (`width` values per row) by its token's position, or back.
pub(super) fn rope(
    x: &mut [f32],
    width: usize,
    positions: &[u32],
    table: &RopeTable,
    head_dim: usize,
    inverse: bool,
) {
    x.par_chunks_mut(width * ROWS).zip(positions.par_chunks(ROWS)).for_each(|(xc, pc)| {
        for (row, &p) in xc.chunks_exact_mut(width).zip(pc) {
            table.rotate(row, p as usize, head_dim, inverse);
        }
    });
}

/// `h = silu(gate) · up`.
pub(super) fn silu_mul_forward(gate: &[f32], up: &[f32], h: &mut [f32]) {
    h.par_chunks_mut(4096).zip(gate.par_chunks(4096)).zip(up.par_chunks(4096)).for_each(
        |((hc, gc), uc)| {
            for ((o, &g), &u) in hc.iter_mut().zip(gc).zip(uc) {
                *o = g / (1.0 + (-g).exp()) * u;
            }
        },
    );
}

/// The backward pass of [`silu_mul_forward`]: `dgate` and `dup` from `dh` (overwritten).
pub(super) fn silu_mul_backward(
    dh: &[f32],
    gate: &[f32],
    up: &[f32],
    dgate: &mut [f32],
    dup: &mut [f32],
) {
    dgate
        .par_chunks_mut(4096)
        .zip(dup.par_chunks_mut(4096))
        .zip(dh.par_chunks(4096).zip(gate.par_chunks(4096)).zip(up.par_chunks(4096)))
        .for_each(|((dgc, duc), ((dhc, gc), uc))| {
            for ((dg, du), ((&d, &g), &u)) in
                dgc.iter_mut().zip(duc.iter_mut()).zip(dhc.iter().zip(gc).zip(uc))
            {
                let sig = 1.0 / (1.0 + (-g).exp());
                let silu = g * sig;
                *du = d * silu;
                *dg = d * u * sig * (1.0 + g * (1.0 - sig));
            }
        });
}

/// Rows of logits computed at once by [`cross_entropy`].
const LOGIT_ROWS: usize = 64;

/// The masked next-token loss and its gradients, computing logits only for the rows that carry
/// a loss weight, a chunk of rows at a time (never the whole `[tokens, vocab]` matrix):
/// returns `Σ w · (−log p(target))`; writes `dxf = ∂(loss / normaliser)/∂xf` (rows without
/// weight left zero) and adds `∂/∂head` into `dhead`.
#[expect(clippy::too_many_arguments, reason = "the loss's inputs and outputs, all distinct")]
pub(super) fn cross_entropy(
    xf: &[f32],
    head: &[f32],
    vocab: usize,
    targets: &[u32],
    weights: &[f32],
    normaliser: f64,
    dxf: &mut [f32],
    dhead: &mut [f32],
    scratch: &mut Vec<f32>,
) -> f64 {
    let h = xf.len() / targets.len().max(1);
    dxf.fill(0.0);
    let rows: Vec<usize> = (0..targets.len()).filter(|&r| weights[r] > 0.0).collect();
    let mut loss = 0f64;
    let mut xs = Vec::with_capacity(LOGIT_ROWS * h);
    for chunk in rows.chunks(LOGIT_ROWS) {
        let m = chunk.len();
        xs.clear();
        for &r in chunk {
            xs.extend_from_slice(&xf[r * h..(r + 1) * h]);
        }
        scratch.resize(m * vocab, 0.0);
        let logits = &mut scratch[..m * vocab];
        matmul(logits, vocab, View::of(&xs, m, h), View::of(head, vocab, h).t(), false, true);
        // softmax minus one-hot, scaled by the row's weight over the normaliser
        let per: Vec<f64> = logits
            .par_chunks_mut(vocab)
            .zip(chunk.par_iter())
            .map(|(row, &r)| {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let t = targets[r] as usize;
                let target = row[t] - max;
                let mut sum = 0f32;
                for v in row.iter_mut() {
                    *v = (*v - max).exp();
                    sum += *v;
                }
                let nll = f64::from(sum).ln() - f64::from(target);
                let scale = (f64::from(weights[r]) / normaliser) as f32;
                let inv = scale / sum;
                for v in row.iter_mut() {
                    *v *= inv;
                }
                row[t] -= scale;
                nll * f64::from(weights[r])
            })
            .collect();
        loss += per.iter().sum::<f64>();
        // dxf rows = dlogits · head; dhead += dlogitsᵀ · xs
        let mut dxs = vec![0f32; m * h];
        matmul(&mut dxs, h, View::of(logits, m, vocab), View::of(head, vocab, h), false, true);
        for (k, &r) in chunk.iter().enumerate() {
            dxf[r * h..(r + 1) * h].copy_from_slice(&dxs[k * h..(k + 1) * h]);
        }
        matmul(dhead, h, View::of(logits, m, vocab).t(), View::of(&xs, m, h), true, true);
    }
    loss
}

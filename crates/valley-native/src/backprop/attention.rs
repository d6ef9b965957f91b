//! Causal attention over packed rows, forward and backward. A "run" is one example's tokens in a
//! row (attention never crosses runs); each (run, head) is an independent task on the rayon
//! pool, its products done by `gemm`. The probabilities are not kept: the backward pass
//! recomputes them from the saved queries and keys (memory O(run²) per task, not per layer).

use rayon::prelude::*;

use super::gemm::{View, matmul};

/// The shapes of one attention layer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heads {
    pub(super) heads: usize,
    pub(super) kv_heads: usize,
    pub(super) head_dim: usize,
}

impl Heads {
    fn q_width(&self) -> usize {
        self.heads * self.head_dim
    }
    fn kv_width(&self) -> usize {
        self.kv_heads * self.head_dim
    }
    fn kv_of(&self, head: usize) -> usize {
        head / (self.heads / self.kv_heads)
    }
}

/// Runs of consecutive tokens with the same segment id in each row: `(first token, length)`.
pub(super) fn runs(segments: &[u32], seq: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (r, row) in segments.chunks(seq).enumerate() {
        let mut start = 0;
        for t in 1..=row.len() {
            if t == row.len() || row[t] != row[start] {
                out.push((r * seq + start, t - start));
                start = t;
            }
        }
    }
    out
}

/// `P = softmax(Q Kᵀ · scale)` with the causal mask, into `p` (`len × len`).
fn probabilities(
    q: &[f32],
    k: &[f32],
    h: Heads,
    head: usize,
    start: usize,
    len: usize,
    p: &mut Vec<f32>,
) {
    let (qw, kvw, hd) = (h.q_width(), h.kv_width(), h.head_dim);
    let kv = h.kv_of(head);
    let qv = View::rows(&q[start * qw + head * hd..], len, hd, qw);
    let kvv = View::rows(&k[start * kvw + kv * hd..], len, hd, kvw);
    p.resize(len * len, 0.0);
    matmul(p, len, qv, kvv.t(), false, false);
    let scale = 1.0 / (hd as f32).sqrt();
    for (i, row) in p.chunks_exact_mut(len).enumerate() {
        let max = row[..=i].iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) * scale;
        let mut sum = 0f32;
        for v in &mut row[..=i] {
            *v = (*v * scale - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in &mut row[..=i] {
            *v *= inv;
        }
        row[i + 1..].fill(0.0);
    }
}

/// `att = softmax(Q Kᵀ / √d) V` per run and head (grouped heads share a key/value head).
pub(super) fn forward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    runs: &[(usize, usize)],
    h: Heads,
    att: &mut [f32],
) {
    let (qw, kvw, hd) = (h.q_width(), h.kv_width(), h.head_dim);
    let work: Vec<(usize, usize, usize)> =
        runs.iter().flat_map(|&(s, l)| (0..h.heads).map(move |hh| (hh, s, l))).collect();
    let outs: Vec<Vec<f32>> = work
        .par_iter()
        .map_init(Vec::new, |p, &(head, start, len)| {
            probabilities(q, k, h, head, start, len, p);
            let kv = h.kv_of(head);
            let mut o = vec![0f32; len * hd];
            matmul(
                &mut o,
                hd,
                View::of(p, len, len),
                View::rows(&v[start * kvw + kv * hd..], len, hd, kvw),
                false,
                false,
            );
            o
        })
        .collect();
    for (&(head, start, len), o) in work.iter().zip(outs) {
        for i in 0..len {
            let at = (start + i) * qw + head * hd;
            att[at..at + hd].copy_from_slice(&o[i * hd..(i + 1) * hd]);
        }
    }
}

/// The backward pass of [`forward`]: `dq`, `dk`, `dv` (overwritten) from `datt`.
#[expect(clippy::too_many_arguments, reason = "the attention's inputs and gradients, all distinct")]
pub(super) fn backward(
    datt: &[f32],
    q: &[f32],
    k: &[f32],
    v: &[f32],
    runs: &[(usize, usize)],
    h: Heads,
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    let (qw, kvw, hd) = (h.q_width(), h.kv_width(), h.head_dim);
    let scale = 1.0 / (hd as f32).sqrt();
    let work: Vec<(usize, usize, usize)> =
        runs.iter().flat_map(|&(s, l)| (0..h.heads).map(move |hh| (hh, s, l))).collect();
    // per task: dQ, dK and dV of one head (the key/value ones summed over the group after)
    let outs: Vec<[Vec<f32>; 3]> = work
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(p, dp), &(head, start, len)| {
                probabilities(q, k, h, head, start, len, p);
                let kv = h.kv_of(head);
                let dout = View::rows(&datt[start * qw + head * hd..], len, hd, qw);
                let vv = View::rows(&v[start * kvw + kv * hd..], len, hd, kvw);
                let kk = View::rows(&k[start * kvw + kv * hd..], len, hd, kvw);
                let qq = View::rows(&q[start * qw + head * hd..], len, hd, qw);
                let mut dv_h = vec![0f32; len * hd];
                matmul(&mut dv_h, hd, View::of(p, len, len).t(), dout, false, false);
                dp.resize(len * len, 0.0);
                matmul(dp, len, dout, vv.t(), false, false);
                // dS = P ⊙ (dP − Σ_j P dP), scaled by the score scale
                for (prow, dprow) in p.chunks_exact(len).zip(dp.chunks_exact_mut(len)) {
                    let s: f32 = prow.iter().zip(dprow.iter()).map(|(a, b)| a * b).sum();
                    for (d, &pv) in dprow.iter_mut().zip(prow) {
                        *d = pv * (*d - s) * scale;
                    }
                }
                let ds = View::of(dp, len, len);
                let mut dq_h = vec![0f32; len * hd];
                matmul(&mut dq_h, hd, ds, kk, false, false);
                let mut dk_h = vec![0f32; len * hd];
                matmul(&mut dk_h, hd, ds.t(), qq, false, false);
                [dq_h, dk_h, dv_h]
            },
        )
        .collect();
    dk.fill(0.0);
    dv.fill(0.0);
    for (&(head, start, len), [dq_h, dk_h, dv_h]) in work.iter().zip(outs) {
        let kv = h.kv_of(head);
        for i in 0..len {
            let at = (start + i) * qw + head * hd;
            dq[at..at + hd].copy_from_slice(&dq_h[i * hd..(i + 1) * hd]);
            let at = (start + i) * kvw + kv * hd;
            for (o, x) in dk[at..at + hd].iter_mut().zip(&dk_h[i * hd..(i + 1) * hd]) {
                *o += x;
            }
            for (o, x) in dv[at..at + hd].iter_mut().zip(&dv_h[i * hd..(i + 1) * hd]) {
                *o += x;
            }
        }
    }
}

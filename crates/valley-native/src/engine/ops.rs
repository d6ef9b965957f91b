//! The element-wise pieces of the decoder on f32 rows: RMSNorm, rotary embeddings in HF's
//! rotate-half layout, SiLU-gated products, and the dot/axpy loops of attention (written with
//! eight independent lanes so the compiler vectorises them).

use crate::config::ModelConfig;

/// `out = x / sqrt(mean(x²) + eps) · w`, row by row.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let n = w.len();
    for (xr, or) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let ss = dot(xr, xr);
        let scale = 1.0 / (ss / n as f32 + eps).sqrt();
        for ((o, &v), &g) in or.iter_mut().zip(xr).zip(w) {
            *o = v * scale * g;
        }
    }
}

/// `Σ a·b` with eight accumulators.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// `y += a · x`.
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (o, v) in y.iter_mut().zip(x) {
        *o += a * v;
    }
}

/// `gate = silu(gate) · up`, in place.
pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
    for (g, u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

/// Cosines and sines of every rotary frequency at positions `0..len`, grown on demand.
#[derive(Debug, Clone)]
pub struct RopeTable {
    inv_freq: Vec<f32>,
    /// `[pos][half]` each.
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl RopeTable {
    pub fn new(cfg: &ModelConfig) -> Self {
        let hd = cfg.head_dim;
        let mut inv: Vec<f64> =
            (0..hd / 2).map(|i| 1.0 / cfg.rope_theta.powf(2.0 * i as f64 / hd as f64)).collect();
        if let Some(s) = &cfg.rope_scaling {
            s.apply(&mut inv);
        }
        Self { inv_freq: inv.iter().map(|&f| f as f32).collect(), cos: Vec::new(), sin: Vec::new() }
    }

    /// Makes the table cover positions `0..positions`.
    pub fn ensure(&mut self, positions: usize) {
        let half = self.inv_freq.len();
        let have = self.cos.len() / half.max(1);
        for p in have..positions {
            for &f in &self.inv_freq {
                // angles in f32, as transformers computes them
                let angle = p as f32 * f;
                self.cos.push(angle.cos());
                self.sin.push(angle.sin());
            }
        }
    }

    /// Rotates each head (`head_dim` values) of `row` for position `pos`.
    pub fn apply(&mut self, row: &mut [f32], pos: usize, head_dim: usize) {
        self.ensure(pos + 1);
        self.rotate(row, pos, head_dim, false);
    }

    /// Rotates each head of `row` by the angles of position `pos` (covered by [`Self::ensure`]),
    /// or back by them with `inverse` — which is also the rotation's backward pass.
    pub fn rotate(&self, row: &mut [f32], pos: usize, head_dim: usize, inverse: bool) {
        let half = head_dim / 2;
        let (c, s) =
            (&self.cos[pos * half..(pos + 1) * half], &self.sin[pos * half..(pos + 1) * half]);
        let sign = if inverse { -1.0 } else { 1.0 };
        for head in row.chunks_exact_mut(head_dim) {
            let (x1, x2) = head.split_at_mut(half);
            for i in 0..half {
                let (a, b, si) = (x1[i], x2[i], sign * s[i]);
                x1[i] = a * c[i] - b * si;
                x2[i] = b * c[i] + a * si;
            }
        }
    }
}

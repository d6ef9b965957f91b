//! Quantisation: activations into the Q8 forms the dot products take (exactly as llama.cpp's
//! x86 build quantises them, so the integer sums match its own), and weights into the block
//! formats (plain round-to-nearest choices of scale, enough for tests and for `f32` checkpoints;
//! llama.cpp's importance-weighted searches give slightly smaller errors).

use half::f16;

use super::types::{ActKind, GgmlType, QK_K};

/// Rows of activations quantised for dot products with one kind of weight row.
#[derive(Debug, Clone, Default)]
pub struct QuantRows {
    pub kind: Option<ActKind>,
    pub rows: usize,
    pub cols: usize,
    /// Per block: the scale (Q8_0 and Q8_1: rounded through f16 as llama.cpp stores it).
    pub d: Vec<f32>,
    /// Q8_1 only: per block `d · Σ q`, rounded through f16.
    pub s: Vec<f32>,
    /// Q8_K only: per 16 values, the sum of the quants.
    pub bsums: Vec<i16>,
    /// Q8_0 only: per block, the sum of the quants (the packed kernels take Q4_0's nibbles and
    /// Q8_0's bytes unsigned and subtract `8 · Σq` or `128 · Σq`).
    pub isum: Vec<i32>,
    pub qs: Vec<i8>,
}

impl QuantRows {
    /// Quantises `rows × cols` activations (row-major) for `kind` (not `F32`).
    pub fn quantize(kind: ActKind, x: &[f32], rows: usize, cols: usize) -> Self {
        let mut q = Self::default();
        q.fill(kind, x, rows, cols);
        q
    }

    /// As [`Self::quantize`], reusing this value's buffers. Rows are quantised in parallel
    /// when there are enough of them (a prompt), on the calling thread otherwise.
    pub fn fill(&mut self, kind: ActKind, x: &[f32], rows: usize, cols: usize) {
        let per = kind.block_len();
        assert!(
            kind != ActKind::F32 && cols.is_multiple_of(per),
            "bug: {kind:?} of {cols} columns; please report"
        );
        assert_eq!(x.len(), rows * cols, "bug: activation shape; please report");
        let nb = cols / per;
        self.kind = Some(kind);
        self.rows = rows;
        self.cols = cols;
        let sized = |v: &mut Vec<f32>, n: usize| {
            v.clear();
            v.resize(n, 0.0);
        };
        sized(&mut self.d, rows * nb);
        self.qs.clear();
        self.qs.resize(rows * cols, 0);
        // `s` (Q8_1) and `bsums` (Q8_K) are kept in step with the rows either way, so every row
        // has its slices; `row` hands them out only for the kind that has them
        sized(&mut self.s, if kind == ActKind::Q8_1 { rows * nb } else { rows });
        self.bsums.clear();
        self.bsums.resize(if kind == ActKind::Q8K { rows * cols / 16 } else { rows }, 0);
        let (sw, bw) = (self.s.len() / rows.max(1), self.bsums.len() / rows.max(1));
        let work = x
            .chunks_exact(cols)
            .zip(self.qs.chunks_exact_mut(cols))
            .zip(self.d.chunks_exact_mut(nb).zip(self.s.chunks_exact_mut(sw.max(1))))
            .zip(self.bsums.chunks_exact_mut(bw.max(1)));
        if rows * cols >= PARALLEL_QUANTIZE {
            use rayon::prelude::*;
            let work: Vec<_> = work.collect();
            work.into_par_iter()
                .for_each(|(((x, q), (d, s)), b)| quantize_row(kind, x, q, d, s, b));
        } else {
            work.for_each(|(((x, q), (d, s)), b)| quantize_row(kind, x, q, d, s, b));
        }
        self.isum.clear();
        if kind == ActKind::Q8_0 {
            let sum = |b: &[i8]| b.iter().map(|&v| i32::from(v)).sum::<i32>();
            self.isum.extend(self.qs.chunks_exact(per).map(sum));
        }
    }

    /// Blocks per row.
    pub fn blocks_per_row(&self) -> usize {
        self.cols / self.kind.map_or(1, ActKind::block_len)
    }
}

/// Activation values below which a matrix's rows are quantised on the calling thread.
const PARALLEL_QUANTIZE: usize = 1 << 14;

/// `x` rounded to the nearest integer, ties to even (as `_mm256_round_ps` rounds in llama.cpp's
/// x86 build), for |x| < 2²²: adding and subtracting 1.5 · 2²³ leaves no fraction bits, and
/// IEEE addition rounds to nearest even. Exact, and — unlike `round_ties_even`, a libm call on
/// baseline x86-64 — vectorised by the compiler.
#[inline]
fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// One row of activations into `kind`'s blocks: quants `q`, scales `d`, and the block sums `s`
/// (Q8_1) or 16-value sums `bsums` (Q8_K); the slices of the other kinds are left alone.
fn quantize_row(
    kind: ActKind,
    x: &[f32],
    q: &mut [i8],
    d: &mut [f32],
    s: &mut [f32],
    bsums: &mut [i16],
) {
    match kind {
        ActKind::Q8_0 | ActKind::Q8_1 => {
            for (b, (xb, qb)) in x.chunks_exact(32).zip(q.chunks_exact_mut(32)).enumerate() {
                let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
                let scale = amax / 127.0;
                let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
                // |v · id| <= 127: within `round_even`'s range
                for (q, v) in qb.iter_mut().zip(xb) {
                    *q = round_even(v * id) as i8;
                }
                d[b] = f16::from_f32(scale).to_f32();
                if kind == ActKind::Q8_1 {
                    let sum: i32 = qb.iter().map(|&q| i32::from(q)).sum();
                    s[b] = f16::from_f32(scale * sum as f32).to_f32();
                }
            }
        }
        ActKind::Q8K => {
            for (b, (xb, qb)) in x.chunks_exact(QK_K).zip(q.chunks_exact_mut(QK_K)).enumerate() {
                let (mut max, mut amax) = (0f32, 0f32);
                for &v in xb {
                    if v.abs() > amax {
                        amax = v.abs();
                        max = v;
                    }
                }
                if amax == 0.0 {
                    continue;
                }
                let iscale = -127.0 / max;
                // |iscale · v| <= 127: within `round_even`'s range
                for (q, v) in qb.iter_mut().zip(xb) {
                    *q = (round_even(iscale * v) as i32).min(127) as i8;
                }
                for (g, s) in qb.chunks_exact(16).zip(&mut bsums[b * 16..b * 16 + 16]) {
                    *s = g.iter().map(|&q| i16::from(q)).sum();
                }
                d[b] = 1.0 / iscale;
            }
        }
        ActKind::F32 => unreachable!("bug: f32 activations are not quantised; please report"),
    }
}

/// Quantises `x` (a whole number of blocks) as weights of type `ty`, appending the blocks to `out`.
/// Supported: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K; `None` for the others.
pub fn quantize_weights(ty: GgmlType, x: &[f32], out: &mut Vec<u8>) -> Option<()> {
    let (per, _) = ty.block();
    if !x.len().is_multiple_of(per) {
        return None;
    }
    for xb in x.chunks_exact(per) {
        match ty {
            GgmlType::Q4_0 | GgmlType::Q5_0 => {
                let nmax = if ty == GgmlType::Q4_0 { 8.0 } else { 16.0 };
                let max = signed_max(xb);
                let d = max / -nmax;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                out.extend(f16::from_f32(d).to_le_bytes());
                let q: Vec<u8> = xb
                    .iter()
                    .map(|v| ((v * id + nmax + 0.5) as i32).clamp(0, 2 * nmax as i32 - 1) as u8)
                    .collect();
                push_nibbles(&q, ty == GgmlType::Q5_0, out);
            }
            GgmlType::Q4_1 | GgmlType::Q5_1 => {
                let levels = if ty == GgmlType::Q4_1 { 15.0 } else { 31.0 };
                let (min, max) =
                    xb.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
                let d = (max - min) / levels;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(f16::from_f32(min).to_le_bytes());
                let q: Vec<u8> = xb
                    .iter()
                    .map(|v| (((v - min) * id + 0.5) as i32).clamp(0, levels as i32) as u8)
                    .collect();
                push_nibbles(&q, ty == GgmlType::Q5_1, out);
            }
            GgmlType::Q8_0 => {
                let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                let id = if d != 0.0 { 1.0 / d } else { 0.0 };
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(xb.iter().map(|v| (v * id).round() as i8 as u8));
            }
            GgmlType::Q4K | GgmlType::Q5K => quantize_q45k(xb, ty == GgmlType::Q5K, out),
            GgmlType::Q6K => quantize_q6k(xb, out),
            _ => return None,
        }
    }
    Some(())
}

/// The value of largest magnitude, with its sign.
fn signed_max(x: &[f32]) -> f32 {
    x.iter().fold(0f32, |m, &v| if v.abs() > m.abs() { v } else { m })
}

/// Packs 32 values of 4 (or 5) bits: low nibbles of the first 16 and the last 16 in one byte each
/// (and the fifth bits as a little-endian u32 before them).
fn push_nibbles(q: &[u8], fifth_bit: bool, out: &mut Vec<u8>) {
    if fifth_bit {
        let mut qh = 0u32;
        for (j, &v) in q.iter().enumerate() {
            qh |= u32::from((v >> 4) & 1) << j;
        }
        out.extend(qh.to_le_bytes());
    }
    out.extend((0..16).map(|j| (q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4)));
}

/// Q4_K / Q5_K: per sub-block of 32 a scale and a minimum (min(x) clamped to ≤ 0), both as 6-bit
/// multiples of the super-block's `d` and `dmin`; values requantised with the stored scales.
fn quantize_q45k(x: &[f32], five: bool, out: &mut Vec<u8>) {
    let levels = if five { 31.0 } else { 15.0 };
    let mut scales = [0f32; 8];
    let mut mins = [0f32; 8];
    for (j, xs) in x.chunks_exact(32).enumerate() {
        let (lo, hi) = xs.iter().fold((0f32, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        scales[j] = (hi - lo).max(0.0) / levels;
        mins[j] = -lo;
    }
    let max_scale = scales.iter().cloned().fold(0f32, f32::max);
    let max_min = mins.iter().cloned().fold(0f32, f32::max);
    let inv_scale = if max_scale > 0.0 { 63.0 / max_scale } else { 0.0 };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let mut packed = [0u8; 12];
    for j in 0..8 {
        let ls = ((inv_scale * scales[j]).round() as i32).clamp(0, 63) as u8;
        let lm = ((inv_min * mins[j]).round() as i32).clamp(0, 63) as u8;
        if j < 4 {
            packed[j] = ls;
            packed[j + 4] = lm;
        } else {
            packed[j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
            packed[j - 4] |= (ls >> 4) << 6;
            packed[j] |= (lm >> 4) << 6;
        }
    }
    let d = f16::from_f32(max_scale / 63.0);
    let dmin = f16::from_f32(max_min / 63.0);
    let mut q = [0u8; QK_K];
    for j in 0..8 {
        let (sc, m) = super::dequant::scale_min_k4(j, &packed);
        let dl = d.to_f32() * f32::from(sc);
        if dl == 0.0 {
            continue;
        }
        let ml = dmin.to_f32() * f32::from(m);
        for i in 0..32 {
            q[32 * j + i] =
                (((x[32 * j + i] + ml) / dl).round() as i32).clamp(0, levels as i32) as u8;
        }
    }
    out.extend(d.to_le_bytes());
    out.extend(dmin.to_le_bytes());
    out.extend(packed);
    if five {
        let mut qh = [0u8; 32];
        for j in 0..4 {
            for l in 0..32 {
                qh[l] |= ((q[64 * j + l] >> 4) & 1) << (2 * j);
                qh[l] |= ((q[64 * j + 32 + l] >> 4) & 1) << (2 * j + 1);
            }
        }
        out.extend(qh);
    }
    for j in 0..4 {
        out.extend((0..32).map(|l| (q[64 * j + l] & 0x0f) | ((q[64 * j + 32 + l] & 0x0f) << 4)));
    }
}

/// Q6_K: per group of 16 a signed 8-bit scale times the super-block's `d`, values in -32..31.
fn quantize_q6k(x: &[f32], out: &mut Vec<u8>) {
    let mut scales = [0f32; 16];
    for (g, xs) in x.chunks_exact(16).enumerate() {
        scales[g] = signed_max(xs) / -32.0;
    }
    let max_scale = signed_max(&scales);
    let mut sc = [0i8; 16];
    let mut d = 0f32;
    if max_scale != 0.0 {
        let iscale = -128.0 / max_scale;
        d = 1.0 / iscale;
        for g in 0..16 {
            sc[g] = ((iscale * scales[g]).round() as i32).clamp(-128, 127) as i8;
        }
    }
    let d16 = f16::from_f32(d);
    let mut q = [32u8; QK_K];
    for g in 0..16 {
        let dl = d16.to_f32() * f32::from(sc[g]);
        if dl == 0.0 {
            continue;
        }
        for i in 0..16 {
            q[16 * g + i] =
                ((x[16 * g + i] / dl).round() as i32).clamp(-32, 31).wrapping_add(32) as u8;
        }
    }
    let mut ql = [0u8; 128];
    let mut qh = [0u8; 64];
    for n in 0..2 {
        for l in 0..32 {
            let v = |k: usize| q[128 * n + 32 * k + l];
            ql[64 * n + l] = (v(0) & 0x0f) | ((v(2) & 0x0f) << 4);
            ql[64 * n + 32 + l] = (v(1) & 0x0f) | ((v(3) & 0x0f) << 4);
            qh[32 * n + l] =
                (v(0) >> 4) | ((v(1) >> 4) << 2) | ((v(2) >> 4) << 4) | ((v(3) >> 4) << 6);
        }
    }
    out.extend(ql);
    out.extend(qh);
    out.extend(sc.iter().map(|&s| s as u8));
    out.extend(d16.to_le_bytes());
}

/// One row of activations in the form a weight type's dot product takes.
#[derive(Debug, Clone, Copy)]
pub enum ActRow<'a> {
    F32(&'a [f32]),
    Quant { d: &'a [f32], s: &'a [f32], bsums: &'a [i16], qs: &'a [i8] },
}

impl QuantRows {
    /// Row `r`.
    pub fn row(&self, r: usize) -> ActRow<'_> {
        let nb = self.blocks_per_row();
        let per_row_bsums = self.cols / 16;
        ActRow::Quant {
            d: &self.d[r * nb..(r + 1) * nb],
            s: if self.kind == Some(ActKind::Q8_1) { &self.s[r * nb..(r + 1) * nb] } else { &[] },
            bsums: if self.kind == Some(ActKind::Q8K) {
                &self.bsums[r * per_row_bsums..(r + 1) * per_row_bsums]
            } else {
                &[]
            },
            qs: &self.qs[r * self.cols..(r + 1) * self.cols],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::dequant::dequantize;

    fn wave(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (i as f32 * 0.37 + seed as f32).sin() * 1.5 + ((i * 7 % 13) as f32 - 6.0) * 0.05
            })
            .collect()
    }

    /// Each weight format round-trips within its resolution: at most half a step of the block's
    /// own scale (4 bits: range/15, 5 bits: range/31, …), a test that a wrong bit layout fails.
    #[test]
    fn weight_formats_round_trip_within_their_step() {
        let x = wave(512, 3);
        for (ty, bits) in [
            (GgmlType::Q4_0, 4),
            (GgmlType::Q4_1, 4),
            (GgmlType::Q5_0, 5),
            (GgmlType::Q5_1, 5),
            (GgmlType::Q8_0, 8),
            (GgmlType::Q4K, 4),
            (GgmlType::Q5K, 5),
            (GgmlType::Q6K, 6),
        ] {
            let mut bytes = Vec::new();
            quantize_weights(ty, &x, &mut bytes).unwrap();
            assert_eq!(bytes.len(), ty.bytes_for(x.len()), "{}", ty.name());
            let mut back = Vec::new();
            dequantize(ty, &bytes, &mut back);
            let range = 3.3f32; // the wave spans about ±1.65
            let step = range / ((1 << bits) - 1) as f32;
            let worst = x.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            // K-quants round their scales to 6 bits as well: allow a step.
            assert!(worst <= step * 1.05, "{}: worst error {worst} vs step {step}", ty.name());
        }
    }

    #[test]
    fn activations_quantise_as_llama_cpp_does() {
        let x = wave(512, 1);
        let q = QuantRows::quantize(ActKind::Q8_1, &x, 2, 256);
        let amax = x[..32].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert_eq!(q.d[0], f16::from_f32(amax / 127.0).to_f32());
        let sum: i32 = q.qs[..32].iter().map(|&v| i32::from(v)).sum();
        assert_eq!(q.s[0], f16::from_f32(amax / 127.0 * sum as f32).to_f32());
        assert!(q.qs[..32].iter().any(|&v| v.abs() == 127));
        let k = QuantRows::quantize(ActKind::Q8K, &x, 2, 256);
        assert_eq!(k.bsums.len(), 32);
        let s0: i16 = k.qs[..16].iter().map(|&v| i16::from(v)).sum();
        assert_eq!(k.bsums[0], s0);
        for (i, v) in x[..256].iter().enumerate() {
            assert!((f32::from(k.qs[i]) * k.d[0] - v).abs() <= k.d[0].abs() * 0.5 + 1e-6);
        }
    }
}

//! Dot products of one weight row, left in its GGUF blocks, with one row of activations:
//! integer sums per block as llama.cpp's `ggml_vec_dot_*` form them, in portable Rust (this
//! file) or AVX2 (`avx2.rs`, picked at run time when the CPU has it).

use super::dequant::{f16_at, q3k_scales, q6k_value, scale_min_k4};
use super::quantize::ActRow;
use super::types::{ActKind, GgmlType};

/// Which implementation the dot products use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C (checked at run time).
    Avx2,
    /// AVX2's kernels, and AVX-512 F/BW/VNNI ones for Q4_0, Q4_1 and Q8_0 matrices packed
    /// sixteen rows at a time (`packed.rs`, `avx512.rs`; checked at run time).
    Avx512,
}

impl Isa {
    /// The best this CPU runs: AVX-512 F/BW/VNNI (with AVX2 + FMA + F16C) or AVX2 + FMA + F16C on
    /// x86-64, otherwise the portable code.
    /// Callers that want another (tests, comparisons) pass it to `QuantLm::load` themselves.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
            {
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
                {
                    return Self::Avx512;
                }
                return Self::Avx2;
            }
        }
        Self::Scalar
    }

    /// Whether `ty` has a SIMD kernel on this ISA (others fall back to the portable code).
    pub fn accelerates(self, ty: GgmlType) -> bool {
        self != Self::Scalar
            && matches!(
                ty,
                GgmlType::F32
                    | GgmlType::F16
                    | GgmlType::Q4_0
                    | GgmlType::Q4_1
                    | GgmlType::Q8_0
                    | GgmlType::Q4K
                    | GgmlType::Q5K
                    | GgmlType::Q6K
            )
    }

    /// Whether a `[rows, _]` matrix of `ty` is packed for this ISA's matrix kernels.
    pub fn packs(self, ty: GgmlType, rows: usize) -> bool {
        self == Self::Avx512 && super::packed::packable(ty, rows)
    }
}

/// `Σ w · a` of a weight row (`w`: the row's bytes, `cols` values of type `ty`) and an
/// activation row of the matching kind (`ty.dot_partner()`).
pub fn dot(isa: Isa, ty: GgmlType, w: &[u8], a: ActRow<'_>, cols: usize) -> f32 {
    let mut out = [0f32];
    dot_many(isa, ty, w, &[a], cols, &mut out);
    out[0]
}

/// `out[k] = Σ w · rows[k]` for one weight row and several activation rows.
pub fn dot_many(
    isa: Isa,
    ty: GgmlType,
    w: &[u8],
    rows: &[ActRow<'_>],
    cols: usize,
    out: &mut [f32],
) {
    rows_block(isa, ty, w, w.len(), rows, cols, out);
}

/// `out[r · n + k] = w_r · rows[k]` for consecutive weight rows `w` (`row_bytes` each) and `n`
/// activation rows: the matrix product's inner loop. The SIMD kernels unpack each weight block
/// once for up to four activation rows.
pub fn rows_block(
    isa: Isa,
    ty: GgmlType,
    w: &[u8],
    row_bytes: usize,
    rows: &[ActRow<'_>],
    cols: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if isa.accelerates(ty) {
        return super::avx2::rows_block(ty, w, row_bytes, rows, cols, out);
    }
    let _ = isa;
    let n = rows.len();
    for (wr, o) in w.chunks_exact(row_bytes).zip(out.chunks_exact_mut(n)) {
        for (v, a) in o.iter_mut().zip(rows) {
            *v = dot_scalar(ty, wr, *a, cols);
        }
    }
}

/// The portable dot product (also the reference the SIMD kernels are tested against).
pub fn dot_scalar(ty: GgmlType, w: &[u8], a: ActRow<'_>, cols: usize) -> f32 {
    let (d, s, bsums, qs) = match a {
        ActRow::F32(x) => return dot_float(ty, w, x),
        ActRow::Quant { d, s, bsums, qs } => (d, s, bsums, qs),
    };
    debug_assert_eq!(ty.dot_partner() == ActKind::Q8_1, !s.is_empty());
    let (per, size) = ty.block();
    let mut sum = 0f32;
    for (b, blk) in w[..ty.bytes_for(cols)].chunks_exact(size).enumerate() {
        let a = &qs[b * per..(b + 1) * per];
        sum += match ty {
            GgmlType::Q4_0 | GgmlType::Q4_1 => {
                let off = if ty == GgmlType::Q4_0 { 2 } else { 4 };
                let bias = if ty == GgmlType::Q4_0 { 8 } else { 0 };
                let mut isum = 0i32;
                for (j, &q) in blk[off..off + 16].iter().enumerate() {
                    isum += (i32::from(q & 0x0f) - bias) * i32::from(a[j]);
                    isum += (i32::from(q >> 4) - bias) * i32::from(a[j + 16]);
                }
                let base = f16_at(blk, 0) * d[b] * isum as f32;
                if ty == GgmlType::Q4_1 { base + f16_at(blk, 2) * s[b] } else { base }
            }
            GgmlType::Q5_0 | GgmlType::Q5_1 => {
                let off = if ty == GgmlType::Q5_0 { 2 } else { 4 };
                let bias = if ty == GgmlType::Q5_0 { 16 } else { 0 };
                let qh = u32::from_le_bytes([blk[off], blk[off + 1], blk[off + 2], blk[off + 3]]);
                let mut isum = 0i32;
                for (j, &q) in blk[off + 4..off + 20].iter().enumerate() {
                    let lo = i32::from(q & 0x0f) | (((qh >> j) & 1) << 4) as i32;
                    let hi = i32::from(q >> 4) | (((qh >> (j + 16)) & 1) << 4) as i32;
                    isum += (lo - bias) * i32::from(a[j]) + (hi - bias) * i32::from(a[j + 16]);
                }
                let base = f16_at(blk, 0) * d[b] * isum as f32;
                if ty == GgmlType::Q5_1 { base + f16_at(blk, 2) * s[b] } else { base }
            }
            GgmlType::Q8_0 => {
                let isum: i32 = blk[2..34]
                    .iter()
                    .zip(a)
                    .map(|(&q, &y)| i32::from(q as i8) * i32::from(y))
                    .sum();
                f16_at(blk, 0) * d[b] * isum as f32
            }
            GgmlType::Q2K => {
                let (scales, q) = (&blk[0..16], &blk[16..80]);
                let (dd, dmin) = (f16_at(blk, 80), f16_at(blk, 82));
                let (mut sumi, mut summ) = (0i32, 0i32);
                for g in 0..16 {
                    let (n, shift, part) = (g / 8, (g % 8) / 2, g % 2);
                    let mut isum = 0i32;
                    for l in 0..16 {
                        let v = (q[32 * n + 16 * part + l] >> (2 * shift)) & 3;
                        isum += i32::from(v) * i32::from(a[16 * g + l]);
                    }
                    sumi += i32::from(scales[g] & 0x0f) * isum;
                    summ += i32::from(scales[g] >> 4) * i32::from(bsums[b * 16 + g]);
                }
                d[b] * (dd * sumi as f32 - dmin * summ as f32)
            }
            GgmlType::Q3K => {
                let (hmask, q) = (&blk[0..32], &blk[32..96]);
                let scales = q3k_scales(&blk[96..108]);
                let mut sumi = 0i32;
                for (g, &scale) in scales.iter().enumerate() {
                    let mut isum = 0i32;
                    for l in 0..16 {
                        let i = 16 * g + l;
                        let (n, within) = (i / 128, i % 128);
                        let (shift, m) = (within / 32, within % 32);
                        let v = i32::from((q[32 * n + m] >> (2 * shift)) & 3)
                            - if hmask[m] & (1 << (4 * n + shift)) != 0 { 0 } else { 4 };
                        isum += v * i32::from(a[i]);
                    }
                    sumi += i32::from(scale) * isum;
                }
                d[b] * f16_at(blk, 108) * sumi as f32
            }
            GgmlType::Q4K | GgmlType::Q5K => {
                let (dd, dmin) = (f16_at(blk, 0), f16_at(blk, 2));
                let scales = &blk[4..16];
                let (qh, q) = if ty == GgmlType::Q5K {
                    (Some(&blk[16..48]), &blk[48..176])
                } else {
                    (None, &blk[16..144])
                };
                let (mut sumi, mut summ) = (0i32, 0i32);
                for j in 0..4 {
                    let (sc1, m1) = scale_min_k4(2 * j, scales);
                    let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
                    let (mut i1, mut i2) = (0i32, 0i32);
                    for l in 0..32 {
                        let (mut lo, mut hi) = (q[32 * j + l] & 0x0f, q[32 * j + l] >> 4);
                        if let Some(qh) = qh {
                            lo |= ((qh[l] >> (2 * j)) & 1) << 4;
                            hi |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
                        }
                        i1 += i32::from(lo) * i32::from(a[64 * j + l]);
                        i2 += i32::from(hi) * i32::from(a[64 * j + 32 + l]);
                    }
                    sumi += i32::from(sc1) * i1 + i32::from(sc2) * i2;
                    let bs = |k: usize| i32::from(bsums[b * 16 + k]);
                    summ += i32::from(m1) * (bs(4 * j) + bs(4 * j + 1))
                        + i32::from(m2) * (bs(4 * j + 2) + bs(4 * j + 3));
                }
                d[b] * (dd * sumi as f32 - dmin * summ as f32)
            }
            GgmlType::Q6K => {
                let (ql, qh) = (&blk[0..128], &blk[128..192]);
                let mut sumi = 0i32;
                for g in 0..16 {
                    let isum: i32 = (16 * g..16 * g + 16)
                        .map(|i| i32::from(q6k_value(ql, qh, i)) * i32::from(a[i]))
                        .sum();
                    sumi += i32::from(blk[192 + g] as i8) * isum;
                }
                d[b] * f16_at(blk, 208) * sumi as f32
            }
            GgmlType::F32 | GgmlType::F16 | GgmlType::Bf16 | GgmlType::Q8_1 | GgmlType::Q8K => {
                unreachable!("bug: {} is not a weight block type; please report", ty.name())
            }
        };
    }
    sum
}

/// A float weight row (F32, F16, BF16) with f32 activations.
fn dot_float(ty: GgmlType, w: &[u8], x: &[f32]) -> f32 {
    match ty {
        GgmlType::F32 => w
            .chunks_exact(4)
            .zip(x)
            .map(|(c, v)| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * v)
            .sum(),
        GgmlType::F16 => w
            .chunks_exact(2)
            .zip(x)
            .map(|(c, v)| half::f16::from_le_bytes([c[0], c[1]]).to_f32() * v)
            .sum(),
        GgmlType::Bf16 => w
            .chunks_exact(2)
            .zip(x)
            .map(|(c, v)| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16) * v)
            .sum(),
        _ => unreachable!("bug: {} weights take quantised activations; please report", ty.name()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quant::dequant::dequantize;
    use crate::quant::quantize::QuantRows;
    use crate::quant::quantize::quantize_weights;
    use crate::rng::Rng;

    /// Random weight bytes that are valid blocks: quantised from random values where valley has
    /// a quantiser, raw random bytes with sane f16 scales for Q2_K and Q3_K.
    pub(crate) fn random_row(ty: GgmlType, cols: usize, rng: &mut Rng) -> Vec<u8> {
        let x: Vec<f32> = (0..cols).map(|_| rng.normal() as f32 * 0.05).collect();
        let mut out = Vec::new();
        match ty {
            GgmlType::F32 => out.extend(x.iter().flat_map(|v| v.to_le_bytes())),
            GgmlType::F16 => {
                out.extend(x.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()))
            }
            GgmlType::Bf16 => {
                out.extend(x.iter().flat_map(|v| half::bf16::from_f32(*v).to_le_bytes()))
            }
            GgmlType::Q2K | GgmlType::Q3K => {
                let (_, size) = ty.block();
                for _ in 0..cols / 256 {
                    let mut b: Vec<u8> = (0..size).map(|_| (rng.uniform() * 256.0) as u8).collect();
                    let at = size - 4;
                    let scale =
                        half::f16::from_f32(0.001 + rng.uniform() as f32 * 0.01).to_le_bytes();
                    b[at..at + 2].copy_from_slice(&scale);
                    if ty == GgmlType::Q2K {
                        b[at + 2..at + 4].copy_from_slice(&scale);
                    } else {
                        b[size - 2..].copy_from_slice(&scale);
                    }
                    out.extend(b);
                }
            }
            _ => quantize_weights(ty, &x, &mut out).unwrap(),
        }
        out
    }

    pub(crate) const WEIGHT_TYPES: [GgmlType; 13] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Bf16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q2K,
        GgmlType::Q3K,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
    ];

    /// Each type's dot product equals the dot of the dequantised weights with the dequantised
    /// activations (the integer sums are exact; only float rounding differs), and the SIMD
    /// kernels give the portable result.
    #[test]
    fn dot_products_match_the_dequantised_reference() {
        let mut rng = Rng::new(7);
        // 576 = 18 blocks of 32: two groups of eight in the SIMD kernels and a short one
        let shapes = WEIGHT_TYPES.iter().flat_map(|&ty| {
            let cols: &[usize] = if ty.block().0 == 32 { &[512, 576] } else { &[512] };
            cols.iter().map(move |&c| (ty, c))
        });
        for (ty, cols) in shapes {
            let w = random_row(ty, cols, &mut rng);
            let x: Vec<f32> = (0..cols).map(|_| rng.normal() as f32).collect();
            let mut wf = Vec::new();
            dequantize(ty, &w, &mut wf);
            let kind = ty.dot_partner();
            let q = (kind != ActKind::F32).then(|| QuantRows::quantize(kind, &x, 1, cols));
            let a = q.as_ref().map_or(ActRow::F32(&x), |q| q.row(0));
            // the activations as the kernel sees them
            let xa: Vec<f32> = match &q {
                None => x.clone(),
                Some(q) => {
                    (0..cols).map(|i| f32::from(q.qs[i]) * q.d[i / kind.block_len()]).collect()
                }
            };
            let reference: f64 =
                wf.iter().zip(&xa).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            let scale: f64 = wf.iter().zip(&xa).map(|(a, b)| f64::from((a * b).abs())).sum();
            let ours = dot_scalar(ty, &w, a, cols);
            // Q4_1/Q5_1 use the f16-rounded block sum `s`, as llama.cpp does.
            let tol = if kind == ActKind::Q8_1 { 2e-3 } else { 1e-5 } * scale.max(1e-3);
            assert!(
                (f64::from(ours) - reference).abs() <= tol,
                "{}: {ours} vs {reference}",
                ty.name()
            );
            let simd = dot(Isa::detect(), ty, &w, a, cols);
            assert!(
                (simd - ours).abs() <= 1e-5 * scale.max(1e-3) as f32,
                "{}: SIMD {simd} vs portable {ours}",
                ty.name()
            );
            // five rows at once (a group of four and one) give each row's own dot product
            let xs: Vec<Vec<f32>> =
                (0..5).map(|_| (0..cols).map(|_| rng.normal() as f32).collect()).collect();
            let qs: Vec<Option<QuantRows>> = xs
                .iter()
                .map(|x| (kind != ActKind::F32).then(|| QuantRows::quantize(kind, x, 1, cols)))
                .collect();
            let rows: Vec<ActRow<'_>> = qs
                .iter()
                .zip(&xs)
                .map(|(q, x)| q.as_ref().map_or(ActRow::F32(x), |q| q.row(0)))
                .collect();
            let mut many = [0f32; 5];
            dot_many(Isa::detect(), ty, &w, &rows, cols, &mut many);
            for (k, r) in rows.iter().enumerate() {
                let one = dot_scalar(ty, &w, *r, cols);
                assert!(
                    (many[k] - one).abs() <= 1e-4 * one.abs().max(1.0),
                    "{} row {k}: {} vs {one}",
                    ty.name(),
                    many[k]
                );
            }
        }
    }
}

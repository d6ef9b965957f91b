//! AVX2 + FMA + F16C dot products of weight blocks with quantised activations, the x86-64
//! kernels behind [`super::dot::rows_block`]. Each is the integer formulation of the portable code
//! in `dot.rs` (unsigned nibbles times signed bytes with `vpmaddubsw`, pairs summed with
//! `vpmaddwd`, one float multiply-add per block), so both give the same sums; the tests in
//! `dot.rs` check every kernel against it. A weight block is unpacked once and dotted with up to
//! four activation rows (`R`), which is what makes prompts and batched decoding cheaper per row.
//!
//! Only called after [`super::dot::Isa::detect`] found the three features: that check is what
//! makes the `unsafe` calls into `#[target_feature]` functions sound.
#![expect(
    unsafe_code,
    reason = "std::arch SIMD intrinsics (issue 17); features checked at run time"
)]

use std::arch::x86_64::*;

use super::quantize::ActRow;
use super::types::GgmlType;

/// `out[r · n + k] = w_r · a_k` for the weight rows in `w` (`row_bytes` each) and the `n`
/// activation rows `a`, with the kernel of `ty` (one that [`super::dot::Isa::accelerates`]
/// lists): a weight block is unpacked once per group of four activation rows.
pub(super) fn rows_block(
    ty: GgmlType,
    w: &[u8],
    row_bytes: usize,
    a: &[ActRow<'_>],
    cols: usize,
    out: &mut [f32],
) {
    let n = a.len();
    assert!(
        row_bytes >= ty.bytes_for(cols) && out.len() * row_bytes == w.len() * n,
        "bug: kernel shapes; please report"
    );
    if !ty.is_quantized() {
        let x: Vec<&[f32]> = a
            .iter()
            .map(|r| match r {
                ActRow::F32(x) => *x,
                ActRow::Quant { .. } => {
                    unreachable!("bug: quantised activations for {}; please report", ty.name())
                }
            })
            .collect();
        for (wr, o) in w.chunks_exact(row_bytes).zip(out.chunks_exact_mut(n)) {
            for (v, x) in o.iter_mut().zip(&x) {
                // SAFETY: as below.
                *v = unsafe {
                    if ty == GgmlType::F32 { dot_f32(wr, x, cols) } else { dot_f16(wr, x, cols) }
                };
            }
        }
        return;
    }
    let q: Vec<Q<'_>> = a
        .iter()
        .map(|r| match *r {
            ActRow::Quant { d, s, bsums, qs } => Q { d, s, bsums, qs },
            ActRow::F32(_) => unreachable!("bug: f32 activations for {}; please report", ty.name()),
        })
        .collect();
    // SAFETY: `Isa::Avx2` is only chosen when avx2, fma and f16c were detected at run time, and
    // each kernel reads only within the slices it is given (every load goes through a bounds-
    // checked array reference).
    unsafe {
        match ty {
            GgmlType::Q4_0 => rows_q4_0(w, row_bytes, &q, cols / 32, out),
            GgmlType::Q4_1 => rows_q4_1(w, row_bytes, &q, cols / 32, out),
            GgmlType::Q8_0 => rows_q8_0(w, row_bytes, &q, cols / 32, out),
            GgmlType::Q4K => rows_q4k(w, row_bytes, &q, cols / 256, out),
            GgmlType::Q5K => rows_q5k(w, row_bytes, &q, cols / 256, out),
            GgmlType::Q6K => rows_q6k(w, row_bytes, &q, cols / 256, out),
            _ => unreachable!("bug: no AVX2 kernel for {}; please report", ty.name()),
        }
    }
}

/// A loop over weight rows and groups of up to four activation rows for one kernel, compiled
/// with the kernel's features so the kernel inlines into it.
macro_rules! rows_loop {
    ($name:ident, $kernel:ident $(, $extra:expr)?) => {
        #[target_feature(enable = "avx2,fma,f16c")]
        fn $name(w: &[u8], row_bytes: usize, q: &[Q<'_>], nb: usize, out: &mut [f32]) {
            let n = q.len();
            for (wr, o) in w.chunks_exact(row_bytes).zip(out.chunks_exact_mut(n)) {
                let mut k = 0;
                while k + 4 <= n {
                    let a: &[Q<'_>; 4] = q[k..k + 4].try_into().expect("four rows");
                    o[k..k + 4].copy_from_slice(&$kernel::<4>(wr, a, nb $(, $extra)?));
                    k += 4;
                }
                match n - k {
                    1 => o[k..].copy_from_slice(&$kernel::<1>(wr, q[k..].try_into().expect("one"), nb $(, $extra)?)),
                    2 => o[k..].copy_from_slice(&$kernel::<2>(wr, q[k..].try_into().expect("two"), nb $(, $extra)?)),
                    3 => o[k..].copy_from_slice(&$kernel::<3>(wr, q[k..].try_into().expect("three"), nb $(, $extra)?)),
                    _ => {}
                }
            }
        }
    };
}

rows_loop!(rows_q4_0, dot_q4_0);
rows_loop!(rows_q4_1, dot_q4_1);
rows_loop!(rows_q8_0, dot_q8_0);
rows_loop!(rows_q4k, dot_q45k, false);
rows_loop!(rows_q5k, dot_q45k, true);
rows_loop!(rows_q6k, dot_q6k);

/// One activation row in its quantised form.
#[derive(Clone, Copy)]
struct Q<'a> {
    d: &'a [f32],
    s: &'a [f32],
    bsums: &'a [i16],
    qs: &'a [i8],
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// The f32 of a little-endian f16 (F16C).
#[inline]
#[target_feature(enable = "avx2,f16c")]
fn f16(b: &[u8; 2]) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(u16::from_le_bytes(*b)))))
}

#[inline]
#[target_feature(enable = "avx2")]
fn load16(b: &[u8; 16]) -> __m128i {
    // SAFETY: 16 readable bytes (an array reference); unaligned load.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn load32(b: &[u8; 32]) -> __m256i {
    // SAFETY: 32 readable bytes (an array reference); unaligned load.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "avx2")]
fn load32i(b: &[i8], at: usize) -> __m256i {
    let b: &[i8; 32] = b[at..at + 32].try_into().expect("32 bytes");
    // SAFETY: 32 readable bytes (an array reference); unaligned load.
    unsafe { _mm256_loadu_si256(b.as_ptr().cast()) }
}

fn arr<const N: usize>(b: &[u8], at: usize) -> &[u8; N] {
    b[at..at + N].try_into().expect("a block holds these bytes")
}

/// 32 nibbles of 16 bytes as 32 bytes: low nibbles first, then high nibbles (ggml's order).
#[inline]
#[target_feature(enable = "avx2")]
fn nibbles(q: &[u8; 16]) -> __m256i {
    let q = load16(q);
    let m = _mm_set1_epi8(0x0f);
    _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m))
}

/// Eight i32 sums of adjacent groups of four products of unsigned `u` and signed `s` bytes.
#[inline]
#[target_feature(enable = "avx2")]
fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

#[target_feature(enable = "avx2,fma")]
fn dot_f32(w: &[u8], x: &[f32], cols: usize) -> f32 {
    let (w, x) = (&w[..cols * 4], &x[..cols]);
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= cols {
        for (k, a) in acc.iter_mut().enumerate() {
            let wb: &[u8; 32] = arr(w, 4 * (i + 8 * k));
            let xb: &[f32; 8] = x[i + 8 * k..i + 8 * k + 8].try_into().expect("8 values");
            // SAFETY: 32 bytes / 8 floats behind array references; unaligned loads.
            let (wv, xv) =
                unsafe { (_mm256_loadu_ps(wb.as_ptr().cast()), _mm256_loadu_ps(xb.as_ptr())) };
            *a = _mm256_fmadd_ps(wv, xv, *a);
        }
        i += 32;
    }
    let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    for (j, xj) in x.iter().enumerate().skip(i) {
        sum += f32::from_le_bytes(*arr(w, 4 * j)) * xj;
    }
    sum
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_f16(w: &[u8], x: &[f32], cols: usize) -> f32 {
    let (w, x) = (&w[..cols * 2], &x[..cols]);
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut i = 0;
    while i + 16 <= cols {
        for (k, a) in acc.iter_mut().enumerate() {
            let wb: &[u8; 16] = arr(w, 2 * (i + 8 * k));
            let xb: &[f32; 8] = x[i + 8 * k..i + 8 * k + 8].try_into().expect("8 values");
            // SAFETY: 8 floats behind an array reference; unaligned load.
            let xv = unsafe { _mm256_loadu_ps(xb.as_ptr()) };
            *a = _mm256_fmadd_ps(_mm256_cvtph_ps(load16(wb)), xv, *a);
        }
        i += 16;
    }
    let mut sum = hsum(_mm256_add_ps(acc[0], acc[1]));
    for (j, xj) in x.iter().enumerate().skip(i) {
        sum += half::f16::from_le_bytes(*arr(w, 2 * j)).to_f32() * xj;
    }
    sum
}

/// Q4_0 · Q8_0: nibbles minus 8 as unsigned-times-signed through the sign trick.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_0<const R: usize>(w: &[u8], a: &[Q<'_>; R], nb: usize) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    for b in 0..nb {
        let blk = &w[18 * b..18 * b + 18];
        let q = _mm256_sub_epi8(nibbles(arr(blk, 2)), _mm256_set1_epi8(8));
        let qa = _mm256_sign_epi8(q, q);
        let dw = f16(arr(blk, 0));
        for k in 0..R {
            let p = dot_u8_i8(qa, _mm256_sign_epi8(load32i(a[k].qs, 32 * b), q));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a[k].d[b]), _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    std::array::from_fn(|k| hsum(acc[k]))
}

/// Q4_1 · Q8_1: unsigned nibbles times signed bytes, plus the block minimum times the
/// activations' block sum.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_1<const R: usize>(w: &[u8], a: &[Q<'_>; R], nb: usize) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    let mut mins = [0f32; R];
    for b in 0..nb {
        let blk = &w[20 * b..20 * b + 20];
        let q = nibbles(arr(blk, 4));
        let (dw, mw) = (f16(arr(blk, 0)), f16(arr(blk, 2)));
        for k in 0..R {
            let p = dot_u8_i8(q, load32i(a[k].qs, 32 * b));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a[k].d[b]), _mm256_cvtepi32_ps(p), acc[k]);
            mins[k] += mw * a[k].s[b];
        }
    }
    std::array::from_fn(|k| hsum(acc[k]) + mins[k])
}

/// Q8_0 · Q8_0 (|values| ≤ 127): signed times signed through the sign trick.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q8_0<const R: usize>(w: &[u8], a: &[Q<'_>; R], nb: usize) -> [f32; R] {
    let mut acc = [_mm256_setzero_ps(); R];
    for b in 0..nb {
        let blk = &w[34 * b..34 * b + 34];
        let q = load32(arr(blk, 2));
        let qa = _mm256_sign_epi8(q, q);
        let dw = f16(arr(blk, 0));
        for k in 0..R {
            let p = dot_u8_i8(qa, _mm256_sign_epi8(load32i(a[k].qs, 32 * b), q));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * a[k].d[b]), _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
    std::array::from_fn(|k| hsum(acc[k]))
}

/// Q4_K and Q5_K (`five`) · Q8_K: per 64 values one 32-byte load of nibbles (low: sub-block 2j,
/// high: 2j+1, plus the fifth bits for Q5_K), each sub-block's products scaled by its 6-bit
/// scale in `vpmaddwd`; the minimums through the activations' 16-sums.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q45k<const R: usize>(w: &[u8], a: &[Q<'_>; R], nb: usize, five: bool) -> [f32; R] {
    let size = if five { 176 } else { 144 };
    let m4 = _mm256_set1_epi8(0x0f);
    let one = _mm256_set1_epi8(1);
    let mut acc = [_mm256_setzero_ps(); R];
    let mut mins = [0f32; R];
    for b in 0..nb {
        let blk = &w[size * b..size * b + size];
        let (dd, dmin) = (f16(arr(blk, 0)), f16(arr(blk, 2)));
        let scales = &blk[4..16];
        let q_at = if five { 48 } else { 16 };
        let qh = if five { load32(arr(blk, 16)) } else { _mm256_setzero_si256() };
        let mut sumi = [_mm256_setzero_si256(); R];
        let mut summ = [0i32; R];
        for j in 0..4 {
            let (sc1, m1) = super::dequant::scale_min_k4(2 * j, scales);
            let (sc2, m2) = super::dequant::scale_min_k4(2 * j + 1, scales);
            let q = load32(arr(blk, q_at + 32 * j));
            let mut lo = _mm256_and_si256(q, m4);
            let mut hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if five {
                let h1 =
                    _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j as i32)), one);
                let h2 = _mm256_and_si256(
                    _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j as i32 + 1)),
                    one,
                );
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(h1, 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(h2, 4));
            }
            let (s1, s2) = (_mm256_set1_epi16(i16::from(sc1)), _mm256_set1_epi16(i16::from(sc2)));
            for k in 0..R {
                let p1 = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(lo, load32i(a[k].qs, 256 * b + 64 * j)),
                    s1,
                );
                let p2 = _mm256_madd_epi16(
                    _mm256_maddubs_epi16(hi, load32i(a[k].qs, 256 * b + 64 * j + 32)),
                    s2,
                );
                sumi[k] = _mm256_add_epi32(sumi[k], _mm256_add_epi32(p1, p2));
                let bs = &a[k].bsums[16 * b + 4 * j..16 * b + 4 * j + 4];
                summ[k] += i32::from(m1) * (i32::from(bs[0]) + i32::from(bs[1]))
                    + i32::from(m2) * (i32::from(bs[2]) + i32::from(bs[3]));
            }
        }
        for k in 0..R {
            acc[k] = _mm256_fmadd_ps(
                _mm256_set1_ps(dd * a[k].d[b]),
                _mm256_cvtepi32_ps(sumi[k]),
                acc[k],
            );
            mins[k] += a[k].d[b] * dmin * summ[k] as f32;
        }
    }
    std::array::from_fn(|k| hsum(acc[k]) - mins[k])
}

/// Q6_K · Q8_K: four quarters of 32 values per half super-block, each rebuilt from 4 low bits
/// (`ql`) and 2 high bits (`qh`) as unsigned 0..63; the offset of 32 taken off through 32 · Σ a;
/// each 16-value group scaled by its signed byte scale in `vpmaddwd`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q6k<const R: usize>(w: &[u8], a: &[Q<'_>; R], nb: usize) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0x0f);
    let m2 = _mm256_set1_epi8(3);
    let m32 = _mm256_set1_epi8(32);
    let mut acc = [_mm256_setzero_ps(); R];
    for b in 0..nb {
        let blk = &w[210 * b..210 * b + 210];
        let sc = &blk[192..208];
        let mut sumi = [_mm256_setzero_si256(); R];
        for n in 0..2 {
            let ql0 = load32(arr(blk, 64 * n));
            let ql1 = load32(arr(blk, 64 * n + 32));
            let qh = load32(arr(blk, 128 + 32 * n));
            let high = |shift: i32| {
                _mm256_slli_epi16(
                    _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(shift)), m2),
                    4,
                )
            };
            let quarters = [
                _mm256_or_si256(_mm256_and_si256(ql0, m4), high(0)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), high(2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), high(4)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4), high(6)),
            ];
            for (quarter, q) in quarters.into_iter().enumerate() {
                let g = 8 * n + 2 * quarter;
                let scales = _mm256_set_m128i(
                    _mm_set1_epi16(i16::from(sc[g + 1] as i8)),
                    _mm_set1_epi16(i16::from(sc[g] as i8)),
                );
                for k in 0..R {
                    let av = load32i(a[k].qs, 256 * b + 128 * n + 32 * quarter);
                    let p = _mm256_sub_epi16(
                        _mm256_maddubs_epi16(q, av),
                        _mm256_maddubs_epi16(m32, av),
                    );
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p, scales));
                }
            }
        }
        let d = f16(arr(blk, 208));
        for k in 0..R {
            acc[k] =
                _mm256_fmadd_ps(_mm256_set1_ps(d * a[k].d[b]), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
        }
    }
    std::array::from_fn(|k| hsum(acc[k]))
}

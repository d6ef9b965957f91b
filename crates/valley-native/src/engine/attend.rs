//! One row's attention over its sequence's cached keys and values, for the query heads that
//! share one key/value head (grouped-query attention): each cached key and value is read once
//! for the whole group. Portable Rust, and an AVX-512 version (16-float fused multiply-adds,
//! chosen at run time with the quantised kernels' [`Isa::Avx512`]) for head sizes that are a
//! multiple of 16: on a decoding batch, attention is the work that does not batch (each row
//! reads its own cache), so its speed bounds what several sequences at once can gain.

use super::kv::key_at;
use super::ops::axpy;
use crate::quant::Isa;

/// One row's heads of one key/value group.
pub(super) struct Query<'a> {
    /// The group's query heads, `group · hd` values.
    pub q: &'a [f32],
    /// Cached keys (in tiles of 16 positions, [`key_at`]) and values (`len · kvw`).
    pub ks: &'a [f32],
    pub vs: &'a [f32],
    /// Values per cached position, and where this group's head starts in them.
    pub kvw: usize,
    pub off: usize,
    /// Positions attended to (the row's own included).
    pub len: usize,
    pub hd: usize,
}

/// `out` (`group · hd`): for each head of the group, softmax(q·kᵀ · scale) · v over the cached
/// positions. `scores` is scratch space.
#[cfg_attr(
    target_arch = "x86_64",
    expect(unsafe_code, reason = "calls the AVX-512 functions after the run-time check")
)]
pub(super) fn attend(isa: Isa, a: &Query<'_>, scale: f32, scores: &mut Vec<f32>, out: &mut [f32]) {
    let group = a.q.len() / a.hd;
    scores.clear();
    scores.resize(group * a.len, 0.0);
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && a.hd.is_multiple_of(16) {
        // SAFETY: `Isa::Avx512` is only chosen when avx512f (and more) was detected at run time.
        unsafe { simd::scores(a, scale, scores) };
        softmax_rows(scores, a.len);
        // SAFETY: as above.
        unsafe { simd::mix(a, scores, out) };
        return;
    }
    let _ = isa;
    for g in 0..group {
        let qh = &a.q[g * a.hd..(g + 1) * a.hd];
        for (j, s) in scores[g * a.len..(g + 1) * a.len].iter_mut().enumerate() {
            let dot: f32 =
                qh.iter().enumerate().map(|(d, x)| x * a.ks[key_at(j, a.off + d, a.kvw)]).sum();
            *s = dot * scale;
        }
    }
    softmax_rows(scores, a.len);
    out.fill(0.0);
    for j in 0..a.len {
        let v = &a.vs[j * a.kvw + a.off..j * a.kvw + a.off + a.hd];
        for (g, o) in out.chunks_exact_mut(a.hd).enumerate() {
            axpy(scores[g * a.len + j], v, o);
        }
    }
}

/// Each `len`-long row of `scores` replaced by its softmax.
fn softmax_rows(scores: &mut [f32], len: usize) {
    for row in scores.chunks_exact_mut(len) {
        let max = row.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
        let mut sum = 0f32;
        for s in row.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        for s in row.iter_mut() {
            *s *= inv;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "std::arch SIMD intrinsics (issue 17); features checked at run time"
)]
mod simd {
    use std::arch::x86_64::*;

    use crate::engine::attend::Query;
    use crate::engine::kv::TILE;

    fn at16(b: &[f32], at: usize) -> &[f32; 16] {
        b[at..at + 16].try_into().expect("16 values")
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(b: &[f32; 16]) -> __m512 {
        // SAFETY: 16 readable floats (an array reference); unaligned load.
        unsafe { _mm512_loadu_ps(b.as_ptr()) }
    }

    /// `scores[g · len + j] = q_g · k_j · scale`, sixteen positions (one key tile) at a time:
    /// per channel, the query value broadcast times the tile's sixteen keys of that channel.
    #[target_feature(enable = "avx512f")]
    pub(super) fn scores(a: &Query<'_>, scale: f32, scores: &mut [f32]) {
        let tile_len = TILE * a.kvw;
        for (g, row) in scores.chunks_exact_mut(a.len).enumerate() {
            let q = &a.q[g * a.hd..(g + 1) * a.hd];
            for (t, out) in row.chunks_mut(TILE).enumerate() {
                let keys = &a.ks[t * tile_len + a.off * TILE..t * tile_len + (a.off + a.hd) * TILE];
                // four accumulators: the channels' multiply-adds do not wait on each other
                let mut acc = [_mm512_setzero_ps(); 4];
                for (d, &x) in q.iter().enumerate() {
                    let k = load(at16(keys, d * TILE));
                    acc[d % 4] = _mm512_fmadd_ps(_mm512_set1_ps(x), k, acc[d % 4]);
                }
                let sum =
                    _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
                let mut s = [0f32; TILE];
                // SAFETY: 16 writable floats (an array); unaligned store.
                unsafe {
                    _mm512_storeu_ps(s.as_mut_ptr(), _mm512_mul_ps(sum, _mm512_set1_ps(scale)))
                };
                out.copy_from_slice(&s[..out.len()]);
            }
        }
    }

    /// `out_g = Σ_j p[g · len + j] · v_j`.
    #[target_feature(enable = "avx512f")]
    pub(super) fn mix(a: &Query<'_>, p: &[f32], out: &mut [f32]) {
        let c = a.hd / 16;
        out.fill(0.0);
        for (g, o) in out.chunks_exact_mut(a.hd).enumerate() {
            let pg = &p[g * a.len..(g + 1) * a.len];
            for t in 0..c {
                // two accumulators: consecutive positions' multiply-adds do not wait on each other
                let (mut x, mut y) = (_mm512_setzero_ps(), _mm512_setzero_ps());
                let mut j = 0;
                while j + 2 <= a.len {
                    let v0 = load(at16(a.vs, j * a.kvw + a.off + 16 * t));
                    let v1 = load(at16(a.vs, (j + 1) * a.kvw + a.off + 16 * t));
                    x = _mm512_fmadd_ps(_mm512_set1_ps(pg[j]), v0, x);
                    y = _mm512_fmadd_ps(_mm512_set1_ps(pg[j + 1]), v1, y);
                    j += 2;
                }
                if j < a.len {
                    let v0 = load(at16(a.vs, j * a.kvw + a.off + 16 * t));
                    x = _mm512_fmadd_ps(_mm512_set1_ps(pg[j]), v0, x);
                }
                let o16: &mut [f32; 16] = (&mut o[16 * t..16 * t + 16]).try_into().expect("16");
                // SAFETY: 16 writable floats (an array reference); unaligned store.
                unsafe { _mm512_storeu_ps(o16.as_mut_ptr(), _mm512_add_ps(x, y)) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kv::TILE;
    use crate::rng::Rng;

    /// The AVX-512 version gives the portable one's attention (up to float addition order) for
    /// one head and a group of three, short and long histories; on a CPU without AVX-512 both
    /// calls run the portable code.
    #[test]
    fn simd_attention_agrees_with_portable() {
        let mut rng = Rng::new(17);
        for (group, hd, nkv, len) in [(1, 64, 1, 1), (3, 64, 3, 37), (4, 32, 2, 130_usize)] {
            let kvw = nkv * hd;
            let q: Vec<f32> = (0..group * hd).map(|_| rng.normal() as f32).collect();
            let keys: Vec<f32> = (0..len * kvw).map(|_| rng.normal() as f32).collect();
            let mut ks = vec![f32::NAN; len.div_ceil(TILE) * TILE * kvw];
            for (i, k) in keys.iter().enumerate() {
                ks[key_at(i / kvw, i % kvw, kvw)] = *k;
            }
            let vs: Vec<f32> = (0..len * kvw).map(|_| rng.normal() as f32).collect();
            let a = Query { q: &q, ks: &ks, vs: &vs, kvw, off: (nkv - 1) * hd, len, hd };
            let (mut s, mut want, mut got) =
                (Vec::new(), vec![0f32; group * hd], vec![1f32; group * hd]);
            attend(Isa::Scalar, &a, 0.125, &mut s, &mut want);
            attend(Isa::detect(), &a, 0.125, &mut s, &mut got);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{group} {hd} {len}: {g} vs {w}");
            }
            // a softmax-weighted mean of the values stays within their range
            let max = vs.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!(want.iter().all(|w| w.abs() <= max), "weights sum to one");
        }
    }
}

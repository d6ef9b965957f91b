//! AVX-512 VNNI products of weight rows packed sixteen at a time (`packed.rs`) with up to eight
//! quantised activation rows at once: per block, the group's values are unpacked once into eight
//! vectors of sixteen rows × four values, and for each activation row eight `vpdpbusd` (unsigned
//! weight bytes times signed activation bytes, four products summed per lane) leave the sixteen
//! rows' exact integer sums in the sixteen lanes; one conversion and one multiply-add by the
//! sixteen rows' scales times the activation's scale finish the block. The integer sums are the
//! ones `dot.rs` and `avx2.rs` form (Q4_0's nibbles are taken unsigned and `8 · Σa` subtracted,
//! Q8_0's values stored plus 128 and `128 · Σa` subtracted), so the results agree with them up
//! to float addition order; the tests in `matrix.rs` check that.
//!
//! Only called after [`super::dot::Isa::detect`] found avx512f, avx512bw and avx512vnni: that
//! check is what makes the `unsafe` calls into `#[target_feature]` functions sound.
#![expect(
    unsafe_code,
    reason = "std::arch SIMD intrinsics (issue 17); features checked at run time"
)]

use std::arch::x86_64::*;

use super::packed::GROUP;
use super::types::GgmlType;

/// One quantised activation row: per-block scales `d`, Q8_1's `d · Σq` in `s`, the blocks'
/// integer sums `isum` (Q4_0 and Q8_0) and the values.
#[derive(Clone, Copy)]
pub(super) struct Act<'a> {
    pub d: &'a [f32],
    pub s: &'a [f32],
    pub isum: &'a [i32],
    pub qs: &'a [i8],
}

/// Activation rows taken together by one kernel call.
const TILE: usize = 8;

/// `out[j · n + k] = w_j · a_k` for the packed groups in `w` (whole groups of `row_bytes`-byte
/// rows) and the `n` activation rows `a`.
pub(super) fn rows_packed(
    ty: GgmlType,
    w: &[u8],
    row_bytes: usize,
    a: &[Act<'_>],
    out: &mut [f32],
) {
    let n = a.len();
    let group_bytes = GROUP * row_bytes;
    assert!(
        w.len().is_multiple_of(group_bytes) && out.len() * row_bytes == w.len() * n,
        "bug: packed kernel shapes; please report"
    );
    let nb = row_bytes / ty.block().1;
    for (g, o) in w.chunks_exact(group_bytes).zip(out.chunks_exact_mut(GROUP * n)) {
        let mut k = 0;
        while k < n {
            let r = (n - k).min(TILE);
            let mut res = [[0f32; GROUP]; TILE];
            // SAFETY: `Isa::Avx512` is only chosen when avx512f, avx512bw and avx512vnni were
            // detected at run time; the kernel reads only through bounds-checked array references.
            unsafe { tile(ty, g, nb, &a[k..k + r], &mut res[..r]) };
            for (i, vals) in res[..r].iter().enumerate() {
                for (j, v) in vals.iter().enumerate() {
                    o[j * n + k + i] = *v;
                }
            }
            k += r;
        }
    }
}

/// One group against up to eight activation rows, by type and row count.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn tile(ty: GgmlType, g: &[u8], nb: usize, a: &[Act<'_>], res: &mut [[f32; GROUP]]) {
    macro_rules! by_rows {
        ($kind:literal) => {
            match a.len() {
                1 => res.copy_from_slice(&group::<1, $kind>(g, nb, a.try_into().expect("1"))),
                2 => res.copy_from_slice(&group::<2, $kind>(g, nb, a.try_into().expect("2"))),
                3 => res.copy_from_slice(&group::<3, $kind>(g, nb, a.try_into().expect("3"))),
                4 => res.copy_from_slice(&group::<4, $kind>(g, nb, a.try_into().expect("4"))),
                5 => res.copy_from_slice(&group::<5, $kind>(g, nb, a.try_into().expect("5"))),
                6 => res.copy_from_slice(&group::<6, $kind>(g, nb, a.try_into().expect("6"))),
                7 => res.copy_from_slice(&group::<7, $kind>(g, nb, a.try_into().expect("7"))),
                8 => res.copy_from_slice(&group::<8, $kind>(g, nb, a.try_into().expect("8"))),
                _ => unreachable!("bug: tile of {} rows; please report", a.len()),
            }
        };
    }
    match ty {
        GgmlType::Q4_0 => by_rows!(0),
        GgmlType::Q4_1 => by_rows!(1),
        GgmlType::Q8_0 => by_rows!(2),
        _ => unreachable!("bug: no packed kernel for {}; please report", ty.name()),
    }
}

fn arr<const N: usize>(b: &[u8], at: usize) -> &[u8; N] {
    b[at..at + N].try_into().expect("a packed block holds these bytes")
}

/// Sixteen f16 values as f32.
#[inline]
#[target_feature(enable = "avx512f")]
fn halves(b: &[u8; 32]) -> __m512 {
    // SAFETY: 32 readable bytes (an array reference); unaligned load.
    _mm512_cvtph_ps(unsafe { _mm256_loadu_si256(b.as_ptr().cast()) })
}

#[inline]
#[target_feature(enable = "avx512f")]
fn load64(b: &[u8; 64]) -> __m512i {
    // SAFETY: 64 readable bytes (an array reference); unaligned load.
    unsafe { _mm512_loadu_si512(b.as_ptr().cast()) }
}

/// Four activation bytes as one lane value, broadcast to all sixteen lanes.
#[inline]
#[target_feature(enable = "avx512f")]
fn four(qs: &[i8], at: usize) -> __m512i {
    let b: &[i8; 4] = qs[at..at + 4].try_into().expect("four values");
    _mm512_set1_epi32(i32::from_le_bytes(b.map(|v| v as u8)))
}

/// A group of 16 packed rows against `R` activation rows; `KIND`: 0 Q4_0, 1 Q4_1, 2 Q8_0.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn group<const R: usize, const KIND: u8>(
    g: &[u8],
    nb: usize,
    a: &[Act<'_>; R],
) -> [[f32; GROUP]; R] {
    let (head, vals) = match KIND {
        0 => (2, 16),
        1 => (4, 16),
        _ => (2, 32),
    };
    let bb = (head + vals) * GROUP;
    let mask = _mm512_set1_epi8(0x0f);
    let mut acc = [_mm512_setzero_ps(); R];
    for b in 0..nb {
        let blk = &g[b * bb..(b + 1) * bb];
        let d = halves(arr(blk, 0));
        let body = head * GROUP;
        // chunk c: four consecutive values (4c..4c+4) of each of the 16 rows
        let mut w = [_mm512_setzero_si512(); 8];
        if KIND == 2 {
            for (c, v) in w.iter_mut().enumerate() {
                *v = load64(arr(blk, body + 64 * c));
            }
        } else {
            for c in 0..4 {
                let q = load64(arr(blk, body + 64 * c));
                w[c] = _mm512_and_si512(q, mask);
                w[c + 4] = _mm512_and_si512(_mm512_srli_epi16::<4>(q), mask);
            }
        }
        let m = if KIND == 1 { halves(arr(blk, 32)) } else { _mm512_setzero_ps() };
        for k in 0..R {
            let qs = &a[k].qs[32 * b..32 * b + 32];
            let (mut s0, mut s1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            for c in (0..8).step_by(2) {
                s0 = _mm512_dpbusd_epi32(s0, w[c], four(qs, 4 * c));
                s1 = _mm512_dpbusd_epi32(s1, w[c + 1], four(qs, 4 * c + 4));
            }
            let mut s = _mm512_add_epi32(s0, s1);
            if KIND == 0 {
                s = _mm512_sub_epi32(s, _mm512_set1_epi32(8 * a[k].isum[b]));
            } else if KIND == 2 {
                s = _mm512_sub_epi32(s, _mm512_set1_epi32(128 * a[k].isum[b]));
            }
            let scale = _mm512_mul_ps(d, _mm512_set1_ps(a[k].d[b]));
            acc[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[k]);
            if KIND == 1 {
                acc[k] = _mm512_fmadd_ps(m, _mm512_set1_ps(a[k].s[b]), acc[k]);
            }
        }
    }
    std::array::from_fn(|k| {
        let mut o = [0f32; GROUP];
        // SAFETY: 16 writable floats (an array); unaligned store.
        unsafe { _mm512_storeu_ps(o.as_mut_ptr(), acc[k]) };
        o
    })
}

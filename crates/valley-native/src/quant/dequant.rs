//! Dequantisation of every weight type to f32, block by block, as ggml defines each format
//! (`dequantize_row_*` in ggml-quants.c): the reference the dot-product kernels are tested against
//! and the loader's path to f32 weights for training and the burn backends.

use super::types::{GgmlType, QK_K};

/// The f32 value of the little-endian f16 at `b[i..i + 2]`.
#[inline]
pub fn f16_at(b: &[u8], i: usize) -> f32 {
    half::f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// The 6-bit scale and minimum of sub-block `j` (0..8) of a Q4_K or Q5_K super-block, from its
/// 12 packed scale bytes (ggml's `get_scale_min_k4`).
#[inline]
pub fn scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }
}

/// The 16 signed 6-bit scales of a Q3_K super-block, unpacked from its 12 bytes.
pub fn q3k_scales(packed: &[u8]) -> [i8; 16] {
    let mut out = [0i8; 16];
    for (j, o) in out.iter_mut().enumerate() {
        let low = if j < 8 { packed[j] & 0x0f } else { packed[j - 8] >> 4 };
        let high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        *o = ((low | (high << 4)) as i8) - 32;
    }
    out
}

/// Appends the f32 values of `bytes` (whole blocks of `ty`) to `out`.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut Vec<f32>) {
    let (per, size) = ty.block();
    let start = out.len();
    out.resize(start + bytes.len() / size * per, 0.0);
    let dst = &mut out[start..];
    match ty {
        GgmlType::F32 => {
            for (o, c) in dst.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, c) in dst.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }
        GgmlType::Bf16 => {
            for (o, c) in dst.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16);
            }
        }
        _ => {
            for (blk, o) in bytes.chunks_exact(size).zip(dst.chunks_exact_mut(per)) {
                dequantize_block(ty, blk, o);
            }
        }
    }
}

/// Dequantises one block of a quantised type into `o` (its block length).
pub fn dequantize_block(ty: GgmlType, b: &[u8], o: &mut [f32]) {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q4_1 => {
            let d = f16_at(b, 0);
            let (m, qs) = if ty == GgmlType::Q4_0 {
                (-8.0 * d, &b[2..18])
            } else {
                (f16_at(b, 2), &b[4..20])
            };
            for (j, q) in qs.iter().enumerate() {
                o[j] = f32::from(q & 0x0f) * d + m;
                o[j + 16] = f32::from(q >> 4) * d + m;
            }
        }
        GgmlType::Q5_0 | GgmlType::Q5_1 => {
            let d = f16_at(b, 0);
            let (m, rest) =
                if ty == GgmlType::Q5_0 { (-16.0 * d, &b[2..]) } else { (f16_at(b, 2), &b[4..]) };
            let qh = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            for (j, q) in rest[4..20].iter().enumerate() {
                let h0 = ((qh >> j) & 1) << 4;
                let h1 = ((qh >> (j + 16)) & 1) << 4;
                o[j] = (u32::from(q & 0x0f) | h0) as f32 * d + m;
                o[j + 16] = (u32::from(q >> 4) | h1) as f32 * d + m;
            }
        }
        GgmlType::Q8_0 => {
            let d = f16_at(b, 0);
            for (x, &q) in o.iter_mut().zip(&b[2..34]) {
                *x = f32::from(q as i8) * d;
            }
        }
        GgmlType::Q8_1 => {
            let d = f16_at(b, 0);
            for (x, &q) in o.iter_mut().zip(&b[4..36]) {
                *x = f32::from(q as i8) * d;
            }
        }
        GgmlType::Q2K => {
            // scales[16] qs[64] d dmin
            let (scales, qs) = (&b[0..16], &b[16..80]);
            let (d, min) = (f16_at(b, 80), f16_at(b, 82));
            for (n, half) in [0usize, 1].into_iter().enumerate() {
                let q = &qs[32 * half..32 * half + 32];
                for shift in 0..4 {
                    for part in 0..2 {
                        let sc = scales[8 * n + 2 * shift + part];
                        let (dl, ml) = (d * f32::from(sc & 0x0f), min * f32::from(sc >> 4));
                        let base = 128 * n + 32 * shift + 16 * part;
                        for l in 0..16 {
                            let v = (q[l + 16 * part] >> (2 * shift)) & 3;
                            o[base + l] = dl * f32::from(v) - ml;
                        }
                    }
                }
            }
        }
        GgmlType::Q3K => {
            // hmask[32] qs[64] scales[12] d
            let (hmask, qs) = (&b[0..32], &b[32..96]);
            let scales = q3k_scales(&b[96..108]);
            let d = f16_at(b, 108);
            for i in 0..QK_K {
                let (n, within) = (i / 128, i % 128);
                let (shift, l) = (within / 32, within % 32);
                let q = (qs[32 * n + l] >> (2 * shift)) & 3;
                let high = hmask[l] & (1 << (4 * n + shift)) != 0;
                let v = i32::from(q) - if high { 0 } else { 4 };
                o[i] = d * f32::from(scales[i / 16]) * v as f32;
            }
        }
        GgmlType::Q4K | GgmlType::Q5K => {
            // d dmin scales[12] (qh[32]) qs[128]
            let (d, min) = (f16_at(b, 0), f16_at(b, 2));
            let scales = &b[4..16];
            let (qh, qs) = if ty == GgmlType::Q5K {
                (Some(&b[16..48]), &b[48..176])
            } else {
                (None, &b[16..144])
            };
            for j in 0..4 {
                let (sc1, m1) = scale_min_k4(2 * j, scales);
                let (sc2, m2) = scale_min_k4(2 * j + 1, scales);
                let (d1, m1) = (d * f32::from(sc1), min * f32::from(m1));
                let (d2, m2) = (d * f32::from(sc2), min * f32::from(m2));
                for l in 0..32 {
                    let q = qs[32 * j + l];
                    let (mut lo, mut hi) = (q & 0x0f, q >> 4);
                    if let Some(qh) = qh {
                        lo |= ((qh[l] >> (2 * j)) & 1) << 4;
                        hi |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
                    }
                    o[64 * j + l] = d1 * f32::from(lo) - m1;
                    o[64 * j + 32 + l] = d2 * f32::from(hi) - m2;
                }
            }
        }
        GgmlType::Q6K => {
            // ql[128] qh[64] scales[16] d
            let (ql, qh) = (&b[0..128], &b[128..192]);
            let d = f16_at(b, 208);
            for i in 0..QK_K {
                o[i] = d * f32::from(b[192 + i / 16] as i8) * f32::from(q6k_value(ql, qh, i));
            }
        }
        GgmlType::Q8K => {
            let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            for (x, &q) in o.iter_mut().zip(&b[4..260]) {
                *x = f32::from(q as i8) * d;
            }
        }
        GgmlType::F32 | GgmlType::F16 | GgmlType::Bf16 => {
            unreachable!("bug: float types are not blocks; please report")
        }
    }
}

/// The signed 6-bit value (-32..31) of element `i` of a Q6_K super-block.
#[inline]
pub fn q6k_value(ql: &[u8], qh: &[u8], i: usize) -> i8 {
    let (n, within) = (i / 128, i % 128);
    let (quarter, l) = (within / 32, within % 32);
    let low = match quarter {
        0 => ql[64 * n + l] & 0x0f,
        1 => ql[64 * n + 32 + l] & 0x0f,
        2 => ql[64 * n + l] >> 4,
        _ => ql[64 * n + 32 + l] >> 4,
    };
    let high = (qh[32 * n + l] >> (2 * quarter)) & 3;
    ((low | (high << 4)) as i8) - 32
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn h(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn q4_1_and_q8_0_blocks_dequantise() {
        // Q4_1: d = 0.5, m = -1, nibbles 0..15 low, 15..0 high.
        let mut blk = Vec::new();
        blk.extend(h(0.5));
        blk.extend(h(-1.0));
        for j in 0..16u8 {
            blk.push(j | ((15 - j) << 4));
        }
        let mut out = Vec::new();
        dequantize(GgmlType::Q4_1, &blk, &mut out);
        assert_eq!((out[0], out[15], out[16], out[31]), (-1.0, 6.5, 6.5, -1.0));
        let mut blk = Vec::new();
        blk.extend(h(0.25));
        blk.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let mut out = Vec::new();
        dequantize(GgmlType::Q8_0, &blk, &mut out);
        assert_eq!((out[0], out[31]), (-4.0, 3.75));
    }

    #[test]
    fn q4_k_block_by_hand() {
        // d = 1, dmin = 0.5; sub-block 0: scale 2, min 4; sub-block 5: scale 33, min 17
        // (6 bits: the high two of each stored in the top bits of bytes 1 and 5).
        let mut b = vec![0u8; 144];
        b[0..2].copy_from_slice(&h(1.0));
        b[2..4].copy_from_slice(&h(0.5));
        let s = &mut b[4..16];
        s[0] = 2;
        s[4] = 4;
        // j = 5: scale = (s[9] & 15) | ((s[1] >> 6) << 4), min = (s[9] >> 4) | ((s[5] >> 6) << 4)
        s[9] = (33 & 15) | ((17 & 15) << 4);
        s[1] |= (33 >> 4) << 6;
        s[5] |= (17 >> 4) << 6;
        assert_eq!(scale_min_k4(0, s), (2, 4));
        assert_eq!(scale_min_k4(5, s), (33, 17));
        // element 3 (sub-block 0, low nibble of qs[3]) = 7; element 64*2+32+1 (sub-block 5,
        // high nibble of qs[65]) = 9
        b[16 + 3] = 7;
        b[16 + 65] = 9 << 4;
        let mut out = Vec::new();
        dequantize(GgmlType::Q4K, &b, &mut out);
        assert_eq!(out[3], 2.0 * 7.0 - 0.5 * 4.0);
        assert_eq!(out[161], 33.0 * 9.0 - 0.5 * 17.0);
        assert_eq!(out[0], -2.0);
    }

    #[test]
    fn q6_k_block_by_hand() {
        let mut b = vec![0u8; 210];
        b[208..210].copy_from_slice(&h(0.5));
        for g in 0..16 {
            b[192 + g] = (g as i8 - 8) as u8;
        }
        // element 128 + 64 + 5: n = 1, quarter 2 -> high nibble of ql[64 + 5], qh[32 + 5] bits 4-5
        b[64 + 5] = 0x0b << 4;
        b[128 + 32 + 5] = 0b10 << 4;
        let mut out = Vec::new();
        dequantize(GgmlType::Q6K, &b, &mut out);
        let q = (0x0b | (0b10 << 4)) - 32; // 11 + 32 - 32
        assert_eq!(out[197], 0.5 * f32::from((197 / 16) as i8 - 8) * q as f32);
        assert_eq!(out[0], 0.5 * -8.0 * -32.0);
    }
}

//! Weight rows interleaved sixteen at a time for the AVX-512 VNNI kernels (`avx512.rs`), the
//! way llama.cpp repacks Q4_0 for its x86 and Arm matrix kernels: the same blocks, the same
//! bytes in total, in an order where one 64-byte load holds four consecutive values of each of
//! sixteen rows, so one `vpdpbusd` multiplies them by four broadcast activation bytes and leaves
//! each row's sum in its own lane (no horizontal sums, one scale multiply-add per block for
//! sixteen rows).
//!
//! Layout of a group of 16 rows, block after block (`nb` blocks per row), for block `b`:
//! - Q4_0 (288 bytes = 16 × 18): the 16 rows' f16 scales, then four 64-byte chunks; chunk `c`
//!   holds bytes `4c..4c+4` of each row's 16 nibble bytes (row `j` at `4j`), so its low nibbles
//!   are values `4c..4c+4` and its high nibbles values `16+4c..16+4c+4` (ggml's order).
//! - Q4_1 (320 bytes = 16 × 20): the 16 scales, the 16 minimums (f16), then the four chunks.
//! - Q8_0 (544 bytes = 16 × 34): the 16 scales, then eight chunks of values `4c..4c+4`, each
//!   stored plus 128 (`x ^ 0x80`) so the kernel can take them as unsigned bytes.
//!
//! Portable code: the layout does not depend on the CPU, and [`unpack_row`] gives back a row's
//! original bytes exactly (the embedding lookup of a tied output head reads rows from it).

use super::types::GgmlType;

/// Rows interleaved per group.
pub const GROUP: usize = 16;

/// Whether a `[rows, _]` matrix of `ty` has a packed layout.
pub fn packable(ty: GgmlType, rows: usize) -> bool {
    matches!(ty, GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q8_0)
        && rows > 0
        && rows.is_multiple_of(GROUP)
}

/// Bytes of the per-row header of a block (scale, and minimum for Q4_1) and of its values.
fn parts(ty: GgmlType) -> (usize, usize) {
    match ty {
        GgmlType::Q4_0 => (2, 16),
        GgmlType::Q4_1 => (4, 16),
        GgmlType::Q8_0 => (2, 32),
        _ => unreachable!("bug: no packed layout for {}; please report", ty.name()),
    }
}

/// The packed form of `data` (`rows` rows of `row_bytes`, `packable`).
pub fn pack(ty: GgmlType, rows: usize, row_bytes: usize, data: &[u8]) -> Vec<u8> {
    assert!(packable(ty, rows) && data.len() == rows * row_bytes, "bug: pack shape; please report");
    let (head, vals) = parts(ty);
    let bb = head + vals;
    let nb = row_bytes / bb;
    let mut out = vec![0u8; data.len()];
    for g in 0..rows / GROUP {
        for b in 0..nb {
            let dst = &mut out[(g * nb + b) * GROUP * bb..(g * nb + b + 1) * GROUP * bb];
            for j in 0..GROUP {
                let src = &data[(g * GROUP + j) * row_bytes + b * bb..][..bb];
                place(ty, j, src, dst);
            }
        }
    }
    out
}

/// Row `r`'s original bytes, from the packed form `packed`.
pub fn unpack_row(ty: GgmlType, row_bytes: usize, packed: &[u8], r: usize, out: &mut Vec<u8>) {
    let (head, vals) = parts(ty);
    let bb = head + vals;
    let nb = row_bytes / bb;
    let (g, j) = (r / GROUP, r % GROUP);
    out.clear();
    out.resize(row_bytes, 0);
    for b in 0..nb {
        let src = &packed[(g * nb + b) * GROUP * bb..(g * nb + b + 1) * GROUP * bb];
        take(ty, j, src, &mut out[b * bb..(b + 1) * bb]);
    }
}

/// Where byte `i` of row `j`'s block values goes in a packed group block (after the headers).
fn value_at(j: usize, i: usize) -> usize {
    (i / 4) * 4 * GROUP + 4 * j + i % 4
}

/// Writes one row's block `src` as row `j` of the packed group block `dst`.
fn place(ty: GgmlType, j: usize, src: &[u8], dst: &mut [u8]) {
    let (head, vals) = parts(ty);
    for h in 0..head / 2 {
        dst[h * 2 * GROUP + 2 * j..][..2].copy_from_slice(&src[2 * h..2 * h + 2]);
    }
    let flip = if ty == GgmlType::Q8_0 { 0x80 } else { 0 };
    let body = &mut dst[head * GROUP..];
    for i in 0..vals {
        body[value_at(j, i)] = src[head + i] ^ flip;
    }
}

/// Reads row `j`'s block from the packed group block `src` into `dst` (the inverse of `place`).
fn take(ty: GgmlType, j: usize, src: &[u8], dst: &mut [u8]) {
    let (head, vals) = parts(ty);
    for h in 0..head / 2 {
        dst[2 * h..2 * h + 2].copy_from_slice(&src[h * 2 * GROUP + 2 * j..][..2]);
    }
    let flip = if ty == GgmlType::Q8_0 { 0x80 } else { 0 };
    let body = &src[head * GROUP..];
    for i in 0..vals {
        dst[head + i] = body[value_at(j, i)] ^ flip;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::dot::tests::random_row;
    use crate::rng::Rng;

    /// Packing keeps every byte: each row comes back exactly, and the packed form is a
    /// permutation of the same number of bytes (a wrong offset would lose or repeat some).
    #[test]
    fn every_row_comes_back_exactly() {
        let mut rng = Rng::new(5);
        for ty in [GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0] {
            let (rows, cols) = (48, 96);
            let rb = ty.bytes_for(cols);
            let data: Vec<u8> = (0..rows).flat_map(|_| random_row(ty, cols, &mut rng)).collect();
            let packed = pack(ty, rows, rb, &data);
            assert_eq!(packed.len(), data.len());
            assert_ne!(packed, data, "{}: the layout moves bytes", ty.name());
            let mut row = Vec::new();
            for r in 0..rows {
                unpack_row(ty, rb, &packed, r, &mut row);
                assert_eq!(row, data[r * rb..(r + 1) * rb], "{} row {r}", ty.name());
            }
        }
    }

    #[test]
    fn only_whole_groups_of_the_legacy_types_pack() {
        assert!(packable(GgmlType::Q4_1, 32));
        assert!(!packable(GgmlType::Q4_1, 40));
        assert!(!packable(GgmlType::Q4_1, 0));
        assert!(!packable(GgmlType::Q6K, 32));
        assert!(!packable(GgmlType::F32, 32));
    }
}

//! Packing examples into rows: several short examples share one row of at most `max_len`
//! tokens, each numbered by a segment id so attention and the loss never cross between them.

use crate::llama::Batch;

/// One training example: token ids and the loss mask (1 where the token is a target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub input_ids: Vec<u32>,
    pub loss_mask: Vec<u8>,
}

/// A packed batch and, per token, the target and whether it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedBatch {
    pub batch: Batch,
    /// Next token of the same example (0 where none).
    pub targets: Vec<u32>,
    /// 1 where `targets` counts: the next token is in the same example and has loss mask 1.
    pub weights: Vec<f32>,
}

impl PackedBatch {
    /// Tokens that carry the loss.
    pub fn loss_tokens(&self) -> usize {
        self.weights.iter().filter(|&&w| w > 0.0).count()
    }

    /// Tokens that are not padding.
    pub fn real_tokens(&self) -> usize {
        self.batch.segments.iter().filter(|&&s| s > 0).count()
    }
}

/// Packs `examples` in order, first fit: each goes into the first row with room, a new row
/// when none has. Every example must be at most `max_len` tokens (the over-length policy is
/// applied before). Rows are right-padded to the longest row (padding: segment 0, id 0).
pub fn pack(examples: &[&Example], max_len: usize) -> PackedBatch {
    let mut rows: Vec<Vec<(usize, &Example)>> = Vec::new();
    let mut used: Vec<usize> = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        let n = ex.input_ids.len();
        assert!(
            n <= max_len,
            "bug: an example of {n} tokens exceeds max_len {max_len}; please report"
        );
        match used.iter().position(|&u| u + n <= max_len) {
            Some(r) => {
                rows[r].push((i, ex));
                used[r] += n;
            }
            None => {
                rows.push(vec![(i, ex)]);
                used.push(n);
            }
        }
    }
    let seq = used.iter().copied().max().unwrap_or(1).max(1);
    let b = rows.len().max(1);
    let mut input_ids = vec![0u32; b * seq];
    let mut positions = vec![0u32; b * seq];
    let mut segments = vec![0u32; b * seq];
    let mut targets = vec![0u32; b * seq];
    let mut weights = vec![0f32; b * seq];
    for (r, row) in rows.iter().enumerate() {
        let mut at = r * seq;
        for (s, (_, ex)) in row.iter().enumerate() {
            let n = ex.input_ids.len();
            for k in 0..n {
                input_ids[at + k] = ex.input_ids[k];
                positions[at + k] = k as u32;
                segments[at + k] = s as u32 + 1;
                if k + 1 < n {
                    targets[at + k] = ex.input_ids[k + 1];
                    weights[at + k] = f32::from(ex.loss_mask[k + 1]);
                }
            }
            at += n;
        }
    }
    PackedBatch { batch: Batch { batch: b, seq, input_ids, positions, segments }, targets, weights }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(ids: &[u32], mask: &[u8]) -> Example {
        Example { input_ids: ids.to_vec(), loss_mask: mask.to_vec() }
    }

    #[test]
    fn first_fit_packing_keeps_examples_apart() {
        let a = ex(&[1, 2, 3], &[0, 1, 1]);
        let b = ex(&[4, 5, 6, 7], &[0, 0, 1, 1]);
        let c = ex(&[8, 9], &[0, 1]);
        let p = pack(&[&a, &b, &c], 6);
        // a (3) + c (2) share row 0; b gets row 1.
        assert_eq!(p.batch.batch, 2);
        assert_eq!(p.batch.seq, 5);
        assert_eq!(p.batch.input_ids, vec![1, 2, 3, 8, 9, 4, 5, 6, 7, 0]);
        assert_eq!(p.batch.segments, vec![1, 1, 1, 2, 2, 1, 1, 1, 1, 0]);
        assert_eq!(p.batch.positions, vec![0, 1, 2, 0, 1, 0, 1, 2, 3, 0]);
        // The last token of a never predicts the first of c.
        assert_eq!(p.weights, vec![1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(p.targets[..5], [2, 3, 0, 9, 0]);
        assert_eq!(p.loss_tokens(), 5);
        assert_eq!(p.real_tokens(), 9);
    }
}

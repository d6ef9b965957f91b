//! One sequence's keys and values per layer, position-major (`[pos][kv_heads · head_dim]`), so a
//! step appends its rows at the end.

/// The cached keys and values of one sequence.
#[derive(Debug, Clone, Default)]
pub struct SeqCache {
    /// Per layer: keys and values, `len · width` each.
    layers: Vec<(Vec<f32>, Vec<f32>)>,
    width: usize,
    len: usize,
}

impl SeqCache {
    /// An empty cache for `layers` layers of `width = kv_heads · head_dim` values per position.
    pub fn new(layers: usize, width: usize) -> Self {
        Self { layers: vec![(Vec::new(), Vec::new()); layers], width, len: 0 }
    }

    /// Cached positions.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything (the buffers are kept for the next sequence).
    pub fn clear(&mut self) {
        for (k, v) in &mut self.layers {
            k.clear();
            v.clear();
        }
        self.len = 0;
    }

    /// Drops positions from `len` on (to reuse a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        let len = len.min(self.len);
        for (k, v) in &mut self.layers {
            k.truncate(len * self.width);
            v.truncate(len * self.width);
        }
        self.len = len;
    }

    /// Appends `k` and `v` rows (whole positions) to `layer`.
    pub(super) fn push(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        let (ks, vs) = &mut self.layers[layer];
        ks.extend_from_slice(k);
        vs.extend_from_slice(v);
    }

    /// Keys and values of `layer`, `positions · width` each.
    pub(super) fn layer(&self, layer: usize) -> (&[f32], &[f32]) {
        let (k, v) = &self.layers[layer];
        (k, v)
    }

    /// Marks `n` more positions as cached (after every layer pushed them).
    pub(super) fn advance(&mut self, n: usize) {
        self.len += n;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.layers.iter().map(|(k, v)| (k.capacity() + v.capacity()) * 4).sum()
    }
}

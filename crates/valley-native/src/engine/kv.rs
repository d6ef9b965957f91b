//! One sequence's keys and values per layer. Values are position-major (`[pos][kv_heads ·
//! head_dim]`), so a step appends its rows at the end; keys are kept in tiles of [`TILE`]
//! positions, channel-major inside a tile (`[pos / 16][channel][pos % 16]`), so attention scores
//! sixteen positions with one multiply-add per channel instead of one horizontal sum per position.

/// Positions per key tile.
pub const TILE: usize = 16;

/// Where key channel `c` of position `p` lives in a layer's key tiles (`width` channels).
pub fn key_at(p: usize, c: usize, width: usize) -> usize {
    (p / TILE) * TILE * width + c * TILE + p % TILE
}

/// The cached keys and values of one sequence.
#[derive(Debug, Clone, Default)]
pub struct SeqCache {
    /// Per layer: keys (whole tiles, [`key_at`]) and values (`len · width`).
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
            // positions past `len` in the last tile stay until overwritten; nothing reads them
            k.truncate(len.div_ceil(TILE) * TILE * self.width);
            v.truncate(len * self.width);
        }
        self.len = len;
    }

    /// Appends `k` and `v` rows (whole positions) to `layer`, after the `len` cached ones.
    pub(super) fn push(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        let (width, len) = (self.width, self.len);
        let (ks, vs) = &mut self.layers[layer];
        let end = len + k.len() / width;
        ks.resize(end.div_ceil(TILE) * TILE * width, 0.0);
        for (i, row) in k.chunks_exact(width).enumerate() {
            for (c, &x) in row.iter().enumerate() {
                ks[key_at(len + i, c, width)] = x;
            }
        }
        vs.extend_from_slice(v);
    }

    /// Keys (tiled, [`key_at`]) and values (`positions · width`) of `layer`.
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

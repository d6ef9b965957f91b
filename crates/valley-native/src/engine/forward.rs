//! The batched forward pass: any number of sequences, each with its own cache, each bringing
//! any number of new tokens (a prompt, or the one token of a decoding step). Their rows go
//! through every projection together — one pass over the weights for all of them, which is what
//! makes decoding several sequences at once cheap — and attend only to their own sequence.

use rayon::prelude::*;

use super::attend::{Query, attend};
use super::kv::SeqCache;
use super::model::QuantLm;
use super::ops::{RopeTable, axpy, rms_norm, silu_mul};
use crate::quant::{Acts, Isa};

/// One sequence's part of a forward pass.
#[derive(Debug)]
pub struct Step<'a> {
    pub cache: &'a mut SeqCache,
    /// Tokens after the cached positions (at least one).
    pub tokens: &'a [u32],
}

/// Buffers reused from one forward pass to the next (no allocation per token).
#[derive(Debug)]
pub struct Workspace {
    x: Vec<f32>,
    xn: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    out: Vec<f32>,
    acts: Acts,
    scratch: Vec<f32>,
    row: Vec<f32>,
    rope: RopeTable,
}

/// Work below which attention runs on the calling thread (multiply-adds).
const PARALLEL_ATTENTION: usize = 1 << 15;

impl QuantLm {
    /// An empty cache for one sequence.
    pub fn new_cache(&self) -> SeqCache {
        let c = &self.config;
        SeqCache::new(c.num_hidden_layers, c.num_key_value_heads * c.head_dim)
    }

    /// Buffers for [`Self::forward`].
    pub fn workspace(&self) -> Workspace {
        Workspace {
            x: Vec::new(),
            xn: Vec::new(),
            q: Vec::new(),
            k: Vec::new(),
            v: Vec::new(),
            att: Vec::new(),
            gate: Vec::new(),
            up: Vec::new(),
            out: Vec::new(),
            acts: Acts::default(),
            scratch: Vec::new(),
            row: Vec::new(),
            rope: RopeTable::new(&self.config),
        }
    }

    /// Runs every step's tokens after its cached positions, extending each cache, and writes the
    /// next-token logits of each step's last token into `logits` (`steps.len() × vocab`).
    pub fn forward(&self, steps: &mut [Step<'_>], ws: &mut Workspace, logits: &mut Vec<f32>) {
        self.run(steps, ws, logits, false);
    }

    /// As [`Self::forward`], with the logits of every new token (`tokens × vocab`, in order).
    pub fn forward_all(&self, steps: &mut [Step<'_>], ws: &mut Workspace, logits: &mut Vec<f32>) {
        self.run(steps, ws, logits, true);
    }

    /// The next-token logits at every position of `ids` (row-major, `ids.len() × vocab`).
    pub fn logits_of(&self, ids: &[u32]) -> Vec<f32> {
        let (mut cache, mut ws, mut logits) = (self.new_cache(), self.workspace(), Vec::new());
        self.forward_all(&mut [Step { cache: &mut cache, tokens: ids }], &mut ws, &mut logits);
        logits
    }

    fn run(
        &self,
        steps: &mut [Step<'_>],
        ws: &mut Workspace,
        logits: &mut Vec<f32>,
        every_row: bool,
    ) {
        let c = &self.config;
        let (h, nh, nkv, hd) =
            (c.hidden_size, c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let (qw, kvw, inter) = (nh * hd, nkv * hd, c.intermediate_size);
        let eps = c.rms_norm_eps as f32;
        // rows: (step, position) of every new token
        let mut rows: Vec<(usize, usize)> = Vec::new();
        for (s, step) in steps.iter().enumerate() {
            assert!(!step.tokens.is_empty(), "bug: a step without tokens; please report");
            let past = step.cache.len();
            rows.extend((0..step.tokens.len()).map(|i| (s, past + i)));
        }
        let n = rows.len();
        let Workspace { x, xn, q, k, v, att, gate, up, out, acts, scratch, row, rope } = ws;
        x.clear();
        for step in steps.iter() {
            for &t in step.tokens {
                row.clear();
                self.embed_tokens.row_f32(t as usize, row);
                x.extend_from_slice(row);
            }
        }
        for buf in [&mut *xn, &mut *out] {
            buf.resize(n * h, 0.0);
        }
        q.resize(n * qw, 0.0);
        k.resize(n * kvw, 0.0);
        v.resize(n * kvw, 0.0);
        att.resize(n * qw, 0.0);
        gate.resize(n * inter, 0.0);
        up.resize(n * inter, 0.0);
        let isa = self.isa;
        for (li, layer) in self.layers.iter().enumerate() {
            rms_norm(x, &layer.input_layernorm, eps, xn);
            acts.set(xn, n, h);
            layer.q_proj.matmul(isa, acts, q, scratch);
            layer.k_proj.matmul(isa, acts, k, scratch);
            layer.v_proj.matmul(isa, acts, v, scratch);
            if let Some([bq, bk, bv]) = &layer.qkv_bias {
                for (buf, b) in [(&mut *q, bq), (&mut *k, bk), (&mut *v, bv)] {
                    for r in buf.chunks_exact_mut(b.len()) {
                        axpy(1.0, b, r);
                    }
                }
            }
            for (i, &(_, pos)) in rows.iter().enumerate() {
                rope.apply(&mut q[i * qw..(i + 1) * qw], pos, hd);
                rope.apply(&mut k[i * kvw..(i + 1) * kvw], pos, hd);
            }
            let mut at = 0;
            for step in steps.iter_mut() {
                let t = step.tokens.len();
                step.cache.push(li, &k[at * kvw..(at + t) * kvw], &v[at * kvw..(at + t) * kvw]);
                at += t;
            }
            let caches: Vec<&SeqCache> = steps.iter().map(|s| &*s.cache).collect();
            attention(isa, &rows, &caches, li, q, att, nh, nkv, hd);
            acts.set(att, n, qw);
            layer.o_proj.matmul(isa, acts, out, scratch);
            axpy(1.0, out, x);
            rms_norm(x, &layer.post_attention_layernorm, eps, xn);
            acts.set(xn, n, h);
            layer.gate_proj.matmul(isa, acts, gate, scratch);
            layer.up_proj.matmul(isa, acts, up, scratch);
            silu_mul(gate, up);
            acts.set(gate, n, inter);
            layer.down_proj.matmul(isa, acts, out, scratch);
            axpy(1.0, out, x);
        }
        for step in steps.iter_mut() {
            step.cache.advance(step.tokens.len());
        }
        let m = if every_row { n } else { steps.len() };
        if every_row {
            rms_norm(x, &self.norm, eps, xn);
        } else {
            // only each step's last row needs logits
            let mut at = 0;
            for (s, step) in steps.iter().enumerate() {
                at += step.tokens.len();
                let last = &x[(at - 1) * h..at * h];
                rms_norm(last, &self.norm, eps, &mut xn[s * h..(s + 1) * h]);
            }
        }
        let head = self.head();
        logits.resize(m * head.rows, 0.0);
        acts.set(&xn[..m * h], m, h);
        head.matmul(isa, acts, logits, scratch);
    }
}

/// Causal attention of every row over its own sequence's cached keys and values (grouped
/// query heads share a key/value head, read once for the group), written to `att` (`rows ×
/// heads · head_dim`). One task per (row, key/value head).
#[expect(clippy::too_many_arguments, reason = "one layer's attention inputs, all distinct")]
fn attention(
    isa: Isa,
    rows: &[(usize, usize)],
    caches: &[&SeqCache],
    layer: usize,
    q: &[f32],
    att: &mut [f32],
    nh: usize,
    nkv: usize,
    hd: usize,
) {
    let kvw = nkv * hd;
    let group = nh / nkv;
    let scale = 1.0 / (hd as f32).sqrt();
    let one = |idx: usize, o: &mut [f32], scores: &mut Vec<f32>| {
        let (r, kv) = (idx / nkv, idx % nkv);
        let (s, pos) = rows[r];
        let (ks, vs) = caches[s].layer(layer);
        let at = r * nh * hd + kv * group * hd;
        let query =
            Query { q: &q[at..at + group * hd], ks, vs, kvw, off: kv * hd, len: pos + 1, hd };
        attend(isa, &query, scale, scores, o);
    };
    let work: usize = rows.iter().map(|&(_, pos)| (pos + 1) * nh * hd).sum();
    if work < PARALLEL_ATTENTION {
        let mut scores = Vec::new();
        for (idx, o) in att.chunks_exact_mut(group * hd).enumerate() {
            one(idx, o, &mut scores);
        }
    } else {
        att.par_chunks_mut(group * hd)
            .enumerate()
            .for_each_init(Vec::new, |scores, (idx, o)| one(idx, o, scores));
    }
}

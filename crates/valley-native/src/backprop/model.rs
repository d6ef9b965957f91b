//! One micro-batch through the decoder and back: the forward pass keeps what the backward pass
//! needs in buffers that live as long as the trainer (no fresh allocation per step), and the
//! backward pass adds every parameter's gradient into the gradient buffers.

use super::attention::{self, Heads};
use super::gemm::{View, matmul};
use super::ops::{
    cross_entropy, rms_backward, rms_forward, rope, silu_mul_backward, silu_mul_forward,
};
use super::params::Index;
use crate::config::ModelConfig;
use crate::engine::ops::RopeTable;
use crate::pack::PackedBatch;

/// What one layer's backward pass reads.
#[derive(Debug, Default)]
struct Saved {
    /// The layer's input, its RMS factors and normalised values.
    x: Vec<f32>,
    inv1: Vec<f32>,
    xn1: Vec<f32>,
    /// Queries and keys after the rotation, values.
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    /// After the attention's residual: input of the MLP half.
    x1: Vec<f32>,
    inv2: Vec<f32>,
    xn2: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    h: Vec<f32>,
}

/// Buffers of the training pass, reused from one micro-batch to the next.
#[derive(Debug)]
pub(super) struct Workspace {
    layers: Vec<Saved>,
    x: Vec<f32>,
    invf: Vec<f32>,
    xf: Vec<f32>,
    // backward
    dx: Vec<f32>,
    dn: Vec<f32>,
    da: Vec<f32>,
    db: Vec<f32>,
    dq: Vec<f32>,
    dk: Vec<f32>,
    dv: Vec<f32>,
    logits: Vec<f32>,
    rope: RopeTable,
}

impl Workspace {
    pub(super) fn new(cfg: &ModelConfig) -> Self {
        Self {
            layers: (0..cfg.num_hidden_layers).map(|_| Saved::default()).collect(),
            x: Vec::new(),
            invf: Vec::new(),
            xf: Vec::new(),
            dx: Vec::new(),
            dn: Vec::new(),
            da: Vec::new(),
            db: Vec::new(),
            dq: Vec::new(),
            dk: Vec::new(),
            dv: Vec::new(),
            logits: Vec::new(),
            rope: RopeTable::new(cfg),
        }
    }
}

fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    v.resize(n, 0.0);
    &mut v[..n]
}

/// `y = x · Wᵀ` (W in HF's `[out, in]` layout), `y` `n × out`.
fn linear(y: &mut [f32], x: &[f32], n: usize, w: &[f32], out: usize) {
    let inp = w.len() / out;
    matmul(y, out, View::of(x, n, inp), View::of(w, out, inp).t(), false, true);
}

/// The backward pass of [`linear`]: `dx (+)= dy · W` and `dW += dyᵀ · x`.
fn linear_back(
    dx: &mut [f32],
    acc_dx: bool,
    dy: &[f32],
    x: &[f32],
    n: usize,
    w: &[f32],
    dw: &mut [f32],
) {
    let out = dy.len() / n;
    let inp = w.len() / out;
    matmul(dx, inp, View::of(dy, n, out), View::of(w, out, inp), acc_dx, true);
    matmul(dw, inp, View::of(dy, n, out).t(), View::of(x, n, inp), true, true);
}

/// Adds `b` to every row of `y`.
fn add_bias(y: &mut [f32], b: &[f32]) {
    for row in y.chunks_exact_mut(b.len()) {
        for (o, v) in row.iter_mut().zip(b) {
            *o += v;
        }
    }
}

/// Adds the column sums of `dy` to `db`.
fn bias_back(dy: &[f32], db: &mut [f32]) {
    for row in dy.chunks_exact(db.len()) {
        for (o, v) in db.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// Runs `batch` forward and backward: adds the gradients of its loss into `grads` and returns
/// the loss, `Σ w · (−log p(target)) / normaliser` over its tokens (as the burn model's
/// `sft_loss` computes it).
pub(super) fn step(
    cfg: &ModelConfig,
    ix: &Index,
    p: &[Vec<f32>],
    grads: &mut [Vec<f32>],
    batch: &PackedBatch,
    normaliser: f64,
    ws: &mut Workspace,
) -> f64 {
    let b = &batch.batch;
    let n = b.batch * b.seq;
    let hsz = cfg.hidden_size;
    let heads = Heads {
        heads: cfg.num_attention_heads,
        kv_heads: cfg.num_key_value_heads,
        head_dim: cfg.head_dim,
    };
    let (qw, kvw, inter) =
        (heads.heads * heads.head_dim, heads.kv_heads * heads.head_dim, cfg.intermediate_size);
    let eps = cfg.rms_norm_eps as f32;
    let runs = attention::runs(&b.segments, b.seq);
    let max_pos = b.positions.iter().copied().max().unwrap_or(0) as usize;
    ws.rope.ensure(max_pos + 1);
    // forward
    let x = sized(&mut ws.x, n * hsz);
    let embed = &p[ix.embed];
    for (row, &t) in x.chunks_exact_mut(hsz).zip(&b.input_ids) {
        row.copy_from_slice(&embed[t as usize * hsz..(t as usize + 1) * hsz]);
    }
    for (li, l) in ix.layers.iter().enumerate() {
        let s = &mut ws.layers[li];
        s.x.clear();
        s.x.extend_from_slice(x);
        rms_forward(
            x,
            &p[l.input_layernorm],
            eps,
            sized(&mut s.xn1, n * hsz),
            sized(&mut s.inv1, n),
        );
        linear(sized(&mut s.q, n * qw), &s.xn1, n, &p[l.q], qw);
        linear(sized(&mut s.k, n * kvw), &s.xn1, n, &p[l.k], kvw);
        linear(sized(&mut s.v, n * kvw), &s.xn1, n, &p[l.v], kvw);
        if let Some([bq, bk, bv]) = l.bias {
            add_bias(&mut s.q, &p[bq]);
            add_bias(&mut s.k, &p[bk]);
            add_bias(&mut s.v, &p[bv]);
        }
        rope(&mut s.q, qw, &b.positions, &ws.rope, heads.head_dim, false);
        rope(&mut s.k, kvw, &b.positions, &ws.rope, heads.head_dim, false);
        attention::forward(&s.q, &s.k, &s.v, &runs, heads, sized(&mut s.att, n * qw));
        let o = sized(&mut ws.da, n * hsz);
        linear(o, &s.att, n, &p[l.o], hsz);
        for (a, d) in x.iter_mut().zip(o.iter()) {
            *a += d;
        }
        s.x1.clear();
        s.x1.extend_from_slice(x);
        rms_forward(
            x,
            &p[l.post_attention_layernorm],
            eps,
            sized(&mut s.xn2, n * hsz),
            sized(&mut s.inv2, n),
        );
        linear(sized(&mut s.gate, n * inter), &s.xn2, n, &p[l.gate], inter);
        linear(sized(&mut s.up, n * inter), &s.xn2, n, &p[l.up], inter);
        silu_mul_forward(&s.gate, &s.up, sized(&mut s.h, n * inter));
        let d = sized(&mut ws.da, n * hsz);
        linear(d, &s.h, n, &p[l.down], hsz);
        for (a, v) in x.iter_mut().zip(d.iter()) {
            *a += v;
        }
    }
    rms_forward(&ws.x, &p[ix.norm], eps, sized(&mut ws.xf, n * hsz), sized(&mut ws.invf, n));
    // the loss, and its gradient down to the final norm's output
    let head = ix.head();
    let vocab = ix.shapes[head][0];
    let dxf = sized(&mut ws.dn, n * hsz);
    let loss = cross_entropy(
        &ws.xf,
        &p[head],
        vocab,
        &batch.targets,
        &batch.weights,
        normaliser,
        dxf,
        &mut grads[head],
        &mut ws.logits,
    );
    // backward
    let dx = sized(&mut ws.dx, n * hsz);
    dx.fill(0.0);
    rms_backward(&ws.dn, &ws.x, &ws.invf, &p[ix.norm], dx, &mut grads[ix.norm]);
    for (li, l) in ix.layers.iter().enumerate().rev() {
        let s = &ws.layers[li];
        // MLP: d = h · Wdᵀ
        let dh = sized(&mut ws.da, n * inter);
        linear_back(dh, false, dx, &s.h, n, &p[l.down], &mut grads[l.down]);
        let dgate = sized(&mut ws.db, n * inter);
        let dup = sized(&mut ws.dq, n * inter);
        silu_mul_backward(dh, &s.gate, &s.up, dgate, dup);
        let dxn = sized(&mut ws.dn, n * hsz);
        linear_back(dxn, false, dgate, &s.xn2, n, &p[l.gate], &mut grads[l.gate]);
        linear_back(dxn, true, dup, &s.xn2, n, &p[l.up], &mut grads[l.up]);
        rms_backward(
            dxn,
            &s.x1,
            &s.inv2,
            &p[l.post_attention_layernorm],
            dx,
            &mut grads[l.post_attention_layernorm],
        );
        // attention: y = att · Woᵀ
        let datt = sized(&mut ws.da, n * qw);
        linear_back(datt, false, dx, &s.att, n, &p[l.o], &mut grads[l.o]);
        let (dq, dk, dv) =
            (sized(&mut ws.dq, n * qw), sized(&mut ws.dk, n * kvw), sized(&mut ws.dv, n * kvw));
        attention::backward(datt, &s.q, &s.k, &s.v, &runs, heads, dq, dk, dv);
        rope(dq, qw, &b.positions, &ws.rope, heads.head_dim, true);
        rope(dk, kvw, &b.positions, &ws.rope, heads.head_dim, true);
        if let Some([bq, bk, bv]) = l.bias {
            bias_back(dq, &mut grads[bq]);
            bias_back(dk, &mut grads[bk]);
            bias_back(dv, &mut grads[bv]);
        }
        let dxn = sized(&mut ws.dn, n * hsz);
        linear_back(dxn, false, dq, &s.xn1, n, &p[l.q], &mut grads[l.q]);
        linear_back(dxn, true, dk, &s.xn1, n, &p[l.k], &mut grads[l.k]);
        linear_back(dxn, true, dv, &s.xn1, n, &p[l.v], &mut grads[l.v]);
        rms_backward(dxn, &s.x, &s.inv1, &p[l.input_layernorm], dx, &mut grads[l.input_layernorm]);
    }
    let dembed = &mut grads[ix.embed];
    for (row, &t) in dx.chunks_exact(hsz).zip(&b.input_ids) {
        let at = t as usize * hsz;
        for (o, v) in dembed[at..at + hsz].iter_mut().zip(row) {
            *o += v;
        }
    }
    loss / normaliser
}

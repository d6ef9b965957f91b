//! The CPU training engine: the decoder's forward and backward passes written out by hand over
//! flat f32 buffers — products through `gemm`, the element-wise work fused per row, activations
//! and gradients in buffers kept from step to step — and a fused AdamW. It computes what the
//! burn model of [`crate::llama`] computes under autodiff (the tests compare every gradient),
//! at the speed `bench/native.sh` measures against PyTorch.

mod attention;
mod gemm;
mod model;
mod ops;
mod params;

use std::path::Path;

use rayon::prelude::*;

pub use params::Index;

use crate::config::ModelConfig;
use crate::pack::PackedBatch;
use crate::sft::{Engine, SftConfig, SftError};
use crate::tensors::HostTensors;
use crate::weights::LoadModelError;

/// Parameters, gradients and AdamW moments as flat f32 vectors, in checkpoint order.
pub struct Backprop {
    config: ModelConfig,
    index: Index,
    params: Vec<Vec<f32>>,
    grads: Vec<Vec<f32>>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    ws: model::Workspace,
}

impl Backprop {
    /// The loss of `batch` over `normaliser` and the gradients of it alone (accumulated
    /// gradients are kept aside), under HF names: for checks against autodiff.
    pub fn loss_and_gradients(
        &mut self,
        batch: &PackedBatch,
        normaliser: f64,
    ) -> (f64, HostTensors) {
        let kept = std::mem::replace(&mut self.grads, self.index.zeros());
        let loss = self.accumulate(batch, normaliser);
        let mut out = HostTensors::new();
        self.index.to_host(&self.grads, "", &mut out);
        self.grads = kept;
        (loss, out)
    }
}

impl Engine for Backprop {
    type Device = ();

    fn new(
        config: &ModelConfig,
        host: &HostTensors,
        source: &Path,
        (): (),
    ) -> Result<Self, SftError> {
        let index = Index::new(config);
        let params = index.from_host(host, "").map_err(|message| {
            SftError::Load(LoadModelError::Tensor {
                path: source.to_path_buf(),
                name: String::new(),
                message,
            })
        })?;
        Ok(Self {
            ws: model::Workspace::new(config),
            grads: index.zeros(),
            m: index.zeros(),
            v: index.zeros(),
            params,
            index,
            config: config.clone(),
        })
    }

    fn load(&mut self, params: &HostTensors, moments: &HostTensors) -> Result<(), String> {
        self.params = self.index.from_host(params, "")?;
        self.m = self.index.from_host(moments, "exp_avg.")?;
        self.v = self.index.from_host(moments, "exp_avg_sq.")?;
        Ok(())
    }

    fn accumulate(&mut self, batch: &PackedBatch, normaliser: f64) -> f64 {
        model::step(
            &self.config,
            &self.index,
            &self.params,
            &mut self.grads,
            batch,
            normaliser,
            &mut self.ws,
        )
    }

    fn grad_norm(&self) -> f64 {
        let sum: f64 = self
            .grads
            .par_iter()
            .map(|g| g.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>())
            .sum();
        sum.sqrt()
    }

    fn adamw(&mut self, clip: f64, lr: f64, t: u64, cfg: &SftConfig) {
        let [b1, b2] = cfg.betas;
        let (bc1, bc2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
        let f = |x: f64| x as f32;
        let (b1, b2, eps, clip) = (f(b1), f(b2), f(cfg.eps), f(clip));
        let (bc1, bc2, decay, lr32) = (f(bc1), f(bc2), f(1.0 - lr * cfg.weight_decay), f(lr));
        let weight_decay = cfg.weight_decay > 0.0;
        let tensors =
            self.params.iter_mut().zip(&mut self.grads).zip(self.m.iter_mut().zip(&mut self.v));
        for ((p, g), (m, v)) in tensors {
            p.par_chunks_mut(4096)
                .zip(g.par_chunks_mut(4096))
                .zip(m.par_chunks_mut(4096).zip(v.par_chunks_mut(4096)))
                .for_each(|((p, g), (m, v))| {
                    for ((p, g), (m, v)) in
                        p.iter_mut().zip(g.iter_mut()).zip(m.iter_mut().zip(v.iter_mut()))
                    {
                        let gc = *g * clip;
                        *m = *m * b1 + gc * (1.0 - b1);
                        *v = *v * b2 + gc * gc * (1.0 - b2);
                        if weight_decay {
                            *p *= decay;
                        }
                        *p -= (*m / bc1) / ((*v / bc2).sqrt() + eps) * lr32;
                        *g = 0.0;
                    }
                });
        }
    }

    fn host(&self) -> (HostTensors, HostTensors, HostTensors) {
        let mut out = [HostTensors::new(), HostTensors::new(), HostTensors::new()];
        for (o, values) in out.iter_mut().zip([&self.params, &self.m, &self.v]) {
            self.index.to_host(values, "", o);
        }
        let [p, m, v] = out;
        (p, m, v)
    }
}

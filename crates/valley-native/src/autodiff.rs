//! The training engine over burn's autodiff: the model of [`crate::llama`] on any burn backend
//! (CUDA; f64 on the CPU for gradient checks), f32 master weights and AdamW moments on the
//! inner (non-autodiff) backend. The CPU trainer uses the hand-written [`crate::backprop`].

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};

use crate::config::{ModelConfig, parameter_shapes};
use crate::llama::CausalLm;
use crate::loss::sft_loss;
use crate::pack::PackedBatch;
use crate::sft::{Engine, SftConfig, SftError};
use crate::tensors::HostTensors;
use crate::weights;

/// Parameters, accumulated gradients and AdamW moments as tensors of `B`'s inner backend.
pub struct Autodiff<B: AutodiffBackend> {
    config: ModelConfig,
    params: BTreeMap<String, Tensor<B::InnerBackend, 2>>,
    grads: BTreeMap<String, Tensor<B::InnerBackend, 2>>,
    m: BTreeMap<String, Tensor<B::InnerBackend, 2>>,
    v: BTreeMap<String, Tensor<B::InnerBackend, 2>>,
    device: B::Device,
}

impl<B: AutodiffBackend> Autodiff<B> {
    /// The current weights as a model on the inner backend.
    pub fn model(&self) -> CausalLm<B::InnerBackend> {
        CausalLm::build(self.config.clone(), |name, _| {
            Ok::<_, std::convert::Infallible>(self.params[name].clone())
        })
        .expect("infallible")
    }
}

fn zeros<Bk: Backend>(p: &BTreeMap<String, Tensor<Bk, 2>>) -> BTreeMap<String, Tensor<Bk, 2>> {
    p.iter().map(|(n, t)| (n.clone(), t.zeros_like())).collect()
}

fn host_of<Bk: Backend>(map: &BTreeMap<String, Tensor<Bk, 2>>, cfg: &ModelConfig) -> HostTensors {
    parameter_shapes(cfg)
        .into_iter()
        .map(|(name, shape)| {
            let values = map[&name].to_data().convert::<f32>().into_vec::<f32>().expect("f32 data");
            (name, (shape, values))
        })
        .collect()
}

impl<B: AutodiffBackend> Engine for Autodiff<B> {
    type Device = B::Device;

    fn new(
        config: &ModelConfig,
        host: &HostTensors,
        source: &Path,
        device: B::Device,
    ) -> Result<Self, SftError> {
        let model = weights::to_device::<B::InnerBackend>(config.clone(), host, source, &device)?;
        let params: BTreeMap<_, _> = model.parameters().into_iter().collect();
        let (grads, m, v) = (zeros(&params), zeros(&params), zeros(&params));
        Ok(Self { config: config.clone(), params, grads, m, v, device })
    }

    fn load(&mut self, params: &HostTensors, moments: &HostTensors) -> Result<(), String> {
        let load = |host: &HostTensors,
                    prefix: &str,
                    like: &BTreeMap<String, Tensor<B::InnerBackend, 2>>| {
            like.iter()
                .map(|(name, t)| {
                    let key = format!("{prefix}{name}");
                    let (_, values) = host.get(&key).ok_or_else(|| format!("`{key}` missing"))?;
                    let shape: [usize; 2] = t.dims();
                    Ok((
                        name.clone(),
                        Tensor::from_data(TensorData::new(values.clone(), shape), &self.device),
                    ))
                })
                .collect::<Result<BTreeMap<_, _>, String>>()
        };
        let (p, mm, vv) = (
            load(params, "", &self.params)?,
            load(moments, "exp_avg.", &self.params)?,
            load(moments, "exp_avg_sq.", &self.params)?,
        );
        (self.params, self.m, self.v) = (p, mm, vv);
        Ok(())
    }

    fn accumulate(&mut self, batch: &PackedBatch, normaliser: f64) -> f64 {
        let model: CausalLm<B> = CausalLm::build(self.config.clone(), |name, _| {
            Ok::<_, std::convert::Infallible>(
                Tensor::from_inner(self.params[name].clone()).require_grad(),
            )
        })
        .expect("infallible");
        let loss = sft_loss(&model, batch, normaliser);
        let value = loss.clone().into_scalar().elem::<f64>();
        let grads = loss.backward();
        for (name, p) in model.parameters() {
            if let Some(g) = p.grad(&grads) {
                let acc = self.grads.remove(&name).expect("a gradient buffer per parameter");
                self.grads.insert(name, acc + g);
            }
        }
        value
    }

    fn grad_norm(&self) -> f64 {
        self.grads
            .values()
            .map(|g| g.clone().powi_scalar(2).sum().into_scalar().elem::<f64>())
            .sum::<f64>()
            .sqrt()
    }

    fn adamw(&mut self, clip: f64, lr: f64, t: u64, cfg: &SftConfig) {
        let [b1, b2] = cfg.betas;
        let bc1 = 1.0 - b1.powi(t as i32);
        let bc2 = 1.0 - b2.powi(t as i32);
        let (eps, wd) = (cfg.eps, cfg.weight_decay);
        let grads = std::mem::take(&mut self.grads);
        for (name, g) in grads {
            let g = if clip == 1.0 { g } else { g * clip };
            let m = self.m[&name].clone() * b1 + g.clone() * (1.0 - b1);
            let v = self.v[&name].clone() * b2 + g.clone().powi_scalar(2) * (1.0 - b2);
            let mut p = self.params[&name].clone();
            if wd > 0.0 {
                p = p * (1.0 - lr * wd);
            }
            let update = (m.clone() / bc1) / ((v.clone() / bc2).sqrt() + eps);
            self.params.insert(name.clone(), p - update * lr);
            self.m.insert(name.clone(), m);
            self.v.insert(name.clone(), v);
            self.grads.insert(name, g.zeros_like());
        }
    }

    fn host(&self) -> (HostTensors, HostTensors, HostTensors) {
        (
            host_of(&self.params, &self.config),
            host_of(&self.m, &self.config),
            host_of(&self.v, &self.config),
        )
    }
}

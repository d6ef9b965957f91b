"""valley's transformers/TRL launcher: full fine-tuning on valley's pre-tokenised rows.

Written into the run folder by `valley train` and started by torchrun, accelerate or an sbatch
script (one process per device). It reads the launch config (JSON, see
crates/valley-train/src/engine/protocol.rs) and the rows valley rendered (`id`, `input_ids`,
`loss_mask`), so the chat template, the truncation and the loss mask are valley's, never the
engine's. The step arithmetic is valley's plan: each epoch a seeded permutation of the rows is
cut into global batches of `global_batch` rows (the last one smaller), each device takes every
`world`-th row of a batch and accumulates micro-batches of `micro_batch`; the loss is the mean
over the trained tokens of the whole global batch (summed, then divided by the global count),
so gradient accumulation and the device count do not change it.

The training loop is this file's own (plain transformers + torch), so it runs where TRL is not
installed (the GPU box). The config's `trl` entry holds the same run as TRL `SFTConfig`
arguments; `valley train check --engine trl` passes valley's rows through TRL's own dataset
preparation and collator with those arguments and proves they come out unchanged. Progress goes
to stdout as one `VALLEY_EVENT {json}` line per optimizer step.
"""

import argparse
import json
import math
import os
import random
import sys
import time


def event(kind, **fields):
    fields["event"] = kind
    sys.stdout.write("VALLEY_EVENT " + json.dumps(fields) + "\n")
    sys.stdout.flush()


def read_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                rows.append((r["input_ids"], r["loss_mask"]))
    return rows


def lr_factor(cfg, step):
    """Plan::lr_at / learning_rate, at 0-based optimizer step `step`."""
    w, n = cfg["warmup_steps"], cfg["optimizer_steps"]
    if step < w:
        return step / max(w, 1)
    progress = (step - w) / max(n - w, 1)
    schedule = cfg["lr_schedule"]
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def epoch_order(n_rows, seed, epoch):
    order = list(range(n_rows))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def global_batches(cfg, n_rows):
    """(epoch, step_in_epoch, row indices) for every optimizer step of the run."""
    gb = cfg["global_batch"]
    for epoch in range(cfg["epochs"]):
        order = epoch_order(n_rows, cfg["seed"], epoch)
        for s in range(0, n_rows, gb):
            yield epoch, s // gb, order[s : s + gb]


def build_model(cfg, torch, transformers, dtype):
    init = cfg.get("init")
    if init is None:
        return transformers.AutoModelForCausalLM.from_pretrained(cfg["model_path"], dtype=dtype)
    kv = init.get("num_key_value_heads") or init["num_attention_heads"]
    common = dict(
        vocab_size=init["vocab_size"],
        hidden_size=init["hidden_size"],
        intermediate_size=init["intermediate_size"],
        num_hidden_layers=init["num_hidden_layers"],
        num_attention_heads=init["num_attention_heads"],
        num_key_value_heads=kv,
        rope_theta=init["rope_theta"],
        tie_word_embeddings=init["tie_word_embeddings"],
        max_position_embeddings=cfg["max_seq_len"],
    )
    if init["family"] == "qwen2":
        config = transformers.Qwen2Config(**common)
    else:
        config = transformers.LlamaConfig(**common)
    torch.manual_seed(init["seed"])
    return transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)


def setup_distributed(torch, cfg):
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if cfg["device"] == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if world > 1:
        torch.distributed.init_process_group(backend=backend)
    return world, rank, device


def latest_checkpoint(out_dir):
    root = os.path.join(out_dir, "checkpoints")
    if not os.path.isdir(root):
        return None
    steps = []
    for name in os.listdir(root):
        if name.startswith("step-") and os.path.exists(os.path.join(root, name, "state.pt")):
            steps.append(int(name[len("step-") :]))
    return os.path.join(root, f"step-{max(steps)}") if steps else None


def full_state_dict(torch, model, world, sharded):
    if world > 1 and sharded:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(
            model, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
        )
    inner = model.module if hasattr(model, "module") else model
    return {k: v.detach().cpu() for k, v in inner.state_dict().items()}


def save_hf(torch, model, hf_model, state, path, rank):
    if rank != 0:
        return
    os.makedirs(path, exist_ok=True)
    hf_model.save_pretrained(path, state_dict=state, safe_serialization=True)


def train_loop(cfg, args):
    import torch
    import transformers

    world, rank, device = setup_distributed(torch, cfg)
    dtype = torch.bfloat16 if cfg["precision"] == "bf16" else torch.float32
    torch.manual_seed(cfg["seed"])
    model = build_model(cfg, torch, transformers, dtype)
    hf_model = model
    if cfg["gradient_checkpointing"]:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
    model.to(device)
    sharded = cfg["sharding"] == "fsdp"
    if world > 1 and sharded:
        from torch.distributed.fsdp import fully_shard

        layers = getattr(getattr(model, "model", model), "layers", [])
        for layer in layers:
            fully_shard(layer)
        fully_shard(model)
    elif world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    model.train()
    opt = torch.optim.AdamW(
        model.parameters(),
        lr=cfg["learning_rate"],
        betas=tuple(cfg["betas"]),
        eps=cfg["eps"],
        weight_decay=cfg["weight_decay"],
    )
    rows = read_rows(cfg["data"])
    pad = cfg["pad_token_id"]
    out_dir = cfg["out_dir"]
    start_step = 0
    ckpt = latest_checkpoint(out_dir) if cfg["resume"] else None
    if ckpt is not None:
        state = torch.load(os.path.join(ckpt, "state.pt"), map_location="cpu", weights_only=False)
        inner = model.module if hasattr(model, "module") else model
        if world > 1 and sharded:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                set_model_state_dict,
            )

            set_model_state_dict(
                model, state["model"], options=StateDictOptions(full_state_dict=True)
            )
        else:
            inner.load_state_dict(state["model"])
        if world == 1 or not sharded:
            opt.load_state_dict(state["optimizer"])
        start_step = state["step"]
        if rank == 0:
            event("resumed", step=start_step, checkpoint=ckpt)

    total = cfg["optimizer_steps"]
    t0 = time.time()
    tokens_seen = 0
    step = 0
    for epoch, _, batch in global_batches(cfg, len(rows)):
        step += 1
        if step <= start_step:
            continue  # the data order is a function of (seed, epoch): skip what was trained
        mine = batch[rank::world]
        n_trained = sum(sum(rows[i][1][1:]) for i in batch)
        n_tokens = sum(len(rows[i][0]) for i in batch)
        lr = cfg["learning_rate"] * lr_factor(cfg, step - 1)
        for group in opt.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=device, dtype=torch.float32)
        micro = cfg["micro_batch"]
        chunks = [mine[i : i + micro] for i in range(0, len(mine), micro)] or [[]]
        for chunk in chunks:
            if not chunk:
                # a device without rows in the last, smaller batch still joins the collectives
                chunk_ids = torch.full((1, 2), pad, dtype=torch.long, device=device)
                chunk_labels = torch.full((1, 2), -100, dtype=torch.long, device=device)
                chunk_attn = torch.ones((1, 2), dtype=torch.long, device=device)
                weight = 0.0
            else:
                width = max(len(rows[i][0]) for i in chunk)
                ids, labels, attn = [], [], []
                for i in chunk:
                    x, m = rows[i]
                    padn = width - len(x)
                    ids.append(x + [pad] * padn)
                    labels.append([t if mk else -100 for t, mk in zip(x, m)] + [-100] * padn)
                    attn.append([1] * len(x) + [0] * padn)
                chunk_ids = torch.tensor(ids, dtype=torch.long, device=device)
                chunk_labels = torch.tensor(labels, dtype=torch.long, device=device)
                chunk_attn = torch.tensor(attn, dtype=torch.long, device=device)
                weight = 1.0
            logits = model(input_ids=chunk_ids, attention_mask=chunk_attn, use_cache=False).logits
            shift_logits = logits[:, :-1, :].float()
            shift_labels = chunk_labels[:, 1:]
            loss = torch.nn.functional.cross_entropy(
                shift_logits.reshape(-1, shift_logits.size(-1)),
                shift_labels.reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            loss = loss * weight
            # DDP and FSDP average gradients over devices: scale by world / global count so the
            # result is the sum over the global batch divided by its trained tokens
            (loss * world / max(n_trained, 1)).backward()
            loss_sum += loss.detach()
        if world > 1:
            torch.distributed.all_reduce(loss_sum)
        if cfg["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["max_grad_norm"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        tokens_seen += n_tokens
        mean_loss = loss_sum.item() / max(n_trained, 1)
        if rank == 0:
            elapsed = time.time() - t0
            done = step - start_step
            event(
                "step",
                step=step,
                total_steps=total,
                epoch=epoch + (step - epoch * cfg["steps_per_epoch"]) / cfg["steps_per_epoch"],
                loss=mean_loss,
                lr=lr,
                tokens=n_tokens,
                trained_tokens=n_trained,
                tokens_per_second=tokens_seen / elapsed if elapsed > 0 else None,
                eta_seconds=(total - step) * elapsed / done if done else None,
            )
        every = cfg["save_every_steps"]
        if every and step % every == 0 and step < total:
            state = full_state_dict(torch, model, world, sharded)
            if rank == 0:
                path = os.path.join(out_dir, "checkpoints", f"step-{step}")
                os.makedirs(path, exist_ok=True)
                opt_state = opt.state_dict() if (world == 1 or not sharded) else None
                tmp = os.path.join(path, "state.pt.tmp")
                torch.save({"model": state, "optimizer": opt_state, "step": step}, tmp)
                os.replace(tmp, os.path.join(path, "state.pt"))
                event("checkpoint", step=step, path=path)
    final = os.path.join(out_dir, "final")
    state = full_state_dict(torch, model, world, sharded)
    save_hf(torch, model, hf_model, state, final, rank)
    if rank == 0:
        event("done", steps=step, checkpoint=final, seconds=time.time() - t0)
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="the launch config (JSON) valley wrote")
    args = p.parse_args()
    with open(args.config, encoding="utf-8") as f:
        cfg = json.load(f)
    train_loop(cfg, args)


if __name__ == "__main__":
    main()

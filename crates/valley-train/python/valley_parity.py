"""Runs an engine's own preprocessing on valley's rows and writes what the engine would train on.

    python valley_parity.py trl       --tokens VALLEY.jsonl --config trl.json       --out E.jsonl
    python valley_parity.py torchtune --tokens VALLEY.jsonl --config torchtune.yaml --out E.jsonl
    python valley_parity.py llama-factory --tokens VALLEY.jsonl --config llama-factory.yaml \
        --tokenizer DIR --out E.jsonl
    python valley_parity.py axolotl --tokens VALLEY.jsonl --config axolotl.yaml \
        --tokenizer DIR [--model DIR] --out E.jsonl
    python valley_parity.py torchtune-template --traces TRACES.jsonl --tokenizer DIR \
        --max-seq-len N [--system S] [--train-on-input] --out E.jsonl

VALLEY.jsonl holds valley's rows (`id`, `input_ids`, `loss_mask`), as `valley train` hands them
to the engine. The engine's code prepares them exactly as it does in training (TRL:
`SFTTrainer._prepare_dataset` with the run's `SFTConfig`, then its `DataCollatorForLanguageModeling`;
torchtune: the config's tokenizer and dataset components, then `padded_collate_sft`;
LLaMA-Factory: `get_train_args` on the run's YAML, `load_tokenizer`, `get_template_and_fix_tokenizer`,
`get_dataset` on the converted `tokenized_path`, then `SFTDataCollatorWith4DAttentionMask` built as
`run_sft` builds it, padding to a multiple of 8; axolotl: `load_cfg` (its validation and
normalisation) and `load_datasets` on the converted JSONL, then the collator its trainer builder
picks for the config, padding to a multiple of 64). Each output
row holds the engine's `input_ids` and `loss_mask` (1 where its label is not -100); a row the
engine dropped is missing. valley compares the two files token for token.

`torchtune-template` checks valley's rendering in torchtune's format (`data.template =
"torchtune"`) against torchtune's own tokenizer: TRACES.jsonl holds the raw traces (`id`,
`question`, `response`), which torchtune's `chat_dataset` (OpenAI-style messages, its
`OpenAIToMessages` transform and `SFTTransform` labels) tokenizes with
`qwen2_5_tokenizer(vocab.json, merges.txt)` (both written from the folder's tokenizer.json) or
`llama3_tokenizer(tokenizer.model)` (Meta's tiktoken file in the folder), at `max_seq_len` N,
then `padded_collate_sft`.
"""

import argparse
import json
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def trl_rows(rows, config_path):
    import types

    import datasets
    import trl
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    with open(config_path, encoding="utf-8") as f:
        launch = json.load(f)
    kwargs = dict(launch["trl"])
    # device and precision do not touch the data; the check runs on the CPU
    kwargs.update(bf16=False, use_cpu=True, gradient_checkpointing=False, shuffle_dataset=False)
    kwargs["dataset_num_proc"] = None
    args = trl.SFTConfig(**kwargs)
    ds = datasets.Dataset.from_dict(
        {
            "id": [r["id"] for r in rows],
            "input_ids": [r["input_ids"] for r in rows],
            "completion_mask": [r["loss_mask"] for r in rows],
        }
    )
    # the parts of SFTTrainer that _prepare_dataset reads, without building a model
    fake = types.SimpleNamespace(
        completion_only_loss=args.completion_only_loss,
        chat_template=None,
        _is_vision_dataset=False,
    )
    prepared = trl.SFTTrainer._prepare_dataset(fake, ds, None, args, args.packing, None, "train")
    collator = DataCollatorForLanguageModeling(pad_token_id=launch["pad_token_id"])
    for ex in prepared:
        batch = collator([{"input_ids": ex["input_ids"], "labels": ex["labels"]}])
        ids = batch["input_ids"][0].tolist()
        labels = batch["labels"][0].tolist()
        yield {"id": ex["id"], "input_ids": ids, "loss_mask": [int(l != -100) for l in labels]}


def torchtune_rows(rows, config_path, tokens_path):
    from omegaconf import OmegaConf
    from torchtune import config
    from torchtune.data import padded_collate_sft

    cfg = OmegaConf.load(config_path)
    cfg.dataset.path = tokens_path
    tokenizer = config.instantiate(cfg.tokenizer)
    ds = config.instantiate(cfg.dataset, tokenizer)
    for i, r in enumerate(rows):
        batch = padded_collate_sft([ds[i]], padding_idx=tokenizer.pad_id, ignore_idx=-100)
        ids = batch["tokens"][0].tolist()
        labels = batch["labels"][0].tolist()
        yield {"id": r["id"], "input_ids": ids, "loss_mask": [int(l != -100) for l in labels]}


def _text_only_torchaudio():
    """LLaMA-Factory imports torchaudio at module level, for audio inputs only. PyPI's newest
    torchaudio (2.11) refuses to load beside torch 2.15, and setup therefore leaves it out; the
    text path never calls it, so an empty module stands in (never in training launches)."""
    import importlib.machinery
    import importlib.util
    import types

    if importlib.util.find_spec("torchaudio") is None:
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        sys.modules["torchaudio"] = stub


def llama_factory_rows(rows, config_path, tokenizer_dir):
    import yaml

    _text_only_torchaudio()
    from llamafactory.data import (
        SFTDataCollatorWith4DAttentionMask,
        get_dataset,
        get_template_and_fix_tokenizer,
    )
    from llamafactory.extras.constants import IGNORE_INDEX
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    with open(config_path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    # Only the tokenizer is loaded (no weights); device and precision do not touch the data.
    cfg.update(model_name_or_path=tokenizer_dir, bf16=False, use_cpu=True)
    cfg["gradient_checkpointing"] = False
    model_args, data_args, training_args, _, _ = get_train_args(cfg)
    tokenizer_module = load_tokenizer(model_args)
    tokenizer = tokenizer_module["tokenizer"]
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    module = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)
    # as run_sft builds it; `model` only adds position ids for multimodal rope, and the
    # attention implementation only matters with block-diagonal (packed) attention, off here
    collator = SFTDataCollatorWith4DAttentionMask(
        template=template,
        model=None,
        pad_to_multiple_of=8 if training_args.do_train else None,
        label_pad_token_id=IGNORE_INDEX if data_args.ignore_pad_token_for_loss else tokenizer.pad_token_id,
        block_diag_attn=model_args.block_diag_attn,
        neat_packing=data_args.neat_packing,
        attn_implementation=None,
        compute_dtype=model_args.compute_dtype,
        **tokenizer_module,
    )
    train = module["train_dataset"]
    if len(train) != len(rows):
        print(f"llama-factory: {len(train)} rows for valley's {len(rows)}", file=sys.stderr)
    for r, ex in zip(rows, train):
        feature = {k: ex[k] for k in ("input_ids", "attention_mask", "labels")}
        yield _unpadded(r, collator([feature]))


def _unpadded(r, batch):
    """The row of a one-row batch, less the padding the collator added: positions attended to
    by nothing and trained on by nothing. Dropped only where that holds, so padding that is
    attended to or trained on shows as a mismatch."""
    ids = batch["input_ids"][0].tolist()
    labels = batch["labels"][0].tolist()
    attn = batch["attention_mask"][0].tolist()
    if all(labels[i] == -100 for i, a in enumerate(attn) if not a):
        keep = [i for i, a in enumerate(attn) if a]
        ids = [ids[i] for i in keep]
        labels = [labels[i] for i in keep]
    return {"id": r["id"], "input_ids": ids, "loss_mask": [int(l != -100) for l in labels]}


def _model_dir(model, tokenizer_dir, work):
    """A folder the engine can read the model's config from. The check reads no weights: the
    spec's model folder when it holds a config.json, else the tokenizer's files beside a default
    config of the tokenizer's family (only `model_type` is read from it)."""
    import os

    if model and os.path.isfile(os.path.join(model, "config.json")):
        return model
    import transformers

    stub = os.path.join(work, "model-config-only")
    os.makedirs(stub, exist_ok=True)
    for name in os.listdir(tokenizer_dir):
        dst = os.path.join(stub, name)
        if not os.path.lexists(dst):
            os.symlink(os.path.abspath(os.path.join(tokenizer_dir, name)), dst)
    with open(os.path.join(tokenizer_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        cls = json.load(f).get("tokenizer_class", "")
    config = transformers.Qwen2Config() if "Qwen2" in cls else transformers.LlamaConfig()
    config.save_pretrained(stub)
    return stub


def axolotl_rows(rows, config_path, tokenizer_dir, model, work):
    import os

    os.environ.setdefault("AXOLOTL_DO_NOT_TRACK", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from axolotl.cli.config import load_cfg
    from axolotl.common.datasets import load_datasets
    from axolotl.utils.collators import DataCollatorForSeq2Seq
    from axolotl.loaders import load_tokenizer

    # The data is what it is in training; only where it is cached, how many processes prepare it,
    # and its order (so rows pair up with valley's by position) are the check's own.
    cfg = load_cfg(
        config_path,
        base_model=_model_dir(model, tokenizer_dir, work),
        dataset_prepared_path=os.path.join(work, "axolotl-prepared-check"),
        dataset_num_proc=1,
        shuffle_merged_datasets=False,
    )
    for key in ("sample_packing", "batch_flattening", "processor_type", "plugins", "reward_model"):
        if cfg.get(key):
            raise SystemExit(f"axolotl check: `{key}` is set; the check covers valley's config only")
    train = load_datasets(cfg=cfg).train_dataset
    tokenizer = load_tokenizer(cfg)
    # as HFCausalTrainerBuilder.build_collator builds it for this config
    kwargs = {"padding": True, "return_tensors": "pt"}
    multiple = cfg.get("pad_to_multiple_of") or 64
    if cfg.pad_to_sequence_len:
        kwargs["pad_to_multiple_of"] = multiple * -(-cfg.sequence_len // multiple)
    elif cfg.pad_to_sequence_len is None:
        kwargs["pad_to_multiple_of"] = multiple
    collator = DataCollatorForSeq2Seq(tokenizer, **kwargs)
    if len(train) != len(rows):
        print(f"axolotl: {len(train)} rows for valley's {len(rows)}", file=sys.stderr)
    for r, ex in zip(rows, train):
        feature = {k: ex[k] for k in ("input_ids", "attention_mask", "labels")}
        yield _unpadded(r, collator([feature]))


def torchtune_tokenizer(tokenizer_dir, max_seq_len, work):
    """torchtune's own tokenizer for a valley tokenizer folder: `qwen2_5_tokenizer` on vocab.json
    and merges.txt written into `work` from the folder's tokenizer.json (as the model repositories
    ship them), or `llama3_tokenizer` on the folder's tiktoken `tokenizer.model`."""
    import os

    with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    specials = {t["content"] for t in tok.get("added_tokens", [])}
    if "<|im_start|>" in specials:
        from torchtune.models.qwen2_5 import qwen2_5_tokenizer

        vocab = os.path.join(work, "vocab.json")
        merges = os.path.join(work, "merges.txt")
        with open(vocab, "w", encoding="utf-8") as f:
            json.dump(tok["model"]["vocab"], f, ensure_ascii=False)
        with open(merges, "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            for m in tok["model"]["merges"]:
                f.write((m if isinstance(m, str) else " ".join(m)) + "\n")
        return qwen2_5_tokenizer(path=vocab, merges_file=merges, max_seq_len=max_seq_len)
    if "<|start_header_id|>" in specials:
        from torchtune.models.llama3 import llama3_tokenizer

        path = os.path.join(tokenizer_dir, "tokenizer.model")
        return llama3_tokenizer(path=path, max_seq_len=max_seq_len)
    raise SystemExit(f"{tokenizer_dir}: neither a Qwen2.5 nor a Llama 3 tokenizer")


def torchtune_template_rows(traces_path, tokenizer_dir, max_seq_len, system, train_on_input, work):
    import os

    from torchtune.data import padded_collate_sft
    from torchtune.datasets import chat_dataset

    tokenizer = torchtune_tokenizer(tokenizer_dir, max_seq_len, work)
    traces = read(traces_path)
    messages = os.path.join(work, "messages.jsonl")
    with open(messages, "w", encoding="utf-8") as f:
        for t in traces:
            conv = [{"role": "user", "content": t["question"]},
                    {"role": "assistant", "content": t["response"]}]
            f.write(json.dumps({"messages": conv}) + "\n")
    ds = chat_dataset(
        tokenizer=tokenizer,
        source="json",
        data_files=messages,
        split="train",
        conversation_column="messages",
        conversation_style="openai",
        train_on_input=train_on_input,
        new_system_prompt=system,
    )
    for i, t in enumerate(traces):
        batch = padded_collate_sft([ds[i]], padding_idx=tokenizer.pad_id, ignore_idx=-100)
        ids = batch["tokens"][0].tolist()
        labels = batch["labels"][0].tolist()
        yield {"id": t["id"], "input_ids": ids, "loss_mask": [int(l != -100) for l in labels]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument(
        "engine", choices=["trl", "torchtune", "llama-factory", "axolotl", "torchtune-template"]
    )
    p.add_argument("--tokens")
    p.add_argument("--config")
    p.add_argument("--traces", help="raw traces (torchtune-template)")
    p.add_argument("--max-seq-len", type=int, help="torchtune-template")
    p.add_argument("--system", help="a system prompt before each question (torchtune-template)")
    p.add_argument("--train-on-input", action="store_true", help="torchtune-template")
    p.add_argument("--out", required=True)
    p.add_argument("--tokenizer", help="the tokenizer folder (llama-factory, axolotl)")
    p.add_argument("--model", help="the model folder, read for its config.json only (axolotl)")
    a = p.parse_args()
    if a.engine == "torchtune-template":
        import os

        work = os.path.dirname(os.path.abspath(a.out))
        out = torchtune_template_rows(
            a.traces, a.tokenizer, a.max_seq_len, a.system, a.train_on_input, work
        )
        rows = read(a.traces)
    else:
        rows = read(a.tokens)
    if a.engine == "torchtune-template":
        pass
    elif a.engine == "trl":
        out = trl_rows(rows, a.config)
    elif a.engine == "llama-factory":
        out = llama_factory_rows(rows, a.config, a.tokenizer)
    elif a.engine == "axolotl":
        import os

        out = axolotl_rows(rows, a.config, a.tokenizer, a.model, os.path.dirname(os.path.abspath(a.out)))
    else:
        out = torchtune_rows(rows, a.config, a.tokens)
    n = 0
    with open(a.out, "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")
            n += 1
    print(f"{a.engine}: prepared {n} of {len(rows)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()

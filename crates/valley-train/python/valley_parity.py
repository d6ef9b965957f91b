"""Runs an engine's own preprocessing on valley's rows and writes what the engine would train on.

    python valley_parity.py trl       --tokens VALLEY.jsonl --config trl.json       --out E.jsonl
    python valley_parity.py torchtune --tokens VALLEY.jsonl --config torchtune.yaml --out E.jsonl

VALLEY.jsonl holds valley's rows (`id`, `input_ids`, `loss_mask`), as `valley train` hands them
to the engine. The engine's code prepares them exactly as it does in training (TRL:
`SFTTrainer._prepare_dataset` with the run's `SFTConfig`, then its `DataCollatorForLanguageModeling`;
torchtune: the config's tokenizer and dataset components, then `padded_collate_sft`). Each output
row holds the engine's `input_ids` and `loss_mask` (1 where its label is not -100); a row the
engine dropped is missing. valley compares the two files token for token.
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("engine", choices=["trl", "torchtune"])
    p.add_argument("--tokens", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    rows = read(a.tokens)
    if a.engine == "trl":
        out = trl_rows(rows, a.config)
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

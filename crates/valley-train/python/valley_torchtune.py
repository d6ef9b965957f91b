"""torchtune components that hand valley's pre-tokenised rows to torchtune's recipes.

`tokenized_dataset` replaces torchtune's chat datasets (which re-implement each model's chat
template in Python, torchtune#1345): it returns valley's `input_ids` as `tokens` and sets
`labels` to -100 where valley's loss mask is 0, the format `padded_collate_sft` and the recipe's
label shift expect. `PreTokenized` stands in for the recipe's tokenizer, of which the recipe then
only reads `pad_id` and `max_seq_len`.
"""

import json

from torch.utils.data import Dataset

IGNORE = -100


class PreTokenized:
    """The tokenizer the recipe asks for; the rows are already tokenised."""

    def __init__(self, pad_id=0, max_seq_len=None):
        self.pad_id = pad_id
        self.max_seq_len = max_seq_len


class TokenizedDataset(Dataset):
    def __init__(self, path):
        self.rows = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    self.rows.append((r["input_ids"], r["loss_mask"]))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        ids, mask = self.rows[i]
        return {"tokens": list(ids), "labels": [t if m else IGNORE for t, m in zip(ids, mask)]}


def tokenized_dataset(tokenizer, path):
    """The `dataset` component: `tokenizer` is the recipe's, unused."""
    return TokenizedDataset(path)

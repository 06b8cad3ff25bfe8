#!/usr/bin/env python3
"""Start-up reference for bench/peers: the shortest usual Python path from process start to
one sentence embedding on disk — import transformers, load the model (eager attention),
tokenize, forward, mean-pool over real tokens, L2-normalise (the sentence-transformers
recipe of all-MiniLM-L6-v2), np.save [n, hidden] float32. Everything imported is timed.
"""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--input", required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--threads", type=int, default=0)
args = parser.parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402

if args.threads:
    torch.set_num_threads(args.threads)
with open(args.input, encoding="utf-8") as f:
    texts = [line.rstrip("\r\n").split("\t")[0] for line in f if line.strip()]
tokenizer = AutoTokenizer.from_pretrained(args.model)
model = AutoModel.from_pretrained(args.model, attn_implementation="eager").eval()
batch = tokenizer(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
with torch.inference_mode():
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
np.save(args.out, pooled.numpy().astype(np.float32))

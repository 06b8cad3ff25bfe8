#!/usr/bin/env python3
"""Reference numbers for `bertscope clusters` (Clark et al. 2019 §6: Jensen-Shannon distances
between all attention heads and their classical MDS), computed from Hugging Face transformers'
eager attention maps.

Nothing here uses BertScope code; the definition, written out from the README:

  heads     k = layer * heads + head over ALL layers (0-based); every unordered pair a < b.
  smoothing A~ = 0.999 * A + 0.001 / n per map, n = the text's length L (specials included).
  distance  d(a, b) = sum over texts, sum over query rows i of JS(A~_a[i,:], A~_b[i,:]),
            JS(p, q) = 0.5 KL(p || m) + 0.5 KL(q || m), m = (p + q) / 2, natural log (nats),
            computed here directly from the KL form in float64 (not through entropies).
  rows      sum of L over the texts; the mean per token is d / rows.
  MDS       B = -0.5 J D2 J with D = d / rows, D2 its element-wise square, J = I - 11'/n;
            numpy.linalg.eigh; the two largest eigenvalues.

Texts: Tests/Fixtures/goldens/clusters/texts.txt (written by this script from TEXTS below; one
text per line, a TAB separates a pair). Each text is encoded alone, no padding: `tok(text)` or
`tok(text, pair)` with truncation to the model's maximum, `model(**enc, output_attentions=True)`.

Writes Tests/Fixtures/goldens/clusters/<model>/ for <model> in {tiny, minilm}:

  head_distances.csv  layer_a,head_a,layer_b,head_b,js   (1-based; js = d(a, b), 9 decimals)
  summary.json        texts, rows, eigenvalues (2, of the mean per token), model, transformers

Not a CI dependency. Environment (Python 3.11):
    python3.11 -m venv /tmp/pyref/venv
    /tmp/pyref/venv/bin/pip install 'transformers==5.24.0' 'tokenizers==0.23.3' torch \
        safetensors numpy
all-MiniLM-L6-v2 as installed by scripts/setup (~/.local/share/bertscope/models/all-MiniLM-L6-v2,
or --minilm-dir); tiny-bert is Tests/Fixtures/tiny-bert. Nothing is downloaded. Run from the
repository root:
    /tmp/pyref/venv/bin/python scripts/goldens/make_cluster_goldens.py [--minilm-dir DIR]

Deterministic: torch single-threaded, eval mode, float32, attn_implementation="eager".
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, BertModel

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/goldens/clusters"
DEFAULT_MINILM = Path.home() / ".local/share/bertscope/models/all-MiniLM-L6-v2"
SMOOTHING = 0.001

TEXTS = [
    "The cat sat on the mat.",
    "A dog barked loudly at night.",
    "She reads books, and he writes poems!",
    "Where is the station?",
    "Birds fly south in winter.\tThey return in spring.",
    "Time flies like an arrow; fruit flies like a banana.",
    "I never said that.",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France.",
    "Colourless green ideas sleep furiously.",
]


def js_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """JS of each row pair, float64, from the KL form."""
    m = 0.5 * (p + q)
    return 0.5 * (p * np.log(p / m)).sum(axis=1) + 0.5 * (q * np.log(q / m)).sum(axis=1)


def run(folder: Path, name: str) -> None:
    tok = AutoTokenizer.from_pretrained(folder)
    model = BertModel.from_pretrained(folder, attn_implementation="eager", torch_dtype=torch.float32)
    model.eval()
    layers, heads = model.config.num_hidden_layers, model.config.num_attention_heads
    count = layers * heads
    d = np.zeros((count, count), dtype=np.float64)
    rows = 0
    maximum = min(tok.model_max_length, model.config.max_position_embeddings)
    for line in TEXTS:
        fields = line.split("\t")
        enc = tok(fields[0], fields[1] if len(fields) > 1 else None, truncation=True, max_length=maximum,
                  return_tensors="pt")
        with torch.no_grad():
            out = model(**enc, output_attentions=True)
        maps = np.stack([a[0].numpy() for a in out.attentions]).astype(np.float64)  # [layers, heads, L, L]
        n = maps.shape[-1]
        rows += n
        smoothed = (1 - SMOOTHING) * maps.reshape(count, n, n) + SMOOTHING / n
        for a in range(count):
            for b in range(a + 1, count):
                d[a, b] += js_rows(smoothed[a], smoothed[b]).sum()
    d = d + d.T
    folder_out = OUT / name
    folder_out.mkdir(parents=True, exist_ok=True)
    with open(folder_out / "head_distances.csv", "w") as f:
        f.write("layer_a,head_a,layer_b,head_b,js\n")
        for a in range(count):
            for b in range(a + 1, count):
                f.write(f"{a // heads + 1},{a % heads + 1},{b // heads + 1},{b % heads + 1},{d[a, b]:.9f}\n")
    mean = d / rows
    j = np.eye(count) - np.ones((count, count)) / count
    bmat = -0.5 * j @ (mean**2) @ j
    values = np.linalg.eigvalsh(bmat)[::-1]
    summary = {
        "texts": len(TEXTS),
        "rows": rows,
        "eigenvalues": [float(values[0]), float(values[1])],
        "model": name,
        "transformers": transformers.__version__,
    }
    (folder_out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{name}: {len(TEXTS)} texts, {rows} rows, {count} heads -> {folder_out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minilm-dir", type=Path, default=DEFAULT_MINILM)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "texts.txt").write_text("\n".join(TEXTS) + "\n")
    run(ROOT / "Tests/Fixtures/tiny-bert", "tiny")
    run(args.minilm_dir, "minilm")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Golden files for the BertScope encoder tests.

Writes, under Tests/Fixtures/ (see Tests/Fixtures/README.md for the layout):

  tiny-bert/            a tiny random-weight BERT (2 layers, hidden 32, 4 heads), F32
  tiny-bert-f16/        the same weights stored as F16
  tiny-bert-bf16/       the same weights stored as BF16
  tiny-bert-prefixed/   the same F32 weights named the old way (`bert.` prefix,
                        LayerNorm gamma/beta, I64 position_ids) plus a random
                        2-label classifier head (BertForSequenceClassification)
  goldens/<model>/<case>/   inputs and reference outputs (NumPy .npy + case.json)

Reference outputs come from Hugging Face `transformers` (eager attention,
output_attentions=True, float32, eval mode).  Every case is also recomputed by a
small float64 re-implementation of BERT in this script; the difference is
recorded in case.json ("float64_check") so a test knows how much float32 noise
the goldens themselves carry.

This script is a developer tool, not a CI dependency.  Make a throwaway venv:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch transformers safetensors numpy

and run it from the repository root:

    /tmp/venv/bin/python scripts/goldens/make_encoder_goldens.py \
        [--minilm-dir DIR] [--out Tests/Fixtures] [--skip-minilm]

The real model (sentence-transformers/all-MiniLM-L6-v2) is read from --minilm-dir,
else $BERTSCOPE_MINILM_DIR, else ~/.local/share/bertscope/models/all-MiniLM-L6-v2.
Nothing is downloaded.  Output is deterministic for a given torch/transformers
version (fixed seeds; torch runs single-threaded).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.torch import save_file
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MINILM = Path.home() / ".local/share/bertscope/models/all-MiniLM-L6-v2"

VERSIONS = {
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "numpy": np.__version__,
}

# --------------------------------------------------------------------------
# Inputs.  A "sequence" is a list of one text (single) or two texts (pair).
# --------------------------------------------------------------------------

TINY_CASES = {
    "single": [["The quick brown fox jumps over the lazy dog!"]],
    "pair": [["Where is the cat?", "It was in the house, on the bed."]],
    # Longer than 64 tokens before truncation; truncated to exactly 64.
    "max64": [[
        "In the beginning the small model could only read sixty four pieces at a "
        "time, so every longer story had to be cut, and nobody knew which words "
        "would be lost at the end of the line when the reader stopped."
    ]],
    # Padded batch: different lengths, one pair, accents / [UNK] / digits.
    "batch": [
        ["Hello, world."],
        ["Is this a pair?", "Yes, it is."],
        ["Café au lait ☃ costs $3.50 — naïve RÉSUMÉ!"],
        ["A longer sentence that the tokenizer must split into many small "
         "pieces."],
    ],
}
TINY_VARIANT_CASES = ("single", "pair")  # goldens for the f16 / bf16 copies
TINY_PREFIXED_CASES = ("single", "pair", "batch")  # with classification logits

LONG_PARAGRAPH = (
    "The old harbour town wakes slowly in winter. Before the sun clears the hills, "
    "the fishing boats are already out beyond the breakwater, and the only sounds "
    "on the quay are gulls, the creak of ropes and the baker's van backing into the "
    "narrow lane behind the church. By nine o'clock the market hall opens its doors. "
    "Farmers from the valley sell apples, cheese and eggs; a woman who has kept the "
    "same stall for forty years weighs potatoes on a brass scale and tells anyone who "
    "will listen that the weather was colder when she was a girl. Children run past "
    "on their way to school, late as always, and the teacher waiting at the gate "
    "pretends not to notice. In the afternoon the wind turns, the boats come back, "
    "and the catch is sorted in crates of ice while buyers argue over the price of "
    "cod. When the lamps come on, the cafés fill with people who have known each "
    "other all their lives, and the talk is of storms, weddings, and the new road "
    "that the council has promised for ten years but never built. "
)

MINILM_CASES = {
    "single": [["The cat sat on the mat and looked out of the window."]],
    "pair": [["A man is playing a guitar.", "Someone is playing an instrument on stage."]],
    "batch": [
        ["Good morning!"],
        ["The weather forecast says it will rain tomorrow afternoon."],
        ["Researchers found that attention heads in BERT often focus on special "
         "tokens such as [CLS] and [SEP]."],
        ["She walked along the quiet river for an hour, thinking about the letter "
         "she had received that morning and whether to answer it."],
    ],
    "long512": [[(LONG_PARAGRAPH * 6).strip()]],
}
LONG_ROWS = [0, 255, 511]  # attention rows kept for the 512-token input ([CLS], middle, last [SEP])


# --------------------------------------------------------------------------
# Tiny model files
# --------------------------------------------------------------------------

def tiny_vocab(real_vocab_path: Path) -> list[str]:
    real = real_vocab_path.read_text(encoding="utf-8").split("\n")
    if real and real[-1] == "":
        real.pop()
    real_set = set(real)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    punct = [chr(c) for c in range(33, 127) if not chr(c).isalnum()]
    singles = punct + [str(d) for d in range(10)] + [chr(c) for c in range(97, 123)]
    vocab += singles
    vocab += ["##" + s for s in singles if "##" + s in real_set]
    # Common words / suffixes in the real model's frequency order (ids >= 1996).
    words, suffixes = [], []
    for tok in real[1996:]:
        if tok.startswith("##"):
            body = tok[2:]
            if len(body) >= 2 and body.isascii() and body.isalpha() and body.islower():
                if len(suffixes) < 100:
                    suffixes.append(tok)
        elif len(tok) >= 2 and tok.isascii() and tok.isalpha() and tok.islower():
            if len(words) < 300:
                words.append(tok)
        if len(words) >= 300 and len(suffixes) >= 100:
            break
    vocab += words + suffixes
    assert len(vocab) == len(set(vocab))
    return vocab


TOKENIZER_CONFIG = {
    "tokenizer_class": "BertTokenizer",
    "do_lower_case": True,
    "do_basic_tokenize": True,
    "never_split": None,
    "strip_accents": None,
    "tokenize_chinese_chars": True,
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "model_max_length": 64,
}


def tiny_config(vocab_size: int) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        type_vocab_size=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        pad_token_id=0,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        initializer_range=0.02,
    )


def spread_init(module: torch.nn.Module, seed: int) -> None:
    """Re-initialise every parameter with a wide spread (default 0.02 init gives
    near-uniform attention).  Deterministic: parameters in state-dict order."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * r)
            elif "LayerNorm.bias" in name:
                p.copy_(0.1 * r)
            else:
                p.copy_(0.2 * r)


def write_tokenizer_files(d: Path, vocab: list[str]) -> None:
    (d / "vocab.txt").write_text("".join(v + "\n" for v in vocab), encoding="utf-8")
    (d / "tokenizer_config.json").write_text(
        json.dumps(TOKENIZER_CONFIG, indent=2) + "\n", encoding="utf-8")


def clean_dir(d: Path) -> None:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)


def strip_config(d: Path, dtype_name: str, extra: dict | None = None) -> None:
    """Rewrite config.json without volatile fields, with the stored dtype."""
    p = d / "config.json"
    cfg = json.loads(p.read_text())
    for k in ("transformers_version", "_name_or_path", "torch_dtype", "dtype"):
        cfg.pop(k, None)
    cfg["torch_dtype"] = dtype_name
    if extra:
        cfg.update(extra)
    p.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def make_tiny_models(fix: Path, minilm_dir: Path) -> dict[str, Path]:
    vocab = tiny_vocab(minilm_dir / "vocab.txt")
    cfg = tiny_config(len(vocab))
    torch.manual_seed(0)
    model = BertModel(cfg)  # with pooler, as save_pretrained of a BertModel
    spread_init(model, seed=0)
    model.eval()

    dirs = {}
    d = fix / "tiny-bert"
    clean_dir(d)
    model.save_pretrained(d, safe_serialization=True)
    strip_config(d, "float32")
    write_tokenizer_files(d, vocab)
    dirs["tiny"] = d

    for tag, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        d = fix / f"tiny-bert-{tag}"
        clean_dir(d)
        m = BertModel(cfg)
        m.load_state_dict(model.state_dict())
        m.to(dt).save_pretrained(d, safe_serialization=True)
        strip_config(d, str(dt).replace("torch.", ""))
        write_tokenizer_files(d, vocab)
        dirs[f"tiny-{tag}"] = d

    # Old-style checkpoint with a classification head.
    d = fix / "tiny-bert-prefixed"
    clean_dir(d)
    ccfg = tiny_config(len(vocab))
    ccfg.num_labels = 2
    ccfg.id2label = {0: "neg", 1: "pos"}
    ccfg.label2id = {"neg": 0, "pos": 1}
    ccfg.architectures = ["BertForSequenceClassification"]
    clf = BertForSequenceClassification(ccfg)
    clf.bert.load_state_dict(model.state_dict())
    spread_init(clf.classifier, seed=1)
    clf.eval()
    tensors = {}
    for k, v in clf.state_dict().items():
        if k.endswith("LayerNorm.weight"):
            k = k[: -len("weight")] + "gamma"
        elif k.endswith("LayerNorm.bias"):
            k = k[: -len("bias")] + "beta"
        tensors[k] = v.detach().clone().contiguous()
    # Old checkpoints carried the position_ids buffer (I64); keep one to test that
    # the loader skips non-float tensors.
    tensors["bert.embeddings.position_ids"] = torch.arange(64, dtype=torch.int64)[None, :]
    assert all(k.startswith("bert.") or k.startswith("classifier.") for k in tensors)
    save_file(dict(sorted(tensors.items())), str(d / "model.safetensors"),
              metadata={"format": "pt"})
    ccfg.save_pretrained(d)
    strip_config(d, "float32")
    write_tokenizer_files(d, vocab)
    dirs["tiny-prefixed"] = d
    return dirs, model, clf


# --------------------------------------------------------------------------
# Independent float64 reference (checks the HF goldens; not written to disk)
# --------------------------------------------------------------------------

def ref_forward64(sd: dict, cfg, ids, segs, mask):
    """Plain BERT in float64 from a BertModel state dict (keys without prefix)."""
    W = {k: v.detach().to(torch.float64) for k, v in sd.items()}
    eps = cfg.layer_norm_eps
    H, nh = cfg.hidden_size, cfg.num_attention_heads
    dh = H // nh
    B, L = ids.shape

    def ln(x, p):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + eps) * W[p + ".weight"] + W[p + ".bias"]

    def lin(x, p):
        return x @ W[p + ".weight"].T + W[p + ".bias"]

    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.position_embeddings.weight"][torch.arange(L)][None]
         + W["embeddings.token_type_embeddings.weight"][segs])
    x = ln(x, "embeddings.LayerNorm")
    keymask = (mask[:, None, None, :] == 0)
    probs = []
    for i in range(cfg.num_hidden_layers):
        p = f"encoder.layer.{i}."

        def heads(t):
            return t.view(B, L, nh, dh).transpose(1, 2)

        q = heads(lin(x, p + "attention.self.query"))
        k = heads(lin(x, p + "attention.self.key"))
        v = heads(lin(x, p + "attention.self.value"))
        s = (q @ k.transpose(-1, -2)) / np.sqrt(dh)
        s = s.masked_fill(keymask, float("-inf"))
        a = torch.softmax(s, dim=-1)
        probs.append(a)
        ctx = (a @ v).transpose(1, 2).reshape(B, L, H)
        x = ln(x + lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        hmid = lin(x, p + "intermediate.dense")
        hmid = 0.5 * hmid * (1.0 + torch.erf(hmid / np.sqrt(2.0)))
        x = ln(x + lin(hmid, p + "output.dense"), p + "output.LayerNorm")
    return x, probs


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

def l2norm(x: np.ndarray) -> np.ndarray:
    n = np.sqrt((x.astype(np.float64) ** 2).sum(-1, keepdims=True))
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


def f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def i32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype="<i4"))


def encode(tok, seqs, max_length):
    firsts = [s[0] for s in seqs]
    seconds = [s[1] if len(s) > 1 else None for s in seqs]
    rows = []
    for a, b in zip(firsts, seconds):
        e = tok(a, b, truncation="longest_first", max_length=max_length)
        rows.append(e)
    maxL = max(len(r["input_ids"]) for r in rows)
    B = len(rows)
    ids = np.zeros((B, maxL), np.int64)
    segs = np.zeros((B, maxL), np.int64)
    mask = np.zeros((B, maxL), np.int64)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = r["input_ids"]
        segs[i, :n] = r["token_type_ids"]
        mask[i, :n] = 1
    # Cross-check with HF's own batch padding.
    enc = tok(firsts, seconds if any(s is not None for s in seconds) else None,
              truncation="longest_first", max_length=max_length, padding=True) \
        if all((s is None) == (seconds[0] is None) for s in seconds) else None
    if enc is not None:
        assert np.array_equal(np.array(enc["input_ids"]), ids)
        assert np.array_equal(np.array(enc["attention_mask"]), mask)
    return ids, segs, mask


def check_legacy_tokenizer(model_dir: Path, seqs, ids, max_length):
    """The slow (pure Python) tokenizer must agree with the fast one."""
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
    slow = BertTokenizerLegacy(vocab_file=str(model_dir / "vocab.txt"), do_lower_case=True,
                               tokenize_chinese_chars=True, strip_accents=None)
    for i, s in enumerate(seqs):
        e = slow(s[0], s[1] if len(s) > 1 else None, truncation="longest_first",
                 max_length=max_length)
        n = len(e["input_ids"])
        assert e["input_ids"] == ids[i, :n].tolist(), (s, e["input_ids"], ids[i, :n])


def run_case(name, model_key, model_dir, hf_model, sd_for_ref, cfg, tok, seqs,
             out_root, max_length, *, classifier=None, keep_all_hidden=False,
             attention_rows=None, store_attention=True, source_note=""):
    ids, segs, mask = encode(tok, seqs, max_length)
    check_legacy_tokenizer(model_dir, seqs, ids, max_length)
    B, maxL = ids.shape
    lengths = mask.sum(1)
    t_ids, t_segs, t_mask = (torch.from_numpy(a) for a in (ids, segs, mask))
    with torch.no_grad():
        out = hf_model(input_ids=t_ids, token_type_ids=t_segs, attention_mask=t_mask,
                       output_attentions=True, output_hidden_states=True)
    assert out.attentions is not None and len(out.attentions) == cfg.num_hidden_layers
    hidden = out.last_hidden_state.numpy()
    att = torch.stack(out.attentions, 1).numpy()  # [B, layers, heads, maxL, maxL]
    states = torch.stack(out.hidden_states, 1).numpy()  # [B, layers+1, maxL, H]

    # Facts about HF's output that the tests rely on.
    for b in range(B):
        n = lengths[b]
        assert np.all(att[b, :, :, :, n:] == 0.0), "padded keys must get exactly 0"
        rs = att[b, :, :, :n, :n].sum(-1)
        assert np.abs(rs - 1).max() < 1e-5

    # Independent float64 check.
    ref_h, ref_p = ref_forward64(sd_for_ref, cfg, t_ids, t_segs, t_mask)
    ref_h = ref_h.numpy()
    ref_p = torch.stack(ref_p, 1).numpy()
    dh = max(np.abs(hidden[b, :lengths[b]] - ref_h[b, :lengths[b]]).max() for b in range(B))
    dp = max(np.abs(att[b, ..., :lengths[b], :lengths[b]]
                    - ref_p[b, ..., :lengths[b], :lengths[b]]).max() for b in range(B))

    # Batch vs one-at-a-time (padding must not change real tokens' outputs).
    d_single = 0.0
    if B > 1:
        for b in range(B):
            n = lengths[b]
            with torch.no_grad():
                o1 = hf_model(input_ids=t_ids[b:b + 1, :n], token_type_ids=t_segs[b:b + 1, :n],
                              attention_mask=t_mask[b:b + 1, :n], output_attentions=True)
            d_single = max(d_single, float(np.abs(o1.last_hidden_state.numpy()[0] - hidden[b, :n]).max()))

    # Pooled embeddings (sentence-transformers: mean over real tokens, then L2).
    m = mask[:, :, None].astype(np.float32)
    mean = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    mean_pooled = l2norm(mean)
    cls_pooled = l2norm(hidden[:, 0, :])

    d = out_root / model_key / name
    clean_dir(d)
    files = {}

    def save(fname, arr):
        np.save(d / fname, arr)
        files[fname] = {"dtype": arr.dtype.str, "shape": list(arr.shape)}

    save("ids.npy", i32(ids))
    save("segments.npy", i32(segs))
    save("mask.npy", i32(mask))
    save("lengths.npy", i32(lengths))
    for b in range(B):
        n = int(lengths[b])
        save(f"hidden_b{b}.npy", f32(hidden[b, :n]))
        if not store_attention:
            pass
        elif attention_rows is None:
            save(f"attention_b{b}.npy", f32(att[b, :, :, :n, :n]))
        else:
            rows = [r for r in attention_rows if r < n]
            save(f"attention_rows_b{b}.npy", f32(att[b][:, :, rows, :n]))  # [layers, heads, R, L]
            save(f"rows_b{b}.npy", i32(rows))
        if keep_all_hidden:
            save(f"hidden_states_b{b}.npy", f32(states[b, :, :n]))
    save("mean_pooled.npy", mean_pooled)
    save("cls_pooled.npy", cls_pooled)

    logits_info = None
    if classifier is not None:
        with torch.no_grad():
            co = classifier(input_ids=t_ids, token_type_ids=t_segs, attention_mask=t_mask)
            po = classifier.bert(input_ids=t_ids, token_type_ids=t_segs,
                                 attention_mask=t_mask).pooler_output
        save("pooler_output.npy", f32(po.numpy()))
        save("logits.npy", f32(co.logits.numpy()))
        probs = torch.softmax(co.logits, -1).numpy()
        logits_info = [classifier.config.id2label[int(i)] for i in probs.argmax(-1)]

    tokens = [tok.convert_ids_to_tokens(ids[b, :lengths[b]].tolist()) for b in range(B)]
    case = {
        "model": model_key,
        "model_dir": source_note,
        "case": name,
        "texts": seqs,
        "tokenizer": {"max_length": max_length, "truncation": "longest_first",
                      "padding": "longest (right, [PAD] id 0, segment 0, mask 0)"},
        "batch": B,
        "max_len": int(maxL),
        "lengths": [int(x) for x in lengths],
        "tokens": tokens,
        "layers": cfg.num_hidden_layers,
        "heads": cfg.num_attention_heads,
        "hidden": cfg.hidden_size,
        "attention_scaling": f"(Q K^T) * head_dim**-0.5 = {cfg.hidden_size // cfg.num_attention_heads}**-0.5",
        "files": files,
        "float64_check": {"hidden_max_abs_diff": float(dh), "attention_max_abs_diff": float(dp)},
        "batch_vs_single_hidden_max_abs_diff": d_single,
        "versions": VERSIONS,
        "hf": {"class": type(hf_model).__name__, "attn_implementation": "eager",
               "dtype": "float32", "mode": "eval"},
    }
    if attention_rows is not None:
        case["attention_rows"] = list(attention_rows)
    if logits_info is not None:
        case["predicted_labels"] = logits_info
        case["id2label"] = {str(k): v for k, v in classifier.config.id2label.items()}
    (d / "case.json").write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
    print(f"  {model_key}/{name}: B={B} lengths={case['lengths']} "
          f"f64 diff hidden {dh:.2e} attn {dp:.2e} batch-vs-single {d_single:.2e}")
    return case


def load_eager(cls, d: Path):
    m, info = cls.from_pretrained(d, attn_implementation="eager", dtype=torch.float32,
                                  output_loading_info=True)
    m.eval()
    return m, info


def attention_stats(case_dir: Path) -> str:
    """A line about how peaked the maps are (so the test is not on uniform maps)."""
    ents = []
    for f in sorted(case_dir.glob("attention_b*.npy")):
        a = np.load(f).astype(np.float64)
        ents.append((-(a * np.log(np.maximum(a, 1e-30))).sum(-1) / np.log(a.shape[-1])).mean())
    return f"normalised row entropy {np.mean(ents):.3f} (1 = uniform)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minilm-dir", type=Path,
                    default=Path(os.environ.get("BERTSCOPE_MINILM_DIR", DEFAULT_MINILM)))
    ap.add_argument("--out", type=Path, default=REPO / "Tests" / "Fixtures")
    ap.add_argument("--skip-minilm", action="store_true",
                    help="only the tiny models (the vocabulary still comes from --minilm-dir)")
    args = ap.parse_args()
    fix = args.out
    gold = fix / "goldens"
    fix.mkdir(parents=True, exist_ok=True)
    clean_dir(gold)  # stale cases from an earlier run must not linger
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")

    dirs, tiny_model, clf = make_tiny_models(fix, args.minilm_dir)

    # Reload every tiny model from disk the way a user would (checks the files).
    tiny_tok = AutoTokenizer.from_pretrained(dirs["tiny"])
    tiny, info = load_eager(BertModel, dirs["tiny"])
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    sd_tiny = tiny.state_dict()
    for k, v in tiny_model.state_dict().items():
        assert torch.equal(sd_tiny[k], v), k
    cfg = tiny.config
    rel = lambda p: str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)

    print("tiny-bert")
    for name, seqs in TINY_CASES.items():
        run_case(name, "tiny", dirs["tiny"], tiny, sd_tiny, cfg, tiny_tok, seqs, gold, 64,
                 keep_all_hidden=True, source_note=rel(dirs["tiny"]))
    print("  attention:", attention_stats(gold / "tiny" / "batch"))

    for tag, dt in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        m, info = load_eager(BertModel, dirs[f"tiny-{tag}"])
        assert not info["missing_keys"] and not info["unexpected_keys"], info
        sd = m.state_dict()
        for k, v in tiny_model.state_dict().items():
            assert sd[k].dtype == torch.float32, (k, sd[k].dtype)
            assert torch.equal(sd[k], v.to(dt).to(torch.float32)), k  # exact upcast of rounded values
        for name in TINY_VARIANT_CASES:
            run_case(name, f"tiny-{tag}", dirs[f"tiny-{tag}"], m, sd, m.config, tiny_tok,
                     TINY_CASES[name], gold, 64, source_note=rel(dirs[f"tiny-{tag}"]))

    # Prefixed / gamma-beta checkpoint: does HF itself load it?  Compare with the
    # in-memory classifier; the goldens come from the in-memory model (known weights).
    m, info = load_eager(BertForSequenceClassification, dirs["tiny-prefixed"])
    loaded_ok = not info["missing_keys"] and not info["unexpected_keys"]
    same = loaded_ok and all(torch.equal(m.state_dict()[k], v) for k, v in clf.state_dict().items())
    print(f"  HF reload of tiny-bert-prefixed: missing={info['missing_keys']} "
          f"unexpected={info['unexpected_keys']} identical_weights={same}")
    clf.config._attn_implementation = "eager"
    clf.set_attn_implementation("eager")
    for name in TINY_PREFIXED_CASES:
        run_case(name, "tiny-prefixed", dirs["tiny-prefixed"], clf.bert, sd_tiny, cfg, tiny_tok,
                 TINY_CASES[name], gold, 64, classifier=clf, store_attention=False,
                 source_note=rel(dirs["tiny-prefixed"]))

    if not args.skip_minilm:
        md = args.minilm_dir
        print(f"all-MiniLM-L6-v2 from {md}")
        tok = AutoTokenizer.from_pretrained(md)
        mm, info = load_eager(BertModel, md)
        assert not info["missing_keys"], info
        sd = mm.state_dict()
        for name, seqs in MINILM_CASES.items():
            rows = LONG_ROWS if name == "long512" else None
            c = run_case(name, "minilm", md, mm, sd, mm.config, tok, seqs, gold, 512,
                         attention_rows=rows,
                         source_note="sentence-transformers/all-MiniLM-L6-v2 "
                                     "(sha256 53aa5117...d9db)")
            if name == "long512":
                assert c["lengths"] == [512], c["lengths"]
        print("  attention:", attention_stats(gold / "minilm" / "batch"))

    # Size summary.
    print("\nsizes:")
    total = 0
    for p in sorted(fix.iterdir()):
        if p.is_dir():
            subs = [p] if p.name != "goldens" else sorted(q for q in p.iterdir() if q.is_dir())
            for s in subs:
                n = sum(f.stat().st_size for f in s.rglob("*") if f.is_file())
                total += n
                print(f"  {n / 1024:9.1f} KiB  {s.relative_to(fix)}")
    print(f"  {total / 1024:9.1f} KiB  total (Tests/Fixtures, without README)")


if __name__ == "__main__":
    sys.exit(main())

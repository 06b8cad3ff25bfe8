#!/usr/bin/env python3
"""Reference numbers for `bertscope linguistic` (word-level attention features and
dependency-head accuracy, Clark et al. 2019), computed from Hugging Face transformers.

Nothing here uses BertScope code: the CoNLL-U reader, the alignment, the word-level maps and
every statistic are written out below from the definitions that the Swift code follows:

  CoNLL-U   a sentence ends at a blank line (empty or only spaces/tabs) or at the end of the
            file; `#` lines are comments; other lines have exactly 10 TAB-separated fields;
            `a-b` (range) and `a.b` (empty node) lines are skipped; integer IDs are the words,
            numbered 1, 2, 3, ...; HEAD 0...n or `_`; DEPREL as written (`_` = unknown); a
            sentence without words is ignored.
  alignment `enc = tok(words, is_split_into_words=True)`, `enc.word_ids()` (the fast tokenizer
            of AutoTokenizer.from_pretrained(folder)); word-level positions 0 = [CLS], 1...n the
            words, n+1 = [SEP]. Skipped: n_pieces + 2 > min(model_max_length,
            max_position_embeddings) (`skipped_long`, checked first), else some word without
            a piece (`skipped_unaligned`).
  maps      one sentence at a time, no padding: `model(ids, token_type_ids, attention_mask,
            output_attentions=True)`; W[a][b] = mean over the pieces t of a of the sum over the
            pieces s of b of A[t][s], in float64 from the float32 maps. Self-check: every row
            of every W sums to 1 within 1e-5.
  features  noun {NOUN, PROPN}, verb {VERB, AUX}, pronoun PRON, subject {nsubj, nsubj:pass,
            nsubjpass, csubj, csubj:pass, csubjpass, agent, expl}, object {obj, dobj, iobj,
            dative, attr, oprd}, negation (FORM lower-cased, U+2019 -> ') in NEGATION below,
            cls (position 0), sep (position n+1). Column mean c[b] = mean over all n+2 rows
            of W[a][b]; sentence score = max of c over the targets (features.csv) or max of
            W[0] over the targets (cls_features.csv); the value = mean of the sentence scores
            over the sentences with at least one target. Rows: layer, head, feature order.
  arcs      word i with integer HEAD h in 1...n and DEPREL != `_`; pred(x) = argmax over
            j in 1...n, j != x of W[x][j], lowest j on ties; dependent-to-head correct when
            pred(i) == h, head-to-dependent when pred(h) == i; near tie: best minus second
            best in the row used < 1e-6 (no second candidate: no tie); baseline offsets
            k in -5...-1, 1...5 (d2h: i + k == h; h2d: h + k == i), best = most correct, then
            smallest |k|, then negative; best head = most correct, then lowest layer, head.
            Relations by count descending, then name (UTF-8 bytes); directions d2h, h2d.

Writes Tests/Fixtures/goldens/linguistic/<model>/<stem>/ for <model> in {minilm, tiny} and
<stem> in {sample, edge} (Tests/Fixtures/linguistic/<stem>.conllu):

  features.csv          layer,head,feature,score              (layer, head 1-based; 9 decimals)
  cls_features.csv      layer,head,feature,score
  dependencies.csv      relation,direction,count,layer,head,accuracy,correct,ties
  dependency_best.csv   relation,direction,count,best_layer,best_head,accuracy,
                        baseline_offset,baseline_accuracy
  summary.json          sentences, skipped_long, skipped_unaligned, words, tokens (with the
                        specials), arcs (all in the sentences used), model, transformers

With --make-sample it first (re)writes Tests/Fixtures/linguistic/sample.conllu from
samples/wordnet-sentences.conllu (made by scripts/conllu/tag): sentences 1-40, then for each
item of SAMPLE_WANTED in order, unless a sentence already taken has it, the first sentence
after 40 that has it, then the longest remaining ones (lowest sent_id first) up to 60; the
sentence blocks are copied verbatim, in sent_id order.

Not a CI dependency. Environment (Python 3.11):
    python3.11 -m venv /tmp/pyref/venv
    /tmp/pyref/venv/bin/pip install 'transformers==5.24.0' 'tokenizers==0.23.3' torch \
        safetensors numpy
(made with torch 2.15.0, numpy 2.4.6). all-MiniLM-L6-v2 as installed by scripts/setup
(~/.local/share/bertscope/models/all-MiniLM-L6-v2, or --minilm-dir); tiny-bert is
Tests/Fixtures/tiny-bert. Nothing is downloaded. Run from the repository root:
    /tmp/pyref/venv/bin/python scripts/goldens/make_linguistic_goldens.py [--make-sample] \
        [--minilm-dir DIR]

Deterministic: torch single-threaded, eval mode, float32, attn_implementation="eager".
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import logging
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer, BertModel

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
logging.getLogger("transformers").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FIX = REPO / "Tests" / "Fixtures"
LING = FIX / "linguistic"
OUT = FIX / "goldens" / "linguistic"
DEFAULT_MINILM = Path.home() / ".local/share/bertscope/models/all-MiniLM-L6-v2"
CORPUS_CONLLU = REPO / "samples" / "wordnet-sentences.conllu"

FEATURES = ["noun", "verb", "pronoun", "subject", "object", "negation", "cls", "sep"]
SUBJECT = {"nsubj", "nsubj:pass", "nsubjpass", "csubj", "csubj:pass", "csubjpass", "agent", "expl"}
OBJECT = {"obj", "dobj", "iobj", "dative", "attr", "oprd"}
NEGATION = {"neither", "nor", "not", "never", "none", "don't", "won't", "didn't", "hadn't",
            "haven't", "can't", "isn't", "wasn't", "shouldn't", "couldn't", "nothing",
            "nowhere", "n't"}
DIRECTIONS = ["dependent-to-head", "head-to-dependent"]
OFFSETS = [-1, 1, -2, 2, -3, 3, -4, 4, -5, 5]  # tie order: smallest |k|, then negative
TIE_EPS = 1e-6
ROW_SUM_TOL = 1e-5

# --make-sample: what the 20 sentences after 1-40 must bring in (see the header)
SAMPLE_WANTED = [
    "negation:n't", "negation:never", "negation:nothing", "negation:neither", "negation:nor",
    "deprel:agent", "deprel:attr", "deprel:oprd", "deprel:expl", "deprel:csubj",
    "deprel:csubjpass", "deprel:dative", "deprel:acomp", "deprel:acl", "deprel:appos",
    "deprel:nmod", "deprel:nummod", "deprel:quantmod", "deprel:preconj", "deprel:parataxis",
]
SAMPLE_FIRST = 40
SAMPLE_TOTAL = 60


class ConlluError(Exception):
    pass


@dataclass
class Word:
    form: str
    upos: str
    head: int | None  # None = `_`
    deprel: str


@dataclass
class Sentence:
    line: int  # line number of its first line (1-based)
    words: list[Word] = field(default_factory=list)


def read_conllu(path: Path) -> list[Sentence]:
    """The spec's CoNLL-U reading (errors as 'FILE:LINE: ...')."""
    sentences: list[Sentence] = []
    cur: Sentence | None = None
    pending_heads: list[tuple[int, str]] = []  # (line number, HEAD text) of cur's words

    def close():
        nonlocal cur, pending_heads
        if cur is not None and cur.words:
            n = len(cur.words)
            for w, (ln, htext) in zip(cur.words, pending_heads):
                if htext == "_":
                    w.head = None
                else:
                    if not htext.isdigit() or not htext.isascii():
                        raise ConlluError(f"{path}:{ln}: HEAD {htext!r} is not an integer or _")
                    h = int(htext)
                    if h > n:
                        raise ConlluError(f"{path}:{ln}: HEAD {h} > {n} words")
                    w.head = h
            sentences.append(cur)
        cur, pending_heads = None, []

    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for ln, line in enumerate(lines, start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip(" \t") == "":
            close()
            continue
        if cur is None:
            cur = Sentence(line=ln)
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise ConlluError(f"{path}:{ln}: {len(cols)} fields, expected 10")
        wid = cols[0]
        if "-" in wid or "." in wid:
            continue
        if not (wid.isascii() and wid.isdigit()) or int(wid) != len(cur.words) + 1:
            raise ConlluError(f"{path}:{ln}: word ID {wid!r}, expected {len(cur.words) + 1}")
        if cols[1] == "":
            raise ConlluError(f"{path}:{ln}: empty FORM")
        cur.words.append(Word(form=cols[1], upos=cols[3], head=None, deprel=cols[7]))
        pending_heads.append((ln, cols[6]))
    close()
    return sentences


def targets(sent: Sentence) -> dict[str, list[int]]:
    """Word-level positions (1...n, 0 = CLS, n+1 = SEP) of each feature."""
    n = len(sent.words)
    t: dict[str, list[int]] = {f: [] for f in FEATURES}
    for i, w in enumerate(sent.words, start=1):
        if w.upos in ("NOUN", "PROPN"):
            t["noun"].append(i)
        if w.upos in ("VERB", "AUX"):
            t["verb"].append(i)
        if w.upos == "PRON":
            t["pronoun"].append(i)
        if w.deprel in SUBJECT:
            t["subject"].append(i)
        if w.deprel in OBJECT:
            t["object"].append(i)
        if w.form.lower().replace("\u2019", "'") in NEGATION:
            t["negation"].append(i)
    t["cls"] = [0]
    t["sep"] = [n + 1]
    return t


def arcs_of(sent: Sentence) -> list[tuple[int, int, str]]:
    """(dependent i, head h, relation), 1-based."""
    return [(i, w.head, w.deprel) for i, w in enumerate(sent.words, start=1)
            if w.head is not None and w.head >= 1 and w.deprel != "_"]


def word_maps(att: np.ndarray, word_ids: list[int | None], n: int) -> np.ndarray:
    """att [layers, heads, L, L] float64 -> W [layers, heads, n+2, n+2]."""
    L = att.shape[-1]
    assert len(word_ids) == L and word_ids[0] is None and word_ids[-1] is None
    pos = [0] + [wid + 1 for wid in word_ids[1:-1]] + [n + 1]
    assert all(p is not None for p in pos)
    M = np.zeros((L, n + 2), dtype=np.float64)
    M[np.arange(L), pos] = 1.0
    counts = M.sum(axis=0)
    assert (counts > 0).all()
    summed = att @ M                                   # [.., L, n+2]: sum over pieces of b
    W = np.einsum("tb,lhts->lhbs", M, summed) / counts[None, None, :, None]
    return W


@dataclass
class ModelSpec:
    key: str
    folder: Path
    name: str


def compute(spec: ModelSpec, tok, model, conllu: Path) -> dict:
    sentences = read_conllu(conllu)
    cfg = model.config
    layers, heads = cfg.num_hidden_layers, cfg.num_attention_heads
    max_len = min(int(tok.model_max_length), int(cfg.max_position_embeddings))

    feat_sum = np.zeros((len(FEATURES), layers, heads))
    cls_sum = np.zeros((len(FEATURES), layers, heads))
    feat_n = np.zeros(len(FEATURES), dtype=np.int64)
    # relation -> direction -> arrays
    rel_count: dict[str, int] = {}
    rel_correct: dict[str, np.ndarray] = {}   # [2, layers, heads]
    rel_ties: dict[str, np.ndarray] = {}      # [2, layers, heads]
    rel_base: dict[str, np.ndarray] = {}      # [2, len(OFFSETS)]
    summary = {"sentences": 0, "skipped_long": 0, "skipped_unaligned": 0, "words": 0,
               "tokens": 0, "arcs": 0}
    worst_row = 0.0

    for sent in sentences:
        words = [w.form for w in sent.words]
        n = len(words)
        enc = tok(words, is_split_into_words=True)
        ids = enc["input_ids"]
        word_ids = enc.word_ids()
        if len(ids) > max_len:
            summary["skipped_long"] += 1
            continue
        if set(w for w in word_ids if w is not None) != set(range(n)):
            summary["skipped_unaligned"] += 1
            continue
        assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        assert word_ids[0] is None and word_ids[-1] is None
        assert all(w is not None for w in word_ids[1:-1])
        assert word_ids[1:-1] == sorted(word_ids[1:-1])
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]),
                        token_type_ids=torch.tensor([enc["token_type_ids"]]),
                        attention_mask=torch.tensor([enc["attention_mask"]]),
                        output_attentions=True)
        att = torch.stack([a[0] for a in out.attentions]).numpy()  # [layers, heads, L, L] f32
        assert att.dtype == np.float32 and att.shape == (layers, heads, len(ids), len(ids))
        W = word_maps(att.astype(np.float64), word_ids, n)
        dev = float(np.abs(W.sum(axis=-1) - 1.0).max())
        worst_row = max(worst_row, dev)
        if dev > ROW_SUM_TOL:
            raise AssertionError(f"{conllu}:{sent.line}: a word-level row sums to 1 +- {dev:.2e}")

        summary["sentences"] += 1
        summary["words"] += n
        summary["tokens"] += len(ids)

        # features
        colmean = W.mean(axis=2)   # [layers, heads, n+2]: (1/(n+2)) sum over rows a
        clsrow = W[:, :, 0, :]     # [layers, heads, n+2]
        for fi, f in enumerate(FEATURES):
            tg = targets(sent)[f]
            if not tg:
                continue
            feat_n[fi] += 1
            feat_sum[fi] += colmean[:, :, tg].max(axis=-1)
            cls_sum[fi] += clsrow[:, :, tg].max(axis=-1)

        # dependency heads
        arcs = arcs_of(sent)
        summary["arcs"] += len(arcs)
        if not arcs:
            continue
        # word rows 1..n over word columns 1..n, the word itself excluded
        WW = W[:, :, 1:n + 1, 1:n + 1].copy()
        idx = np.arange(n)
        WW[:, :, idx, idx] = -np.inf
        pred = WW.argmax(axis=-1) + 1                 # [layers, heads, n], 1-based, lowest j
        if n >= 3:
            top2 = np.sort(WW, axis=-1)[..., -2:]     # second best, best
            near = (top2[..., 1] - top2[..., 0]) < TIE_EPS
        else:
            near = np.zeros(pred.shape, dtype=bool)   # one candidate: no second best
        for i, h, r in arcs:
            if r not in rel_count:
                rel_count[r] = 0
                rel_correct[r] = np.zeros((2, layers, heads), dtype=np.int64)
                rel_ties[r] = np.zeros((2, layers, heads), dtype=np.int64)
                rel_base[r] = np.zeros((2, len(OFFSETS)), dtype=np.int64)
            rel_count[r] += 1
            rel_correct[r][0] += pred[:, :, i - 1] == h
            rel_correct[r][1] += pred[:, :, h - 1] == i
            rel_ties[r][0] += near[:, :, i - 1]
            rel_ties[r][1] += near[:, :, h - 1]
            for ki, k in enumerate(OFFSETS):
                rel_base[r][0, ki] += (i + k == h)
                rel_base[r][1, ki] += (h + k == i)

    return {
        "layers": layers, "heads": heads, "summary": summary, "worst_row": worst_row,
        "feat_sum": feat_sum, "cls_sum": cls_sum, "feat_n": feat_n,
        "rel_count": rel_count, "rel_correct": rel_correct, "rel_ties": rel_ties,
        "rel_base": rel_base,
    }


def fmt(x: float) -> str:
    return f"{x:.9f}"


def write_outputs(res: dict, spec: ModelSpec, d: Path) -> None:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    layers, heads = res["layers"], res["heads"]

    for fname, sums in (("features.csv", res["feat_sum"]), ("cls_features.csv", res["cls_sum"])):
        rows = ["layer,head,feature,score"]
        for l in range(layers):
            for h in range(heads):
                for fi, f in enumerate(FEATURES):
                    if res["feat_n"][fi] == 0:
                        continue
                    rows.append(f"{l + 1},{h + 1},{f},{fmt(sums[fi, l, h] / res['feat_n'][fi])}")
        (d / fname).write_text("\n".join(rows) + "\n", encoding="utf-8")

    rels = sorted(res["rel_count"], key=lambda r: (-res["rel_count"][r], r.encode("utf-8")))
    for r in rels:
        if any(c in r for c in ',"\n\r'):
            raise ValueError(f"relation {r!r} cannot be written in the CSV")
    dep = ["relation,direction,count,layer,head,accuracy,correct,ties"]
    best = ["relation,direction,count,best_layer,best_head,accuracy,baseline_offset,baseline_accuracy"]
    for r in rels:
        cnt = res["rel_count"][r]
        for di, dname in enumerate(DIRECTIONS):
            corr = res["rel_correct"][r][di]
            ties = res["rel_ties"][r][di]
            bl, bh, bc = 0, 0, -1
            for l in range(layers):
                for h in range(heads):
                    c = int(corr[l, h])
                    dep.append(f"{r},{dname},{cnt},{l + 1},{h + 1},{fmt(c / cnt)},{c},{int(ties[l, h])}")
                    if c > bc:
                        bl, bh, bc = l, h, c
            base = res["rel_base"][r][di]
            bk, bkc = OFFSETS[0], -1
            for ki, k in enumerate(OFFSETS):
                if int(base[ki]) > bkc:
                    bk, bkc = k, int(base[ki])
            best.append(f"{r},{dname},{cnt},{bl + 1},{bh + 1},{fmt(bc / cnt)},{bk},{fmt(bkc / cnt)}")
    (d / "dependencies.csv").write_text("\n".join(dep) + "\n", encoding="utf-8")
    (d / "dependency_best.csv").write_text("\n".join(best) + "\n", encoding="utf-8")

    summary = dict(res["summary"])
    summary["model"] = spec.name
    summary["transformers"] = transformers.__version__
    (d / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- --make-sample

def conllu_blocks(path: Path) -> list[tuple[int, str, list[list[str]]]]:
    """(sent_id, block text, word rows) of a file written by scripts/conllu/tag."""
    out = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if not block.strip():
            continue
        lines = block.strip("\n").split("\n")
        sid = [l for l in lines if l.startswith("# sent_id = ")]
        assert len(sid) == 1, block
        rows = [l.split("\t") for l in lines if not l.startswith("#")]
        out.append((int(sid[0].split("= ", 1)[1]), "\n".join(lines) + "\n", rows))
    return out


def make_sample(src: Path, dst: Path) -> list[int]:
    blocks = conllu_blocks(src)

    def has(rows, item):
        kind, value = item.split(":", 1)
        if kind == "deprel":
            return any(r[7] == value for r in rows)
        return any(r[1].lower().replace("\u2019", "'") == value for r in rows)

    picked = [b for b in blocks if b[0] <= SAMPLE_FIRST]
    assert [b[0] for b in picked] == list(range(1, SAMPLE_FIRST + 1))
    rest = [b for b in blocks if b[0] > SAMPLE_FIRST]
    for item in SAMPLE_WANTED:
        if len(picked) >= SAMPLE_TOTAL:
            break
        if any(has(b[2], item) for b in picked):
            continue
        for b in rest:
            if b not in picked and has(b[2], item):
                picked.append(b)
                break
    for b in sorted(rest, key=lambda b: (-len(b[2]), b[0])):
        if len(picked) >= SAMPLE_TOTAL:
            break
        if b not in picked:
            picked.append(b)
    picked.sort(key=lambda b: b[0])
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(b[1] + "\n" for b in picked), encoding="utf-8")
    return [b[0] for b in picked]


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minilm-dir", type=Path, default=DEFAULT_MINILM)
    ap.add_argument("--make-sample", action="store_true",
                    help="rewrite Tests/Fixtures/linguistic/sample.conllu first")
    args = ap.parse_args()

    if args.make_sample:
        ids = make_sample(CORPUS_CONLLU, LING / "sample.conllu")
        print(f"sample.conllu: {len(ids)} sentences, sent_id {ids}")

    specs = [ModelSpec("minilm", args.minilm_dir, "all-MiniLM-L6-v2"),
             ModelSpec("tiny", FIX / "tiny-bert", "tiny-bert")]
    for spec in specs:
        tok = AutoTokenizer.from_pretrained(spec.folder)
        assert tok.is_fast
        model = BertModel.from_pretrained(spec.folder, attn_implementation="eager",
                                          dtype=torch.float32)
        model.eval()
        for stem in ("sample", "edge"):
            conllu = LING / f"{stem}.conllu"
            res = compute(spec, tok, model, conllu)
            d = OUT / spec.key / stem
            write_outputs(res, spec, d)
            s = res["summary"]
            print(f"{spec.key}/{stem}: {s['sentences']} sentences (skipped long "
                  f"{s['skipped_long']}, unaligned {s['skipped_unaligned']}), {s['words']} words, "
                  f"{s['tokens']} tokens, {s['arcs']} arcs, {len(res['rel_count'])} relations; "
                  f"max |row sum - 1| {res['worst_row']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

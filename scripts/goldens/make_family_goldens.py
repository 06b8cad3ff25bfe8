#!/usr/bin/env python3
"""Reference data for tokenizer.json tokenizers and the RoBERTa / XLM-R / CamemBERT /
DistilBERT / ELECTRA families (issue 13), from Hugging Face transformers + tokenizers.

Writes, under Tests/Fixtures/ (layout and findings: Tests/Fixtures/README.md):

  tokenizers/<name>/tokenizer.json, tokenizer_config.json   as transformers 5 save_pretrained writes them
  tokenizers/<name>/cases.jsonl.gz  golden encodings (>= 300 varied cases; 100 for unigram-bytefallback),
                                    gzipped at the end, with the tokenizer.json files over 200 KB
      <name> = wordpiece            all-MiniLM-L6-v2's tokenizer, loaded with AutoTokenizer, re-saved
               wordpiece-small      a 1000-piece WordPiece trained here (BertTokenizer; the tiny
                                    DistilBERT / ELECTRA / BERT-json models use it)
               bpe                  a byte-level BPE (RoBERTa style) trained here, RobertaTokenizer
               unigram              a sentencepiece Unigram trained here, converted by XLMRobertaTokenizer
               unigram-bytefallback sentencepiece byte_fallback=True, `identity` normalisation; its
                                    cases come from the Rust library on the file (see RawTokenizer)
  tiny-roberta/ tiny-xlm-roberta/ tiny-camembert/ tiny-distilbert/ tiny-electra/ tiny-bert-json/
  tiny-roberta-cls/ tiny-distilbert-cls/ tiny-electra-cls/
                                    tiny random checkpoints (save_pretrained, safetensors F32) with
                                    their tokenizer (tokenizer.json + tokenizer_config.json only)
  goldens/<folder>/<case>/          reference outputs in the format of goldens/tiny/ (see README)
and, when --bench is given,
  bench/results/tokenizers-2026-12-01/rust-tokenizers.json   Rust `tokenizers` speed, one thread

How a golden encoding is made (cases.jsonl / corpus.jsonl), exactly:

    enc = tok(text, pair, truncation=True, max_length=max_length,
              return_offsets_mapping=True, return_special_tokens_mask=True,
              return_token_type_ids=True)
    e = enc.encodings[0]          # the Rust tokenizers.Encoding
    ids, tokens, type_ids, offsets, special_tokens_mask = e.ids, e.tokens, e.type_ids,
                                                          e.offsets, e.special_tokens_mask

where `tok = AutoTokenizer.from_pretrained(<the fixture folder itself>)` (transformers 5: the
tokenizers-backed class; there is no slow tokenizer any more). Every case is also encoded by the
Rust library reading the committed tokenizer.json (`RawTokenizer`) and the two must agree, except
for unigram-bytefallback, where transformers ignores the file's byte_fallback and the Rust
library on the file is the reference. `truncation=True` is
"longest_first". `max_length` is always given (512 unless the case is about truncation).
Offsets are [start, end) in Python str indices (Unicode scalars), relative to the text the
token came from (the second text's tokens count from the second text's start); special tokens
have [0, 0]. `name` is unique, `note` is the category. When the call raises (e.g.
`max_length` smaller than the special tokens of a pair) the line holds `"error": "<message>"`
and null ids/tokens/type_ids/offsets/special_tokens_mask. An empty pair ("") is passed as is;
what transformers does with it is in the cases named "pair empty second" (README).

Not a CI dependency. Environment (Python 3.11):
    python3.11 -m venv /tmp/pyref/venv
    /tmp/pyref/venv/bin/pip install 'transformers==5.24.0' 'tokenizers==0.23.3' torch \
        sentencepiece safetensors numpy protobuf
all-MiniLM-L6-v2 as installed by scripts/setup (~/.local/share/bertscope/models/all-MiniLM-L6-v2,
or --minilm-dir). Nothing is downloaded. Run from the repository root:
    /tmp/pyref/venv/bin/python scripts/goldens/make_family_goldens.py [--minilm-dir DIR] [--bench]

Deterministic: fixed seeds, torch single-threaded, tokenizers and sentencepiece trained on one
thread (RAYON_NUM_THREADS=1), on samples/wordnet-sentences.txt plus the MULTILINGUAL lines below
(written to a temporary directory, not committed).
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before tokenizers is imported
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import copy
import json
import logging
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sentencepiece as spm
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (
    AddedToken,
    AutoTokenizer,
    BertConfig,
    BertModel,
    CamembertConfig,
    CamembertModel,
    DistilBertConfig,
    DistilBertForSequenceClassification,
    DistilBertModel,
    ElectraConfig,
    ElectraForSequenceClassification,
    ElectraModel,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaModel,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_tokenizer_goldens as mtg  # noqa: E402  (case lists shared with the BERT goldens)
from make_encoder_goldens import clean_dir, f32, i32, l2norm, strip_config  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
logging.getLogger("transformers").setLevel(logging.ERROR)

REPO = HERE.parents[1]
FIX = REPO / "Tests" / "Fixtures"
DEFAULT_MINILM = Path.home() / ".local/share/bertscope/models/all-MiniLM-L6-v2"
CORPUS = REPO / "samples" / "wordnet-sentences.txt"
BENCH_DIR = REPO / "bench" / "results" / "tokenizers-2026-12-01"

VERSIONS = {
    "python": platform.python_version(),
    "torch": torch.__version__,
    "transformers": transformers.__version__,
    "tokenizers": tokenizers.__version__,
    "sentencepiece": spm.__version__,
    "numpy": np.__version__,
}

# Added to the training corpus so the trained vocabularies hold some non-ASCII pieces.
MULTILINGUAL = [
    "Où est la bibliothèque ? Ça coûte très cher, n'est-ce pas ?",
    "Café au lait, naïve façade, résumé, crème brûlée.",
    "Straße, Größe, Übermäßig, Mädchen und Jungen.",
    "El niño pidió jalapeños en la montaña. ¿Dónde está?",
    "Não, ação, informação, coração, São Paulo.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Καλημέρα κόσμε! Η γλώσσα μου έδωσαν ελληνική.",
    "我爱自然语言处理。今天天气很好！北京和上海。",
    "日本語のテキストです。カタカナとひらがなと漢字。東京タワー。",
    "안녕하세요 세계! 한국어 텍스트입니다.",
    "مرحبا بالعالم، هذا نص عربي.",
    "שָׁלוֹם עוֹלָם, זה טקסט בעברית.",
    "नमस्ते दुनिया। यह हिंदी पाठ है।",
    "I love 🍕 and 🎉! 👍 😀 ❤️",
    "Zażółć gęślą jaźń, Łódź, Kraków.",
    "Tiếng Việt có dấu: Nguyễn Trãi, Hà Nội, phở bò.",
]

SPECIALS_BERT = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SPECIALS_ROBERTA = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


# --------------------------------------------------------------------------------------------
# Tokenizers


def training_corpus(tmp: Path) -> Path:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    lines += MULTILINGUAL * 3
    p = tmp / "train.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def keep_tokenizer_files(src: Path, dst: Path) -> None:
    """Copy only tokenizer.json and tokenizer_config.json from a save_pretrained folder."""
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(src / f, dst / f)


def save_tokenizer(tok, dst: Path, tmp: Path) -> None:
    out = Path(tempfile.mkdtemp(dir=tmp))
    tok.save_pretrained(out)
    written = sorted(p.name for p in out.iterdir())
    assert "tokenizer.json" in written and "tokenizer_config.json" in written, written
    keep_tokenizer_files(out, dst)
    # tokenizer_config.json: drop the one machine-dependent key, keep the rest as written.
    p = dst / "tokenizer_config.json"
    cfg = json.loads(p.read_text())
    cfg.pop("name_or_path", None)
    p.write_text(json.dumps(cfg, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return written


def make_wordpiece(minilm: Path, tmp: Path) -> Path:
    tok = AutoTokenizer.from_pretrained(minilm, model_max_length=512)
    d = FIX / "tokenizers" / "wordpiece"
    clean_dir(d)
    written = save_tokenizer(tok, d, tmp)
    print(f"  wordpiece: {type(tok).__name__}, {len(tok)} tokens, save_pretrained wrote {written}")
    return d


def make_wordpiece_small(train: Path, tmp: Path) -> Path:
    t = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    t.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=True)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tr = trainers.WordPieceTrainer(vocab_size=1000, special_tokens=SPECIALS_BERT, min_frequency=2,
                                   show_progress=False)
    t.train([str(train)], tr)
    # The trainer's set of pieces is deterministic, its id order is not (hash-map order differs
    # between processes): number them ourselves, specials first, then word starts, then ## pieces,
    # each sorted by code point.
    pieces = set(t.get_vocab()) - set(SPECIALS_BERT)
    vocab = SPECIALS_BERT + sorted(pieces, key=lambda p: (p.startswith("##"), p))
    src = tmp / "wp-small"
    src.mkdir()
    (src / "vocab.txt").write_text("".join(v + "\n" for v in vocab), encoding="utf-8")
    (src / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    tok = AutoTokenizer.from_pretrained(src, do_lower_case=True, model_max_length=512)
    d = FIX / "tokenizers" / "wordpiece-small"
    clean_dir(d)
    written = save_tokenizer(tok, d, tmp)
    print(f"  wordpiece-small: {type(tok).__name__}, {len(tok)} tokens, save_pretrained wrote {written}")
    return d


def mask_lstrip() -> AddedToken:
    """<mask> as roberta-base and xlm-roberta-base declare it (lstrip: a space before it is part
    of the mask). transformers 5's RobertaTokenizer / XLMRobertaTokenizer no longer do this by
    themselves (v4 did), so it is passed in."""
    return AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)


def make_bpe(train: Path, tmp: Path) -> Path:
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=1000, min_frequency=2, special_tokens=SPECIALS_ROBERTA,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    t.train([str(train)], tr)
    assert [t.token_to_id(s) for s in SPECIALS_ROBERTA] == [0, 1, 2, 3, 4]
    src = tmp / "bpe-src"
    src.mkdir()
    t.model.save(str(src))  # vocab.json + merges.txt, as a RoBERTa checkpoint ships them
    (src / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "RobertaTokenizer"}))
    # transformers 5's RobertaTokenizer no longer makes <mask> lstrip by itself (v4 did); the
    # Hub's roberta-base declares it in tokenizer_config.json, so pass it as that file would.
    tok = AutoTokenizer.from_pretrained(src, model_max_length=512, mask_token=mask_lstrip())
    d = FIX / "tokenizers" / "bpe"
    clean_dir(d)
    written = save_tokenizer(tok, d, tmp)
    j = json.loads((d / "tokenizer.json").read_text())
    mask = [a for a in j["added_tokens"] if a["content"] == "<mask>"][0]
    assert mask["lstrip"] is True, mask
    assert j["post_processor"]["type"] == "RobertaProcessing" and j["post_processor"]["trim_offsets"], j["post_processor"]
    assert j["pre_tokenizer"]["type"] == "ByteLevel" and not j["pre_tokenizer"]["add_prefix_space"]
    print(f"  bpe: {type(tok).__name__}, {len(tok)} tokens, save_pretrained wrote {written}")
    return d


def train_spm(train: Path, tmp: Path, byte_fallback: bool) -> Path:
    """unk 0, bos 1, eos 2 as XLM-R's own .model. The byte-fallback variant uses the `identity`
    normalisation rule: no Precompiled charsmap (320 KB of base64 in tokenizer.json), so the
    fixture stays small and tests byte fallback alone."""
    prefix = tmp / f"spm-bf{int(byte_fallback)}"
    spm.SentencePieceTrainer.train(
        input=str(train), model_prefix=str(prefix), vocab_size=1000, model_type="unigram",
        character_coverage=1.0, byte_fallback=byte_fallback, num_threads=1, minloglevel=2,
        normalization_rule_name="identity" if byte_fallback else "nmt_nfkc")
    return prefix.with_suffix(".model")


def make_unigram(train: Path, tmp: Path, byte_fallback: bool) -> Path:
    model = train_spm(train, tmp, byte_fallback)
    src = tmp / f"spm-src-{int(byte_fallback)}"
    src.mkdir()
    shutil.copy(model, src / "sentencepiece.bpe.model")  # XLM-R's file name
    (src / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "XLMRobertaTokenizer"}))
    tok = AutoTokenizer.from_pretrained(src, model_max_length=512, mask_token=mask_lstrip())
    name = "unigram-bytefallback" if byte_fallback else "unigram"
    d = FIX / "tokenizers" / name
    clean_dir(d)
    written = save_tokenizer(tok, d, tmp)
    p = d / "tokenizer.json"
    j = json.loads(p.read_text(encoding="utf-8"))
    if not byte_fallback:
        assert j["normalizer"]["type"] == "Precompiled", j["normalizer"]
    assert j["model"]["type"] == "Unigram"
    assert [a for a in j["added_tokens"] if a["content"] == "<mask>"][0]["lstrip"] is True
    if byte_fallback:
        # transformers 5's XLMRobertaTokenizer ignores the .model's byte_fallback flag (the
        # <0xNN> pieces are in the vocabulary but the Unigram model says byte_fallback false).
        # Switch it on the way the generic SpmConverter does for byte-fallback models: the model
        # flag plus a ByteFallback decoder before the Metaspace one. Written with tokenizers'
        # own serializer so the file is what the Rust library reads back.
        assert j["model"]["byte_fallback"] is False
        t = Tokenizer.from_file(str(p))
        j["model"]["byte_fallback"] = True
        j["decoder"] = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, j["decoder"]]}
        t = Tokenizer.from_str(json.dumps(j))
        t.save(str(p), pretty=True)
        assert json.loads(p.read_text())["model"]["byte_fallback"] is True
    print(f"  {name}: {type(tok).__name__}, {len(tok)} tokens, save_pretrained wrote {written}")
    return d


def pipeline_types(d: Path) -> dict:
    j = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))

    def typ(x):
        if x is None:
            return None
        if x.get("type") == "Sequence":
            inner = x.get("normalizers") or x.get("pretokenizers") or x.get("decoders") or x.get("processors") or []
            return "Sequence[" + ", ".join(typ(i) for i in inner) + "]"
        return x.get("type")

    return {k: typ(j.get(k)) for k in ("normalizer", "pre_tokenizer", "model", "post_processor", "decoder")} | {
        "vocab_size": len(j["model"]["vocab"]) if isinstance(j["model"]["vocab"], (list, dict)) else None,
        "added_tokens": [{k: a[k] for k in ("id", "content", "lstrip", "rstrip", "normalized", "special")}
                         for a in j["added_tokens"]],
    }


# --------------------------------------------------------------------------------------------
# Cases


def extra_single_cases():
    c = []
    add = lambda name, text: c.append((name, text))
    # special tokens of every family written in the text
    for s in ("<mask>", " <mask>", "  <mask>", "<mask> ", "hello <mask> world", "hello<mask>world",
              "hello  <mask>  world", "\t<mask>\n", "[MASK]", " [MASK]", "hello [MASK] world",
              "</s>", "<s>", "<s> hi </s>", "a </s></s> b", "<pad><unk>", "<unk> is unknown",
              "<s>x</s>", "<mask><mask> <mask>", "<MASK> <Mask> < mask >", "<mas k> <mask",
              "[CLS] a [SEP] b [PAD]", "▁ ▁▁ a▁b", "Ġ Ċ ĉ"):
        add(f"special {s!r}", s)
    # whitespace
    for s in (" leading", "  two leading", "trailing ", "trailing  ", " both ", "\tleading tab",
              "a  b   c    d", "a\t\tb", "a\n\nb", "a \n b", "\n\n\n", "\t", "\r\n", " ", "  ",
              "x\u00a0y", "\u00a0lead nbsp", "trail nbsp\u00a0", "a\u2000b\u2001c\u2004d\u2005e\u2006f\u2007g\u2008h",
              "a\u3000b", "\u3000\u3000", "a\u1680b", "a\u205fb\u202fc", "a\u0085b", "a\x1cb\x1dc\x1ed\x1fe"):
        add(f"whitespace {s!r}", s)
    # zero-width and format characters
    for s in ("a\u200bb", "\u200b", "\u200bstart", "end\u200b", "a\u200db", "a\u200cb", "\ufeff",
              "\ufeffhello", "hel\ufefflo", "a\u2060b", "\u200e\u200f", "x\u00ady", "\u061c", "a\u034fb"):
        add(f"zero width {s!r}", s)
    # numbers with separators
    for s in ("1,234,567.89", "1.234.567,89", "1 234 567", "1\u00a0234\u00a0567", "1\u202f234",
              "12'345'678", "0.000001", "-42", "+3.5e-7", "1_000_000", "٣٫١٤", "１２３４", "3½", "10^6",
              "99.9%", "$1,000,000", "2024-12-01T13:45:00Z"):
        add(f"number {s!r}", s)
    # urls and e-mails
    for s in ("https://huggingface.co/FacebookAI/xlm-roberta-base/blob/main/tokenizer.json",
              "www.example.com", "ftp://files.example.org/pub/file-1.2.tar.gz",
              "http://例え.テスト/パス", "https://münchen.de/straße?q=größe",
              "first.last@sub.example.co.uk", "用户@例子.广告", "mailto:someone@example.com?subject=Hi",
              "user:pass@host:8080/path;param?query#frag"):
        add(f"url {s!r}", s)
    # long words
    add("long word 150", "b" * 150)
    add("long word 300 mixed", ("abcdefghij" * 30))
    add("long word cjk 120", "漢" * 120)
    add("long word emoji 60", "😀" * 60)
    add("long word accented 110", "é" * 110)
    add("long word camel", "ThisIsAVeryLongCamelCaseIdentifierThatKeepsGoingAndGoingWithoutAnySpaceAtAllUntilItIsLongerThanOneHundredCharacters")
    # accents / marks / scripts more
    add("nfc vs nfd", "\u00e9 e\u0301 \u00c5 A\u030a \u1e9b\u0323")
    add("nfkc compat", "ｈｅｌｌｏ ｗｏｒｌｄ ① ㈱ ㍻ ﬁ ™ ℌ")
    add("hangul jamo decomposed", "\u1100\u1161\u11a8 \u1112\u1161\u11ab")
    add("arabic presentation forms", "\ufefb \ufdfa \ufe8d\ufe8e")
    add("hebrew mixed ltr", "שלום hello עולם 123")
    add("arabic tatweel", "مـــرحبا")
    add("emoji zwj family", "👩\u200d👩\u200d👦\u200d👦")
    add("emoji skin tones", "👋🏻 👋🏼 👋🏽 👋🏾 👋🏿")
    add("emoji zwj skin", "🧑🏽\u200d💻 👩🏿\u200d🔬")
    add("emoji regional", "🇯🇵🇰🇷🇨🇳")
    add("emoji text", "I ❤️ NY 🗽 and 🍎!")
    return c


def extra_pair_cases():
    p = []
    add = lambda name, a, b: p.append((name, a, b))
    add("pair mask", "The capital is <mask>.", "Paris is the capital.")
    add("pair mask second", "Fill it in:", " <mask> here")
    add("pair eos in text", "a </s> b", "<s> c")
    add("pair spaces", "  lead", "trail  ")
    add("pair nbsp", "a\u00a0b", "\u00a0c")
    add("pair zero width", "\u200b", "\ufeff")
    add("pair empty second space", "first", " ")
    add("pair cjk korean", "東京タワー", "서울 타워")
    add("pair emoji zwj", "👨\u200d👩\u200d👧", "👍🏽")
    add("pair arabic", "مرحبا بالعالم", "שלום עולם")
    return p


RANDOM_RANGES = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF),
    (0x600, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x2000, 0x206F),
    (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xFE00, 0xFE0F), (0xFF00, 0xFFEF),
    (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x0, 0x1F),
]


def random_unicode(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        lo, hi = rng.choice(RANDOM_RANGES)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def random_printable(rng: random.Random, n: int) -> str:
    import string
    return "".join(rng.choice(string.printable) for _ in range(n))


def all_cases(limit: int | None = None):
    """(name, note, text, pair, max_length). Deterministic."""
    rng = random.Random(13_2026_12_01)
    cases = []
    for name, text in mtg.single_cases():
        cases.append((name, "bert-goldens single", text, None, 512))
    for name, text in extra_single_cases():
        cases.append((name, name.split(" ")[0] if not name.startswith("long") else "long word", text, None, 512))
    for name, a, b in mtg.pair_cases() + extra_pair_cases():
        cases.append((name, "pair", a, b, 512))
    for k in range(25):
        cases.append((f"random words {k}", "random words", mtg.random_text(rng, rng.randint(1, 40)), None, 512))
    for k in range(25):
        cases.append((f"random printable {k}", "random printable", random_printable(rng, rng.randint(1, 60)), None, 512))
    for k in range(30):
        cases.append((f"random unicode {k}", "random unicode", random_unicode(rng, rng.randint(1, 40)), None, 512))
    for k in range(10):
        cases.append((f"random unicode pair {k}", "random unicode pair", random_unicode(rng, rng.randint(0, 20)),
                      random_unicode(rng, rng.randint(0, 20)), 512))
    # truncation
    cases.append(("truncate single 128", "truncation", mtg.long_text(rng, 200), None, 128))
    cases.append(("truncate pair first longer 128", "truncation", mtg.long_text(rng, 150), mtg.long_text(rng, 10), 128))
    cases.append(("truncate pair second longer 128", "truncation", mtg.long_text(rng, 8), mtg.long_text(rng, 160), 128))
    cases.append(("truncate pair both long 128", "truncation", mtg.long_text(rng, 100), mtg.long_text(rng, 110), 128))
    short = ["one two three four five six seven eight nine ten",
             "a b c d e f g h i j k l m n o p q r s t u v w x y z",
             "unaffable tokenization",
             "x",
             "",
             "ΟΔΟΣ café 東京 😀"]
    for ml in (16, 10, 7, 5, 4):
        for i, a in enumerate(short):
            cases.append((f"max {ml} single {i}", "truncation", a, None, ml))
            for j, b in enumerate(short):
                if (i + j + ml) % 3 == 0 or (i, j) in ((0, 1), (1, 0), (0, 0), (2, 3)):
                    cases.append((f"max {ml} pair {i} {j}", "truncation pair", a, b, ml))
    for ml in (3, 2, 1):
        cases.append((f"max {ml} single", "truncation too small", "one two three", None, ml))
        cases.append((f"max {ml} pair", "truncation too small", "one two", "three four five", ml))
    cases.append(("max 3 pair empty", "truncation too small", "one", "", 3))
    if limit is not None:
        # a spread-out subset (every k-th case) that keeps the truncation cases
        head = [c for c in cases if not c[1].startswith("truncation")]
        step = max(1, len(head) // limit)
        cases = head[::step][:limit - 25] + [c for c in cases if c[1].startswith("truncation")][:25]
    names = [c[0] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return cases


def encode_case(tok, name, note, text, pair, max_length):
    row = {"name": name, "note": note, "text": text, "pair": pair, "max_length": max_length}
    try:
        enc = tok(text, pair, truncation=True, max_length=max_length, return_offsets_mapping=True,
                  return_special_tokens_mask=True, return_token_type_ids=True)
        e = enc.encodings[0]
        assert list(enc["input_ids"]) == e.ids
        assert [list(o) for o in enc["offset_mapping"]] == [list(o) for o in e.offsets]
        row.update(ids=e.ids, tokens=e.tokens, type_ids=e.type_ids,
                   offsets=[list(o) for o in e.offsets], special_tokens_mask=e.special_tokens_mask)
    except Exception as ex:  # recorded, not fatal
        row.update(ids=None, tokens=None, type_ids=None, offsets=None, special_tokens_mask=None,
                   error=f"{type(ex).__name__}: {ex}")
    return row


class RawTokenizer:
    """The Rust library reading tokenizer.json itself, called like transformers calls it: padding
    and truncation from the file replaced per call, an empty pair ("") dropped as transformers 5
    drops it. Used for unigram-bytefallback, whose byte_fallback flag transformers 5 ignores (its
    XLMRobertaTokenizer rebuilds the Unigram model from the vocabulary with byte_fallback false
    and its own decoder), and to cross-check the other fixtures."""

    def __init__(self, path: Path):
        self.t = Tokenizer.from_file(str(path))
        self.t.no_padding()

    def __call__(self, text, pair, max_length):
        self.t.enable_truncation(max_length, strategy="longest_first")
        return self.t.encode(text, pair) if pair else self.t.encode(text)


def encode_case_raw(raw: RawTokenizer, name, note, text, pair, max_length):
    row = {"name": name, "note": note, "text": text, "pair": pair, "max_length": max_length}
    try:
        e = raw(text, pair, max_length)
        row.update(ids=e.ids, tokens=e.tokens, type_ids=e.type_ids,
                   offsets=[list(o) for o in e.offsets], special_tokens_mask=e.special_tokens_mask)
    except Exception as ex:
        row.update(ids=None, tokens=None, type_ids=None, offsets=None, special_tokens_mask=None,
                   error=f"{type(ex).__name__}: {ex}")
    return row


def write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def gzip_in_place(path: Path) -> None:
    """path -> path.gz, as `gzip -9n` writes it (no name, no time: deterministic). The tests
    read X.gz where X is absent (Tests/BertScopeTests/Support/GzipFixture.swift)."""
    import gzip
    data = path.read_bytes()
    with open(str(path) + ".gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as f:
            f.write(data)
    path.unlink()


def compress_tokenizer_fixtures() -> None:
    """The large text fixtures of tokenizers/ go in gzipped: every cases.jsonl, and the
    tokenizer.json files over 200 KB (MiniLM's WordPiece, the Unigram with its charsmap)."""
    for d in sorted((FIX / "tokenizers").iterdir()):
        for name in ("cases.jsonl", "tokenizer.json"):
            p = d / name
            if p.exists() and (name == "cases.jsonl" or p.stat().st_size > 200_000):
                gzip_in_place(p)


def write_cases(d: Path, limit: int | None = None, corpus: bool = True, rust_reference: bool = False) -> dict:
    tok = AutoTokenizer.from_pretrained(d)
    assert tok.is_fast
    raw = RawTokenizer(d / "tokenizer.json")
    cases = all_cases(limit)
    if rust_reference:
        rows = [encode_case_raw(raw, *c) for c in cases]
        differ = sum(encode_case(tok, *c) != r for c, r in zip(cases, rows))
    else:
        rows = [encode_case(tok, *c) for c in cases]
        differ = sum(encode_case_raw(raw, *c) != r for c, r in zip(cases, rows))
        assert differ == 0, f"{d.name}: the Rust library on tokenizer.json and transformers disagree on {differ} cases"
    write_jsonl(d / "cases.jsonl", rows)
    sents = []  # speed is measured by bench/tokenizers on the whole sample corpus
    errors = [r for r in rows if "error" in r]
    by_name = {r["name"]: r for r in rows}
    facts = {"cases": len(rows), "errors": len(errors), "corpus": len(sents),
             "reference": "tokenizers.Tokenizer.from_file(tokenizer.json)" if rust_reference else "transformers AutoTokenizer",
             "cases_where_the_other_differs": differ,
             "error_cases": {r["name"]: r["error"] for r in errors}}
    for n in ("pair empty second", "pair empty first", "pair both empty", "max 3 pair", "max 2 single",
              "max 1 single", "max 3 pair empty", "special ' <mask>'", "special 'hello <mask> world'"):
        if n in by_name:
            r = by_name[n]
            facts[n] = r.get("error") or {"tokens": r["tokens"], "type_ids": r["type_ids"], "offsets": r["offsets"]}
    print(f"  {d.name}: {len(rows)} cases ({len(errors)} errors, {differ} differ between transformers "
          f"and Rust-on-the-file), {len(sents)} corpus lines, "
          f"{(d / 'cases.jsonl').stat().st_size // 1024} KiB cases")
    return facts


# --------------------------------------------------------------------------------------------
# Speed of the Rust tokenizers library


def bench(dirs: dict[str, Path]) -> dict:
    sents = CORPUS.read_text(encoding="utf-8").splitlines()
    reps = 5  # the corpus (2000 sentences) five times per run
    texts = sents * reps
    cpu = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    res = {"what": "Rust tokenizers (Python binding) encoding samples/wordnet-sentences.txt "
                   f"({len(sents)} sentences) x{reps} per run, add_special_tokens=True; "
                   "tokens = sum of encoding lengths incl. specials; no padding, no truncation; median of 5 runs; "
                   "load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()),
           "env": {"RAYON_NUM_THREADS": os.environ["RAYON_NUM_THREADS"],
                   "TOKENIZERS_PARALLELISM": os.environ["TOKENIZERS_PARALLELISM"]},
           "machine": {"cpu": cpu, "nproc": os.cpu_count(), "platform": platform.platform()},
           "versions": VERSIONS, "results": {}}
    for name, d in dirs.items():
        t = Tokenizer.from_file(str(d / "tokenizer.json"))
        # wordpiece's tokenizer.json carries all-MiniLM's `padding` (Fixed 128) and `truncation`
        # (128); transformers replaces both on every call, so time without them, as it does.
        t.no_padding()
        t.no_truncation()
        ntok = sum(len(e.ids) for e in t.encode_batch(sents)) * reps
        loop, batch = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            for s in texts:
                t.encode(s)
            loop.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            t.encode_batch(texts)
            batch.append(time.perf_counter() - t0)
        ml, mb = statistics.median(loop), statistics.median(batch)
        res["results"][name] = {
            "tokens_per_run": ntok, "texts_per_run": len(texts), "chars_per_run": sum(map(len, texts)),
            "encode_loop_s": [round(x, 4) for x in loop], "encode_batch_s": [round(x, 4) for x in batch],
            "encode_loop_tokens_per_s": round(ntok / ml), "encode_batch_tokens_per_s": round(ntok / mb),
            "encode_loop_texts_per_s": round(len(texts) / ml),
        }
        print(f"  bench {name}: loop {ntok / ml:,.0f} tok/s, batch {ntok / mb:,.0f} tok/s")
    return res


# --------------------------------------------------------------------------------------------
# Tiny models


def spread_init(module: torch.nn.Module, seed: int) -> None:
    """As make_encoder_goldens.spread_init (0.2·N(0,1); LayerNorm weight 1 + 0.1·N, bias 0.1·N,
    parameters in named_parameters order from a generator seeded `seed`), but LayerNorms found by
    module type, so DistilBERT's sa_layer_norm / output_layer_norm count too. Gives the same
    numbers as the BERT version on BERT names."""
    ln = set()
    for mname, m in module.named_modules():
        if isinstance(m, torch.nn.LayerNorm):
            ln.update({f"{mname}.weight" if mname else "weight", f"{mname}.bias" if mname else "bias"})
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name in ln and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * r)
            elif name in ln:
                p.copy_(0.1 * r)
            else:
                p.copy_(0.2 * r)


COMMON = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
              initializer_range=0.02)


def roberta_like_config(cls, vocab_size):
    return cls(vocab_size=vocab_size, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1,
               bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, **COMMON)


FAMILIES = {
    # folder: (model class, config maker, tokenizer fixture, takes token_type_ids)
    "tiny-roberta": (RobertaModel, lambda v: roberta_like_config(RobertaConfig, v), "bpe", False),
    "tiny-xlm-roberta": (XLMRobertaModel, lambda v: roberta_like_config(XLMRobertaConfig, v), "unigram", False),
    "tiny-distilbert": (DistilBertModel, lambda v: DistilBertConfig(
        vocab_size=v, dim=32, n_layers=2, n_heads=4, hidden_dim=64, max_position_embeddings=64,
        activation="gelu", pad_token_id=0, dropout=0.1, attention_dropout=0.1, sinusoidal_pos_embds=False),
        "wordpiece-small", False),
    "tiny-electra": (ElectraModel, lambda v: ElectraConfig(
        vocab_size=v, embedding_size=16, max_position_embeddings=64, type_vocab_size=2,
        layer_norm_eps=1e-12, pad_token_id=0, **COMMON), "wordpiece-small", True),
    "tiny-bert-json": (BertModel, lambda v: BertConfig(
        vocab_size=v, max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0,
        **COMMON), "wordpiece-small", True),
}
OPTIONAL_FAMILIES = {  # --camembert: same weights and tokenizer as tiny-xlm-roberta (~1 MB more)
    "tiny-camembert": (CamembertModel, lambda v: roberta_like_config(CamembertConfig, v), "unigram", False),
}
CLS_HEADS = {
    "tiny-roberta-cls": ("tiny-roberta", RobertaForSequenceClassification, "roberta"),
    "tiny-distilbert-cls": ("tiny-distilbert", DistilBertForSequenceClassification, "distilbert"),
    "tiny-electra-cls": ("tiny-electra", ElectraForSequenceClassification, "electra"),
}


def put_tokenizer(folder: Path, tok_fixture: Path, model_max_length: int, tmp: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tok_fixture, model_max_length=model_max_length)
    save_tokenizer(tok, folder, tmp)


def make_models(tmp: Path):
    made = {}
    for seed, (folder, (cls, mkcfg, tokname, _)) in enumerate(FAMILIES.items()):
        tokdir = FIX / "tokenizers" / tokname
        vocab_size = len(AutoTokenizer.from_pretrained(tokdir))
        cfg = mkcfg(vocab_size)
        torch.manual_seed(0)
        m = cls(cfg)
        spread_init(m, seed=0)
        m.eval()
        d = FIX / folder
        clean_dir(d)
        m.save_pretrained(d, safe_serialization=True)
        strip_config(d, "float32")
        put_tokenizer(d, tokdir, 64, tmp)
        made[folder] = m
        print(f"  {folder}: {cls.__name__}, vocab {vocab_size}, "
              f"{sum(p.numel() for p in m.parameters())} parameters")
    for folder, (base, cls, prefix) in CLS_HEADS.items():
        bm = made[base]
        cfg = copy.deepcopy(bm.config)
        cfg.num_labels = 2
        cfg.id2label = {0: "neg", 1: "pos"}
        cfg.label2id = {"neg": 0, "pos": 1}
        cfg.architectures = [cls.__name__]
        torch.manual_seed(0)
        clf = cls(cfg)
        missing, unexpected = getattr(clf, prefix).load_state_dict(bm.state_dict(), strict=False)
        assert not missing and set(unexpected) <= {"pooler.dense.weight", "pooler.dense.bias"}, (missing, unexpected)
        head = [n for n, _ in clf.named_parameters() if not n.startswith(prefix + ".")]
        g_mods = torch.nn.ModuleDict({n.split(".")[0]: getattr(clf, n.split(".")[0]) for n in head})
        spread_init(g_mods, seed=1)
        clf.eval()
        d = FIX / folder
        clean_dir(d)
        clf.save_pretrained(d, safe_serialization=True)
        strip_config(d, "float32")
        put_tokenizer(d, FIX / "tokenizers" / FAMILIES[base][2], 64, tmp)
        made[folder] = clf
        print(f"  {folder}: {cls.__name__}, head {sorted(set(n.rsplit('.', 1)[0] for n in head))}")
    return made


# --------------------------------------------------------------------------------------------
# Encoder goldens

LONG = ("In the beginning the small model could only read sixty four pieces at a time, so every "
        "longer story had to be cut, and nobody knew which words would be lost at the end of the "
        "line when the reader stopped. The harbour town woke slowly in winter, and the boats went "
        "out before the sun cleared the hills.")

GOLDEN_CASES = {
    "single": [["The quick brown fox jumps over the lazy dog!"]],
    "pair": [["Where is the cat?", "It was in the house, on the bed."]],
    "max64": [[LONG]],
    "batch": [
        ["Hello, world."],
        ["Is this a pair?", "Yes, it is."],
        ["Café ☃ $3.50 — naïve RÉSUMÉ! 東京 😀"],
        ["A longer sentence, <mask> and [MASK] too."],
    ],
}
# max64: the attention of these query rows only (goldens/minilm/long512's layout), to keep it small
MAX_ROWS = [0, 1, 32, 62, 63]
CLS_CASES = ("single", "pair", "batch")


def load_eager(cls, d: Path):
    m, info = cls.from_pretrained(d, attn_implementation="eager", dtype=torch.float32,
                                  output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], (d, info)
    m.eval()
    return m


def forward(model, ids, segs, mask, takes_types, **kw):
    args = dict(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
    if takes_types:
        args["token_type_ids"] = torch.from_numpy(segs)
    with torch.no_grad():
        return model(**args, **kw)


def run_case(name, folder, model, tok, seqs, takes_types, base_attr=None, classifier=None,
             keep_all_hidden=False, attention_rows=None):
    rows = [tok(s[0], s[1] if len(s) > 1 else None, truncation="longest_first", max_length=64,
                return_token_type_ids=True) for s in seqs]
    B = len(rows)
    maxL = max(len(r["input_ids"]) for r in rows)
    pad = tok.pad_token_id
    ids = np.full((B, maxL), pad, np.int64)
    segs = np.zeros((B, maxL), np.int64)
    mask = np.zeros((B, maxL), np.int64)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = r["input_ids"]
        segs[i, :n] = r["token_type_ids"]
        mask[i, :n] = 1
    lengths = mask.sum(1)
    enc_model = getattr(model, base_attr) if base_attr else model
    out = forward(enc_model, ids, segs, mask, takes_types, output_attentions=True, output_hidden_states=True)
    cfg = enc_model.config
    layers = cfg.num_hidden_layers if hasattr(cfg, "num_hidden_layers") else cfg.n_layers
    heads = cfg.num_attention_heads if hasattr(cfg, "num_attention_heads") else cfg.n_heads
    hid = cfg.hidden_size if hasattr(cfg, "hidden_size") else cfg.dim
    assert out.attentions is not None and len(out.attentions) == layers
    hidden = out.last_hidden_state.numpy()
    att = torch.stack(out.attentions, 1).numpy()
    states = torch.stack(out.hidden_states, 1).numpy()
    for b in range(B):
        n = lengths[b]
        assert np.all(att[b, :, :, :, n:] == 0.0), "padded keys must get exactly 0"
        assert np.abs(att[b, :, :, :n, :n].sum(-1) - 1).max() < 1e-5
    # float64 check: the same HF model in float64 (not independent code, but it bounds the
    # float32 noise in the goldens).
    m64 = copy.deepcopy(enc_model).double()
    o64 = forward(m64, ids, segs, mask, takes_types, output_attentions=True)
    h64 = o64.last_hidden_state.numpy()
    a64 = torch.stack(o64.attentions, 1).numpy()
    dh = max(float(np.abs(hidden[b, :lengths[b]] - h64[b, :lengths[b]]).max()) for b in range(B))
    dp = max(float(np.abs(att[b, ..., :lengths[b], :lengths[b]] - a64[b, ..., :lengths[b], :lengths[b]]).max())
             for b in range(B))
    d_single = 0.0
    if B > 1:
        for b in range(B):
            n = lengths[b]
            o1 = forward(enc_model, ids[b:b + 1, :n], segs[b:b + 1, :n], mask[b:b + 1, :n], takes_types)
            d_single = max(d_single, float(np.abs(o1.last_hidden_state.numpy()[0] - hidden[b, :n]).max()))
    mm = mask[:, :, None].astype(np.float32)
    mean_pooled = l2norm((hidden * mm).sum(1) / np.maximum(mm.sum(1), 1e-9))
    cls_pooled = l2norm(hidden[:, 0, :])

    d = FIX / "goldens" / folder / name
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
        if classifier is not None:
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
        co = forward(classifier, ids, segs, mask, takes_types)
        save("logits.npy", f32(co.logits.numpy()))
        logits_info = [classifier.config.id2label[int(i)] for i in co.logits.numpy().argmax(-1)]
    tokens = [tok.convert_ids_to_tokens(ids[b, :lengths[b]].tolist()) for b in range(B)]
    pos_note = ("position ids = padding_idx + 1 + index = 2, 3, ... (create_position_ids_from_input_ids, "
                "padding_idx = pad_token_id = 1; padding gets position 1)"
                if cfg.model_type in ("roberta", "xlm-roberta", "camembert") else "position ids = 0, 1, ...")
    case = {
        "model": folder,
        "model_dir": f"Tests/Fixtures/{folder}",
        "case": name,
        "texts": seqs,
        "tokenizer": {"max_length": 64, "truncation": "longest_first",
                      "padding": f"longest (right, {tok.pad_token} id {pad}, segment 0, mask 0)",
                      "class": type(tok).__name__, "source": f"Tests/Fixtures/{folder}/tokenizer.json"},
        "token_type_ids_given_to_model": (
            "segments.npy" if takes_types else
            "none (not passed: " + ("the model has no token type embedding" if cfg.model_type == "distilbert"
                                   else "the model adds its buffered zeros, type_vocab_size 1")
            + "); segments.npy is what the tokenizer returned (all 0)"),
        "positions": pos_note,
        "batch": B,
        "max_len": int(maxL),
        "lengths": [int(x) for x in lengths],
        "tokens": tokens,
        "layers": layers,
        "heads": heads,
        "hidden": hid,
        "attention_scaling": f"(Q K^T) * head_dim**-0.5 = {hid // heads}**-0.5",
        "files": files,
        "float64_check": {"hidden_max_abs_diff": dh, "attention_max_abs_diff": dp,
                          "method": "the same transformers model converted to float64"},
        "batch_vs_single_hidden_max_abs_diff": d_single,
        "versions": VERSIONS,
        "hf": {"class": type(classifier or enc_model).__name__, "attn_implementation": "eager",
               "dtype": "float32", "mode": "eval", "model_type": cfg.model_type},
    }
    if cfg.model_type == "electra":
        case["hidden_states_note"] = ("hidden_states[0] is the input of the first layer: embeddings "
                                      "(size 16) after LayerNorm, then embeddings_project to 32")
    if attention_rows is not None:
        case["attention_rows"] = list(attention_rows)
    if logits_info is not None:
        case["predicted_labels"] = logits_info
        case["id2label"] = {str(k): v for k, v in classifier.config.id2label.items()}
    (d / "case.json").write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    ent = []
    if classifier is None and attention_rows is None:
        for b in range(B):
            n = int(lengths[b])
            a = att[b, :, :, :n, :n].astype(np.float64)
            if n > 1:
                ent.append((-(a * np.log(np.maximum(a, 1e-30))).sum(-1) / np.log(n)).mean())
    print(f"  {folder}/{name}: B={B} lengths={case['lengths']} f64 diff hidden {dh:.1e} attn {dp:.1e} "
          f"batch-vs-single {d_single:.1e}" + (f" entropy {np.mean(ent):.3f}" if ent else ""))
    return case


def make_goldens(made):
    for folder, (cls, _, _, takes_types) in FAMILIES.items():
        d = FIX / folder
        m = load_eager(cls, d)
        for k, v in made[folder].state_dict().items():
            assert torch.equal(m.state_dict()[k], v), (folder, k)
        tok = AutoTokenizer.from_pretrained(d)
        shutil.rmtree(FIX / "goldens" / folder, ignore_errors=True)
        for name, seqs in GOLDEN_CASES.items():
            c = run_case(name, folder, m, tok, seqs, takes_types, keep_all_hidden=name == "single",
                         attention_rows=MAX_ROWS if name == "max64" else None)
            if name == "max64":
                assert c["lengths"] == [64], c["lengths"]
        # A pad token written in the text: RoBERTa-family position ids skip it (it takes the
        # padding row itself), create_position_ids_from_input_ids' cumsum of non-pad tokens.
        pad_text = f"The cat {tok.pad_token} sat on the mat."
        assert tok.pad_token_id in tok(pad_text)["input_ids"], folder
        run_case("pad-in-text", folder, m, tok, [[pad_text]], takes_types)
    for folder, (base, cls, prefix) in CLS_HEADS.items():
        d = FIX / folder
        m = load_eager(cls, d)
        for k, v in made[folder].state_dict().items():
            assert torch.equal(m.state_dict()[k], v), (folder, k)
        tok = AutoTokenizer.from_pretrained(d)
        shutil.rmtree(FIX / "goldens" / folder, ignore_errors=True)
        for name in CLS_CASES:
            run_case(name, folder, m, tok, GOLDEN_CASES[name], FAMILIES[base][3], base_attr=prefix, classifier=m)
        # the encoder part equals the base folder's goldens
        for name in CLS_CASES:
            a = np.load(FIX / "goldens" / folder / name / "hidden_b0.npy")
            b = np.load(FIX / "goldens" / base / name / "hidden_b0.npy")
            assert np.array_equal(a, b), (folder, name)


def check_minilm_json(minilm: Path, tmp: Path) -> str:
    """The re-saved default model (tokenizer.json, no vocab.txt) tokenizes goldens/minilm's texts
    exactly as those goldens say; so goldens/minilm-json would repeat goldens/minilm."""
    d = tmp / "minilm-json"
    d.mkdir()
    keep_tokenizer_files(FIX / "tokenizers" / "wordpiece", d)
    tok = AutoTokenizer.from_pretrained(d)
    n = 0
    for case in sorted((FIX / "goldens" / "minilm").iterdir()):
        c = json.loads((case / "case.json").read_text())
        ids = np.load(case / "ids.npy")
        segs = np.load(case / "segments.npy")
        for b, s in enumerate(c["texts"]):
            e = tok(s[0], s[1] if len(s) > 1 else None, truncation="longest_first", max_length=512,
                    return_token_type_ids=True)
            L = c["lengths"][b]
            assert e["input_ids"] == ids[b, :L].tolist(), case.name
            assert e["token_type_ids"] == segs[b, :L].tolist(), case.name
            n += 1
    return f"{n} sequences of goldens/minilm re-tokenized identically from tokenizers/wordpiece alone"


# --------------------------------------------------------------------------------------------


def folder_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minilm-dir", type=Path,
                    default=Path(os.environ.get("BERTSCOPE_MINILM_DIR", DEFAULT_MINILM)))
    ap.add_argument("--bench", action="store_true", help="also time the Rust tokenizers (not deterministic)")
    ap.add_argument("--camembert", action="store_true", help="also write tiny-camembert/ and its goldens")
    args = ap.parse_args()
    if args.camembert:
        FAMILIES.update(OPTIONAL_FAMILIES)
    print(" ".join(f"{k} {v}" for k, v in VERSIONS.items()))
    facts = {"versions": VERSIONS}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        train = training_corpus(tmp)
        (FIX / "tokenizers").mkdir(parents=True, exist_ok=True)
        print("tokenizers")
        toks = {
            "wordpiece": make_wordpiece(args.minilm_dir, tmp),
            "wordpiece-small": make_wordpiece_small(train, tmp),
            "bpe": make_bpe(train, tmp),
            "unigram": make_unigram(train, tmp, byte_fallback=False),
            "unigram-bytefallback": make_unigram(train, tmp, byte_fallback=True),
        }
        facts["pipelines"] = {n: pipeline_types(d) for n, d in toks.items()}
        facts["cases"] = {}
        for n, d in toks.items():
            small = n in ("unigram-bytefallback", "wordpiece-small")
            facts["cases"][n] = write_cases(d, limit=100 if small else None, corpus=not small,
                                            rust_reference=n == "unigram-bytefallback")
        facts["minilm_json"] = check_minilm_json(args.minilm_dir, tmp)
        print(" ", facts["minilm_json"])
        print("models")
        made = make_models(tmp)
        print("goldens")
        make_goldens(made)
        if args.bench:
            print("bench")
            BENCH_DIR.mkdir(parents=True, exist_ok=True)
            res = bench({n: toks[n] for n in ("wordpiece", "bpe", "unigram")})
            (BENCH_DIR / "rust-tokenizers.json").write_text(json.dumps(res, indent=1) + "\n")
    # facts for the README (pipeline types, observed behaviour); deterministic content
    (FIX / "tokenizers" / "facts.json").write_text(
        json.dumps(facts, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    compress_tokenizer_fixtures()
    print("\nsizes:")
    total = 0
    for p in sorted((FIX / "tokenizers").iterdir()):
        if p.is_dir():
            n = folder_size(p)
            total += n
            print(f"  {n / 1024:8.1f} KiB  tokenizers/{p.name}")
    for folder in list(FAMILIES) + list(CLS_HEADS):
        for p in (FIX / folder, FIX / "goldens" / folder):
            n = folder_size(p)
            total += n
            print(f"  {n / 1024:8.1f} KiB  {p.relative_to(FIX)}")
    print(f"  {total / 1024:8.1f} KiB  total new fixtures")


if __name__ == "__main__":
    sys.exit(main())

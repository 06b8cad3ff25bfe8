#!/usr/bin/env python3
"""Reference data for BertScope's tokenizer.json pipeline (PipelineTokenizer), from Hugging Face
`tokenizers` 0.23 through transformers 5 (`PreTrainedTokenizerFast`).

Writes Tests/Fixtures/tokenizers-pipeline/<name>/{tokenizer.json, tokenizer_config.json, cases.jsonl.gz}:
small WordPiece tokenizers, trained here on the cases' own texts, behind different normalizers,
pre-tokenizers, post-processors and added tokens, so that the pipeline around the model (and its
offsets) is checked component by component. Each line of cases.jsonl:
  {"name", "text", "pair" (or null), "max_length" (or null), "ids", "tokens", "type_ids", "offsets"}
or, when transformers raises, {"name", "text", "pair", "max_length", "error"}.

Not a CI dependency. Environment: python3.11 -m venv /tmp/pyref/venv &&
  /tmp/pyref/venv/bin/pip install 'transformers==5.24.0' 'tokenizers==0.23.3'
Run from the repository root: /tmp/pyref/venv/bin/python scripts/goldens/make_pipeline_goldens.py
"""

import json
import os

from tokenizers import Regex, Tokenizer, AddedToken, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers-pipeline")

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see it's what they've done, isn't it?",
    "state-of-the-art e-mail re-enter",
    "In 1984, 3.14159 and 2,718,281 were 42% of 1e-9.",
    "   padded   text   ",
    "line one\nline two\r\nline\tthree",
    "café naïve façade résumé",
    "cafe\u0301 nai\u0308ve A\u030angstro\u0308m",
    "e\u0301\u0302\u0323 o\u0323\u0302 q\u0307\u0323",
    "ﬁne ﬂow ½ ① ＡＢＣ x² Ǆ",
    "İstanbul ΣΟΦΙΑ Straße",
    "日本語のテキスト and 中文 mixed",
    "한국어 텍스트 (Hangul) 가각",
    "emoji 😀👍🏽 family 👨‍👩‍👧",
    "control\u0000chars\u0007here\ufffd\u200b!",
    "``quoted'' text",
    "hello [MASK] world [SEP] again",
    "a[CLS]b[SEP]c<extra>d <extra> e",
    "special token <extra>at edge",
    "word  <mask>  word",
    "",
    " ",
    "a",
    "supercalifragilisticexpialidocious " * 4,
    "x" * 120,
]
PAIRS = [
    ("Hello, world!", "How are you?"),
    ("The quick brown fox jumps over the lazy dog.", "a"),
    ("short", ""),
    ("", "only pair"),
    ("café", "naïve façade"),
]
LENGTHS = [None, 1, 2, 3, 5, 8, 12]


def train_wordpiece(tok, texts, vocab_size=400):
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)


def build(name, normalizer, pre_tokenizer, post, added, train_skip_chars=""):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    corpus = [t.replace(c, " ") for t in TEXTS + [p for ab in PAIRS for p in ab] for c in (train_skip_chars or "\0")]
    train_wordpiece(tok, corpus)
    vocab = tok.get_vocab()
    tok.post_processor = post(vocab)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]])
    tok.add_tokens(added)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token="[MASK]", model_max_length=64,
    )
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    fast.save_pretrained(folder)
    for extra in ["special_tokens_map.json", "chat_template.jinja"]:
        p = os.path.join(folder, extra)
        if os.path.exists(p):
            os.remove(p)
    # Reload as transformers would from the folder.
    fast = PreTrainedTokenizerFast.from_pretrained(folder)
    lines = []
    cases = [(t, None) for t in TEXTS] + PAIRS
    for text, pair in cases:
        for ml in LENGTHS:
            case = {"name": name, "text": text, "pair": pair, "max_length": ml}
            try:
                kw = {"truncation": True, "return_offsets_mapping": True}
                if ml is not None:
                    kw["max_length"] = ml
                enc = fast(text, pair, **kw).encodings[0]
                case.update(ids=enc.ids, tokens=enc.tokens, type_ids=enc.type_ids, offsets=[list(o) for o in enc.offsets])
            except Exception as e:  # noqa: BLE001
                case["error"] = f"{type(e).__name__}: {e}"
            lines.append(json.dumps(case, ensure_ascii=False))
    # Gzipped as `gzip -9n` writes it (deterministic); the tests read cases.jsonl.gz.
    import gzip
    with open(os.path.join(folder, "cases.jsonl.gz"), "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as f:
            f.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(name, len(lines), "cases")


def template(vocab):
    return processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )


def main():
    build(
        "bert", normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer(), template,
        [AddedToken("<extra>", normalized=True), AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False)],
    )
    build(
        "bytelevel", normalizers.NFKC(), pre_tokenizers.ByteLevel(add_prefix_space=True),
        lambda v: processors.RobertaProcessing(("[SEP]", v["[SEP]"]), ("[CLS]", v["[CLS]"]), trim_offsets=True),
        [AddedToken("<extra>", normalized=False), AddedToken("<mask>", lstrip=True, normalized=False)],
    )
    build(
        "metaspace",
        normalizers.Sequence([normalizers.Replace("``", '"'), normalizers.Replace("''", '"'), normalizers.NFKD(),
                              normalizers.StripAccents(), normalizers.Lowercase()]),
        pre_tokenizers.Sequence([pre_tokenizers.Metaspace(prepend_scheme="first"), pre_tokenizers.Digits(individual_digits=True)]),
        template,
        [AddedToken("<extra>", single_word=True, normalized=True)],
    )
    build(
        "misc",
        normalizers.Sequence([normalizers.Strip(), normalizers.NFC(), normalizers.Lowercase(), normalizers.Prepend("#")]),
        pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation(behavior="contiguous")]),
        lambda v: processors.BertProcessing(("[SEP]", v["[SEP]"]), ("[CLS]", v["[CLS]"])),
        [AddedToken("<extra>", rstrip=True, normalized=False)],
    )
    build(
        "nfd-split",
        normalizers.Sequence([normalizers.NFD(), normalizers.Nmt()]),
        pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split("-", behavior="merged_with_previous"),
                                 pre_tokenizers.Punctuation(behavior="merged_with_next")]),
        lambda v: processors.Sequence([processors.ByteLevel(trim_offsets=False), template(v)]),
        [],
    )
    build(
        "regex",
        # NFC first: JSONSerialization's String-keyed dictionaries merge canonically equivalent
        # vocabulary entries, so a vocabulary holding both "é" and "e\u0301" cannot be read exactly.
        normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Replace(Regex(r"[0-9]+(?:\.[0-9]+)?"), "9"),
                              normalizers.Replace(Regex(r"(?:ab|a)c?"), "A"), normalizers.Lowercase()]),
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
                                 pre_tokenizers.Split(Regex(r"[\p{P}\p{S}]"), behavior="isolated"),
                                 pre_tokenizers.Split(Regex(r"e(?=s)"), behavior="merged_with_next", invert=False)]),
        template,
        [],
    )


if __name__ == "__main__":
    main()

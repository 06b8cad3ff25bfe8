#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Fuzz/Corpus/<target>/.

Seeds are real files from the repository (the tiny BERT fixtures, the tokenizer goldens,
the sample corpus, golden .npy files), the real all-MiniLM-L6-v2 header and config when
scripts/setup installed the model, and crafted files that reach each parser's branches.
Every seed is small (a few KB): the whole corpus stays well under 1 MB.

Run from anywhere: `python3 Fuzz/make-seeds.py`. Deterministic; re-running rewrites the files.
"""
import gzip
import json
import re
import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "Corpus"
FIXTURES = ROOT / "Tests" / "Fixtures"
MINILM = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "bertscope/models/all-MiniLM-L6-v2"


def target(name):
    d = CORPUS / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def put(d, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / name).write_bytes(data)


# --- safetensors -----------------------------------------------------------------------

def tensor_bytes(dtype, count, seed=1):
    vals = [((i * 7919 + seed) % 97) / 97 - 0.5 for i in range(count)]
    if dtype == "F32":
        return struct.pack("<%df" % count, *vals)
    if dtype == "F64":
        return struct.pack("<%dd" % count, *vals)
    if dtype == "F16":
        return struct.pack("<%de" % count, *vals)
    if dtype == "BF16":
        return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in vals)
    if dtype == "I64":
        return struct.pack("<%dq" % count, *range(count))
    if dtype == "I32":
        return struct.pack("<%di" % count, *range(count))
    raise ValueError(dtype)


SIZES = {"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}


def safetensors(tensors, metadata=None, header_override=None):
    """tensors: list of (name, dtype, shape[, raw bytes])."""
    header = {}
    body = b""
    for t in tensors:
        name, dtype, shape = t[:3]
        count = 1
        for s in shape:
            count *= s
        data = t[3] if len(t) > 3 else tensor_bytes(dtype, count, len(header))
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_override if header_override is not None else json.dumps(header, separators=(",", ":"))
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw + body


def bert_tensors(h=4, inner=8, positions=8, vocab=8, layers=1, dtype="F32", prefix="", gamma_beta=False,
                 pooler=False, classifier=0, position_ids=False):
    ln_w, ln_b = ("gamma", "beta") if gamma_beta else ("weight", "bias")
    t = [
        (prefix + "embeddings.word_embeddings.weight", dtype, [vocab, h]),
        (prefix + "embeddings.position_embeddings.weight", dtype, [positions, h]),
        (prefix + "embeddings.token_type_embeddings.weight", dtype, [2, h]),
        (prefix + "embeddings.LayerNorm." + ln_w, dtype, [h]),
        (prefix + "embeddings.LayerNorm." + ln_b, dtype, [h]),
    ]
    if position_ids:
        t.append((prefix + "embeddings.position_ids", "I64", [1, positions]))
    for l in range(layers):
        p = prefix + "encoder.layer.%d." % l
        for n in ["query", "key", "value"]:
            t += [(p + "attention.self.%s.weight" % n, dtype, [h, h]), (p + "attention.self.%s.bias" % n, dtype, [h])]
        t += [
            (p + "attention.output.dense.weight", dtype, [h, h]),
            (p + "attention.output.dense.bias", dtype, [h]),
            (p + "attention.output.LayerNorm." + ln_w, dtype, [h]),
            (p + "attention.output.LayerNorm." + ln_b, dtype, [h]),
            (p + "intermediate.dense.weight", dtype, [inner, h]),
            (p + "intermediate.dense.bias", dtype, [inner]),
            (p + "output.dense.weight", dtype, [h, inner]),
            (p + "output.dense.bias", dtype, [h]),
            (p + "output.LayerNorm." + ln_w, dtype, [h]),
            (p + "output.LayerNorm." + ln_b, dtype, [h]),
        ]
    if pooler:
        t += [(prefix + "pooler.dense.weight", dtype, [h, h]), (prefix + "pooler.dense.bias", dtype, [h])]
    if classifier:
        t += [("classifier.weight", dtype, [classifier, h]), ("classifier.bias", dtype, [classifier])]
    return t


def seeds_safetensors():
    d = target("fuzz-safetensors")
    put(d, "tiny-f32.safetensors", safetensors(bert_tensors(h=2, inner=2, positions=2, vocab=2)))
    put(d, "all-dtypes.safetensors", safetensors(
        [("a", dt, [2, 3]) for dt in ["F32", "F64", "F16", "BF16", "I64", "I32"]]
        + [("empty", "F32", [0, 4], b""), ("scalar", "F32", [])],
        metadata={"format": "pt", "note": "crafted"}))
    put(d, "other-dtypes.safetensors", safetensors(
        [("u8", "U8", [3], b"\x01\x02\x03"), ("b", "BOOL", [2], b"\x00\x01"), ("f8", "F8_E4M3", [2], b"\x38\x40"),
         ("u64", "U64", [1], b"\x00" * 8)]))
    put(d, "half-specials.safetensors", safetensors(
        [("h", "F16", [6], struct.pack("<6H", 0x0001, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x8000))]))
    put(d, "metadata-only.safetensors", safetensors([], metadata={"format": "pt"}))
    put(d, "empty-header.safetensors", safetensors([], header_override="{}"))
    # A header padded with spaces, as the reference writer aligns data to 8 bytes.
    raw = json.dumps({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode() + b"    "
    put(d, "padded-header.safetensors", struct.pack("<Q", len(raw)) + raw + tensor_bytes("F32", 2))
    raw = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode()
    put(d, "overlap.safetensors", struct.pack("<Q", len(raw)) + raw + bytes(12))
    put(d, "short.safetensors", b"\x10\x00\x00")
    # Real files: the tiny fixture's header with its first tensors, and MiniLM's header.
    tiny = (FIXTURES / "tiny-bert" / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", tiny[:8])[0]
    put(d, "tiny-bert-real-truncated.safetensors", tiny[: 8 + n + 256])
    f16 = (FIXTURES / "tiny-bert-f16" / "model.safetensors").read_bytes()
    n = struct.unpack("<Q", f16[:8])[0]
    put(d, "tiny-bert-f16-real-truncated.safetensors", f16[: 8 + n + 64])
    minilm = MINILM / "model.safetensors"
    if minilm.exists():
        with open(minilm, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0]
            put(d, "minilm-real-header.safetensors", head + f.read(n))


def seeds_weights():
    d = target("fuzz-weights")
    put(d, "f32.safetensors", safetensors(bert_tensors()))
    put(d, "f16.safetensors", safetensors(bert_tensors(dtype="F16")))
    put(d, "bf16.safetensors", safetensors(bert_tensors(dtype="BF16")))
    put(d, "f64.safetensors", safetensors(bert_tensors(dtype="F64")))
    put(d, "prefixed-gamma-beta-pooler.safetensors", safetensors(
        bert_tensors(prefix="bert.", gamma_beta=True, pooler=True, position_ids=True), metadata={"format": "pt"}))
    put(d, "classifier.safetensors", safetensors(bert_tensors(pooler=True, classifier=3)))
    put(d, "two-layers.safetensors", safetensors(bert_tensors(layers=2)))
    put(d, "nan.safetensors", safetensors(
        [(n, dt, s, struct.pack("<f", float("nan")) * (s[0] * (s[1] if len(s) > 1 else 1)))
         if n.endswith("word_embeddings.weight") else (n, dt, s) for n, dt, s in bert_tensors()]))


# --- JSON configs --------------------------------------------------------------------------

def seeds_config():
    d = target("fuzz-config")
    for name in ["tiny-bert", "tiny-bert-prefixed", "tiny-bert-f16"]:
        put(d, name + ".json", (FIXTURES / name / "config.json").read_bytes())
    if (MINILM / "config.json").exists():
        put(d, "minilm.json", (MINILM / "config.json").read_bytes())
    base = {"vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 8}
    put(d, "minimal.json", json.dumps(base))
    put(d, "labels.json", json.dumps(dict(base, id2label={"0": "NEG", "1": "POS"}, num_labels=2,
                                          hidden_act="gelu_new", layer_norm_eps=1e-5, model_type="bert")))
    put(d, "embedding-size.json", json.dumps(dict(base, embedding_size=4, position_embedding_type="absolute",
                                                  max_position_embeddings=8, type_vocab_size=1)))
    put(d, "floats.json", '{"vocab_size": 8.0, "hidden_size": 4e0, "num_hidden_layers": 1, '
        '"num_attention_heads": 2, "intermediate_size": 8, "layer_norm_eps": 1e-300, "num_labels": true}')
    put(d, "huge.json", json.dumps(dict(base, vocab_size=16777216, hidden_size=16777216, num_attention_heads=1)))
    put(d, "nested.json", "[" * 64 + "]" * 64)
    put(d, "unicode.json", '{"model_type": "b\\u00e9rt\\ud83d\\ude00", "vocab_size": 8, "hidden_size": 4, '
        '"num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "id2label": {"1": 1, "0": null}}')


def seeds_tokenizer_config():
    d = target("fuzz-tokenizer-config")
    for name, path in [("tiny-bert", FIXTURES / "tiny-bert/tokenizer_config.json"),
                       ("tokenizer", FIXTURES / "tokenizer/tokenizer_config.json"),
                       ("minilm", MINILM / "tokenizer_config.json")]:
        if path.exists():
            put(d, name + ".json", b"\x3f" + path.read_bytes())
    put(d, "dict-tokens.json", b"\x7f" + json.dumps({
        "do_lower_case": False, "strip_accents": True, "tokenize_chinese_chars": False, "model_max_length": 1e30,
        "cls_token": {"content": "[CLS]", "lstrip": False}, "sep_token": {"content": "[SEP]"},
        "unk_token": "[UNK]", "pad_token": "[PAD]", "mask_token": "[MASK]"}).encode())
    put(d, "odd-specials.json", b"\x0f" + json.dumps({
        "unk_token": "w1", "mask_token": "", "model_max_length": 3, "strip_accents": None,
        "do_lower_case": None}).encode())
    put(d, "bad-flag.json", b"\x20" + b'{"do_lower_case": 1, "model_max_length": "512"}')


# --- vocab ---------------------------------------------------------------------------------

def seeds_vocab():
    d = target("fuzz-vocab")
    put(d, "tiny-bert.txt", (FIXTURES / "tiny-bert/vocab.txt").read_bytes())
    real = (FIXTURES / "tokenizer/vocab.txt").read_text(encoding="utf-8").split("\n")
    # The specials and the first unused slots, some words and continuations, the non-ASCII tail.
    sample = real[:110] + real[1996:2200] + [t for t in real if t.startswith("##")][:150] + real[-200:]
    put(d, "real-sample.txt", "\n".join(sample) + "\n")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    put(d, "crlf.txt", "\r\n".join(specials + ["un", "##aff", "##able", "##s"]) + "\r\n")
    put(d, "no-final-newline.txt", "\n".join(specials + ["a", "##b"]))
    put(d, "canonical-pairs.txt", "\n".join(specials + ["\u00e9", "e\u0301", "\u212b", "\u00c5", "##\u0301"]) + "\n")
    put(d, "empty-token.txt", "\n".join(specials + ["", "##", "#", "###"]) + "\n")
    put(d, "duplicate.txt", "\n".join(specials + ["a", "b", "a"]) + "\n")
    put(d, "cjk-emoji.txt", "\n".join(specials + ["\u4e00", "##\u4e01", "\U0001F600", "\u0000", "\ufeff"]) + "\n")
    put(d, "invalid-utf8.txt", b"[PAD]\n[UNK]\n\xff\xfe\n[CLS]\n[SEP]\n")


# --- tokenizer -----------------------------------------------------------------------------

def seeds_tokenizer():
    d = target("fuzz-tokenizer")
    cases = [json.loads(l) for l in (FIXTURES / "tokenizer/cases.jsonl").read_text(encoding="utf-8").split("\n") if l]
    chosen = {}
    for c in cases:
        # One case per name stem (sentence, cjk, accents, …), short texts only.
        stem = c["name"].rstrip("0123456789-_")
        if stem in chosen or len(c["text"]) > 600 or len(c.get("pair") or "") > 600:
            continue
        chosen[stem] = c
    for i, (stem, c) in enumerate(sorted(chosen.items())):
        text = c["text"].encode("utf-8")
        pair = c.get("pair")
        opts = i % 12 | (0x80 if i % 7 == 3 else 0)
        length = 0 if c.get("max_length", 512) >= 256 else c["max_length"]
        if pair is not None:
            p = pair.encode("utf-8")
            body = text + p
            split = len(text) * 256 // max(1, len(body))
            while len(body) * split // 256 < len(text):
                split += 1
            put(d, "%02d-%s" % (i, re.sub(r"[^A-Za-z0-9]+", "-", stem[:40]).strip("-")), bytes([opts, length, 1, min(split, 255)]) + body)
        else:
            put(d, "%02d-%s" % (i, re.sub(r"[^A-Za-z0-9]+", "-", stem[:40]).strip("-")), bytes([opts, length, 0, 0]) + text)
    put(d, "invalid-utf8", bytes([0, 0, 0, 0]) + b"caf\xc3 \xff\xfe ok \xed\xa0\x80 end")
    put(d, "specials-inside-words", bytes([0, 8, 3, 128]) + "x[MASK]y [SEP][CLS] ##ing [UNK]".encode())
    put(d, "long-word", bytes([0, 0, 0, 0]) + b"a" * 101 + b" " + b"b" * 100)
    put(d, "marks-reordered", bytes([1, 0, 0, 0]) + "a\u0301\u0323 \U0001D16D\U0001D165 \u0345\u0300x \u03a3\u03a3 \u0130".encode())
    put(d, "whitespace-controls", bytes([2, 0, 0, 0]) + "a\u2028b\u3000c\u200bd\te\r\nf\u0000g\ufffdh\u00adi".encode())


# --- tokenizer.json --------------------------------------------------------------------------

def small_tokenizer_json(path, keep=120):
    """A fixture's tokenizer.json with its vocabulary cut to the first `keep` ids (added
    tokens beyond renumbered after them, merges to those within), so that a seed stays small;
    a Precompiled normalizer (its charsmap is large) becomes NFKC."""
    raw = path.read_bytes()
    t = json.loads((gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8"))
    m = t["model"]
    if isinstance(m.get("vocab"), dict):
        m["vocab"] = {k: v for k, v in m["vocab"].items() if v < keep}
    elif isinstance(m.get("vocab"), list):
        m["vocab"] = m["vocab"][:keep]
        if m.get("unk_id") is not None and m["unk_id"] >= keep:
            m["unk_id"] = 0
    if "merges" in m:
        vocab = m["vocab"]
        def parts(x):
            return x.split(" ", 1) if isinstance(x, str) else x
        m["merges"] = [x for x in m["merges"] if all(p in vocab for p in parts(x)) and "".join(parts(x)) in vocab]
    remap = {}
    for tok in t.get("added_tokens", []):
        if tok["id"] >= keep:
            remap[tok["id"]] = keep + len(remap)
            tok["id"] = remap[tok["id"]]
    def fix_ids(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "ids" and isinstance(v, list):
                    node[k] = [remap.get(i, i) for i in v]
                elif k in ("cls", "sep") and isinstance(v, list) and len(v) == 2:
                    node[k] = [v[0], remap.get(v[1], v[1])]
                else:
                    fix_ids(v)
        elif isinstance(node, list):
            for v in node:
                fix_ids(v)
    fix_ids(t.get("post_processor"))
    def no_precompiled(node):
        if isinstance(node, dict):
            if node.get("type") == "Precompiled":
                return {"type": "NFKC"}
            return {k: no_precompiled(v) for k, v in node.items()}
        if isinstance(node, list):
            return [no_precompiled(v) for v in node]
        return node
    t["normalizer"] = no_precompiled(t.get("normalizer"))
    return json.dumps(t, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seeds_tokenizer_json():
    d = target("fuzz-tokenizer-json")
    for group in ["tokenizers", "tokenizers-pipeline"]:
        for folder in sorted(list((FIXTURES / group).glob("*/tokenizer.json")) + list((FIXTURES / group).glob("*/tokenizer.json.gz"))):
            name = folder.parent.name
            put(d, "%s-%s.json" % (group, name), bytes([0, 0]) + small_tokenizer_json(folder))
            put(d, "%s-%s-short.json" % (group, name), bytes([5, 1]) + small_tokenizer_json(folder, keep=40))
    put(d, "nested.json", bytes([0, 0]) + b"[" * 600 + b"]" * 600)
    put(d, "not-object.json", bytes([0, 0]) + b"[1, 2, 3]")
    put(d, "unknown-type.json", bytes([0, 0]) + json.dumps({
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Fancy"}]},
        "model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"}}).encode())


# --- corpus ----------------------------------------------------------------------------------

def seeds_corpus():
    d = target("fuzz-corpus")
    sentences = (ROOT / "samples/wordnet-sentences.txt").read_bytes().split(b"\n")[:12]
    put(d, "wordnet-sentences", bytes([255, 255]) + b"\n".join(sentences) + b"\n")
    pairs = (ROOT / "samples/wordnet-pairs.tsv").read_bytes().split(b"\n")[:8]
    put(d, "wordnet-pairs", bytes([15, 255]) + b"\n".join(pairs) + b"\n")
    put(d, "bom-crlf", bytes([3, 40]) + "\ufefffirst\r\nsecond\tpair\r\n\r\nlast".encode())
    put(d, "invalid-utf8", bytes([7, 255]) + b"ok\nba\xc3\x28\nafter\n")
    put(d, "long-line", bytes([4, 2]) + b"short\n" + b"x" * 40 + b"\nend")
    put(d, "cr-only", bytes([1, 10]) + b"a\rb\r\r\n\r\tc\t\n\t\t\n")
    put(d, "no-newline", bytes([0, 0]) + b"x")


# --- npy -------------------------------------------------------------------------------------

def npy(descr, shape, data, version=1, fortran=False, raw_header=None):
    shape_text = "(%s)" % (", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    h = raw_header or "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
    prefix = 10 if version == 1 else 12
    total = (prefix + len(h) + 1 + 63) // 64 * 64
    h = h + " " * (total - prefix - len(h) - 1) + "\n"
    out = b"\x93NUMPY" + bytes([version, 0])
    out += struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return out + h.encode("latin-1") + data


def seeds_npy():
    d = target("fuzz-npy")
    for rel in ["tiny/pair/ids.npy", "tiny/pair/lengths.npy", "tiny/pair/mean_pooled.npy", "tiny-bf16/single/mask.npy"]:
        p = FIXTURES / "goldens" / rel
        if p.exists():
            put(d, rel.replace("/", "-"), p.read_bytes())
    put(d, "f8.npy", npy("<f8", [2, 2], struct.pack("<4d", 1, 2, 3, 4)))
    put(d, "i8.npy", npy("<i8", [3], struct.pack("<3q", -1, 0, 1)))
    put(d, "i4-bar.npy", npy("|i4", [1], struct.pack("<i", 7)))
    put(d, "scalar.npy", npy("<f4", [], struct.pack("<f", 1.5)))
    put(d, "empty.npy", npy("<f4", [0, 5], b""))
    put(d, "v2.npy", npy("<f4", [2], struct.pack("<2f", 1, 2), version=2))
    put(d, "v3.npy", npy("=f4", [1, 1], struct.pack("<f", 3), version=3))
    put(d, "fortran.npy", npy("<f4", [2, 1], bytes(8), fortran=True))
    put(d, "big-endian.npy", npy(">f4", [1], bytes(4)))


def main():
    seeds_safetensors()
    seeds_weights()
    seeds_config()
    seeds_tokenizer_config()
    seeds_vocab()
    seeds_tokenizer()
    seeds_corpus()
    seeds_npy()
    seeds_tokenizer_json()
    total = sum(f.stat().st_size for f in CORPUS.rglob("*") if f.is_file())
    count = sum(1 for f in CORPUS.rglob("*") if f.is_file())
    print("make-seeds: %d files, %d bytes in %s" % (count, total, CORPUS.relative_to(ROOT)), file=sys.stderr)
    if total > 1_000_000:
        sys.exit("make-seeds: the corpus is over 1 MB")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Golden data for the tokenizer.json models (WordPiece, BPE, Unigram) and the
Precompiled (SentencePiece charsmap) normaliser, from Hugging Face `tokenizers` 0.23.3
and `sentencepiece` 0.2.

Writes Tests/Fixtures/tokenizer-models/*.json. Run from the repository root:

    python3 -m venv /tmp/tokm-venv
    /tmp/tokm-venv/bin/pip install tokenizers==0.23.3 sentencepiece==0.2.1
    /tmp/tokm-venv/bin/python scripts/goldens/make_tokenizer_model_goldens.py

Every model is small and trained here on the inline corpus below (the WordPiece and
char-level BPE trainers break ties in hash order, so a rerun may give other models, and
goldens consistent with them), then its `model`
object (as `tokenizer.json` stores it) goes into the fixture with the words and what
`tokenizers`' `Model.tokenize(word)` returns for each: the token ids and
offsets.

Each case: {"word": w, "tokens": [id, start, end, id, start, end, ...]} (flat).
Variants of one family store only the model keys they change ("add_vocab": entries added
to the base vocab).

Offsets: `Model.tokenize` reports BYTE offsets into the UTF-8 of the word (Rust `str`
indices), also through Python. The fixtures store Unicode-scalar indices instead, as
BertScope's `SubwordModel` does: a byte range [b0, b1) becomes [s0, s1) with s0 the
scalar holding byte b0 and s1 one past the scalar holding byte b1 - 1 (so a byte-fallback
token `<0xC3>` covers its whole scalar), both clamped to the word's length (BPE with a
continuing_subword_prefix and byte_fallback counts one byte per byte token of the
prefix too, so its offsets can run past the word); an empty range stays empty at s0.

The Precompiled fixture holds the nmt_nfkc charsmap of a sentencepiece model trained
here (zlib-compressed, then base64, to keep the fixture small: tokenizer.json stores it
plain base64), strings, `normalize_str` of each, and for
every output scalar the original scalar range it aligns to, read through
`PreTokenizedString` (normalise, split into single scalars, `get_splits` in original
char offsets).
"""

import base64
import json
import os
import random
import sys
import tempfile
import zlib

import sentencepiece as spm
import tokenizers
from tokenizers import (
    NormalizedString,
    PreTokenizedString,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    trainers,
)

assert tokenizers.__version__ == "0.23.3", tokenizers.__version__

OUT = os.path.join("Tests", "Fixtures", "tokenizer-models")

CORPUS = """\
The quick brown fox jumps over the lazy dog. Attention heads in BERT encoders learn
surprisingly structured patterns: some attend to the previous token, some to the next,
others to separators and punctuation. Tokenization splits words into subword units;
unbelievable, tokenizers, tokenization, re-tokenized, internationalization and
misunderstanding are long words that a small vocabulary cannot hold whole.
Café, naïve, résumé, façade, coöperate, jalapeño, São Paulo, Zürich, Kraków, Ærøskøbing.
Der schnelle braune Fuchs springt über den faulen Hund. Straße, Mädchen, Größe, Übung.
Le renard brun rapide saute par-dessus le chien paresseux. Où est la bibliothèque ?
El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está la estación?
Быстрая коричневая лиса прыгает через ленивую собаку. Привет, мир!
Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο. Καλημέρα κόσμε.
敏捷的棕色狐狸跳过了懒狗。我们今天学习自然语言处理。東京は日本の首都です。
こんにちは世界、今日はいい天気ですね。カタカナとひらがな。
빠른 갈색 여우가 게으른 개를 뛰어넘습니다. 안녕하세요 세계.
तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। नमस्ते दुनिया।
الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بالعالم.
שועל חום מהיר קופץ מעל הכלב העצלן. שלום עולם.
Numbers 0123456789, 3.14159, 2,718, 1e-9, 42nd, 1st, 2nd, 3rd, 100%, $5.00, €20, £7.
Emoji 😀 😃 😄 👍🏽 ❤️ 🇫🇷 👩‍💻 and symbols © ® ™ § ¶ † ‡ • … ← → ↑ ↓ ∞ ≈ ≠ ≤ ≥.
Full width ＡＢＣ ａｂｃ １２３ and ligatures ﬁ ﬂ ﬀ ﬃ, roman numerals Ⅰ Ⅱ Ⅻ, ① ② ③.
The encoder reads the text, the decoder writes the text, and the model learns the text.
Running runner runs ran; walking walker walks walked; talking talker talks talked.
Preprocessing, postprocessing, reprocessing, processing, processor, processed.
"""
CORPUS = (CORPUS * 3).splitlines()

random.seed(13)


def base_words():
    """A few hundred varied words: corpus words, affixes, accents, scripts, emoji, long."""
    words = []
    seen = set()

    def add(w):
        if w and w not in seen:
            seen.add(w)
            words.append(w)

    corpus_words = []
    for line in CORPUS[: len(CORPUS) // 3]:
        for w in line.split():
            corpus_words.append(w)
            corpus_words.append(w.strip(".,;:!?¿()"))
    corpus_words = list(dict.fromkeys(corpus_words))
    for w in random.sample(corpus_words, 150):
        add(w)
    extra = [
        "a", "I", "x", "zz", "qqqq", "xyzzy", "the", "THE", "The", "tHe",
        "hello", "helloworld", "unbelievably", "antidisestablishmentarianism",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "supercalifragilisticexpialidocious",
        "tokenizationtokenizationtokenization", "re-re-re", "--", "...", "!!!", "a.b.c",
        "caf\u00e9", "cafe\u0301", "n\u0303", "e\u0301\u0301", "\u00c5ngstr\u00f6m", "A\u030a",
        "\u0130stanbul", "\u00df", "\u1e9e", "\u0149", "\ufb01", "\ufb03", "\u2126", "\u212b",
        "\uff21\uff22\uff23", "\uff41", "\u3000", "\u2460", "\u2163", "\u00bd", "x\u00b2",
        "\u4e2d", "\u4e2d\u6587", "\u81ea\u7136\u8bed\u8a00\u5904\u7406", "\u9f98", "\u9fa5\u9fa5",
        "\u3053\u3093\u306b\u3061\u306f", "\u30ab\u30bf\u30ab\u30ca", "\ud55c\uad6d\uc5b4", "\u1100\u1161\u11a8",
        "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0915\u094d\u0937", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
        "\u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd", "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0",
        "\U0001f600", "\U0001f600\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f",
        "\U0001f1eb\U0001f1f7", "\U0001f469\u200d\U0001f4bb", "\U0001f9ec", "\U0001fae0",
        "a\U0001f600b", "\u200b", "a\u200db", "\u00ad", "x\u0000y", "\u0007", "\t", "\x7f",
        "\ue000", "\U000f0000", "\U0010fffd", "\ufffd", "\ufeff", "\u2028", "\u0085",
        "\U0001d400\U0001d401", "\U00020000", "\U0002a6d6", "\u00e9" * 30, "ab" * 40,
        "x" * 100, "x" * 101, "y" * 150, "\u4e2d" * 101, "\U0001f600" * 60,
        "running", "runner", "runs", "talked", "talking", "processing", "preprocessed",
        "encoder", "encoders", "decoding", "learned", "text", "texts", "textual",
        "brown", "browns", "foxes", "jumped", "jumping", "lazily", "dogs",
        "0", "7", "42", "3.14", "1e-9", "2024", "1234567890", "$5.00", "100%",
    ]
    for w in extra:
        add(w)
    # random mixes of corpus characters
    chars = sorted(set("".join(CORPUS)) - {" "})
    for _ in range(40):
        add("".join(random.choice(chars) for _ in range(random.randint(1, 12))))
    return words


def byte_offsets_to_scalars(word, start, end):
    """Byte range of `word`'s UTF-8 to a scalar range (see the module docstring)."""
    owner = []
    for i, ch in enumerate(word):
        owner.extend([i] * len(ch.encode("utf-8")))
    n = len(word)

    def scalar_at(b):
        return owner[b] if b < len(owner) else n

    s0 = min(scalar_at(start), n)
    if end <= start:
        return s0, s0
    s1 = min(scalar_at(end - 1) + 1, n)
    return s0, s1


def record(model, words):
    cases = []
    for w in words:
        toks = model.tokenize(w)
        out = []
        for t in toks:
            s0, s1 = byte_offsets_to_scalars(w, t.offsets[0], t.offsets[1])
            out.extend([t.id, s0, s1])
        cases.append({"word": w, "tokens": out})  # flat: id, start, end, id, ...
    return cases


def model_json(tok):
    return json.loads(tok.to_str())["model"]


def rebuilt(model_obj):
    """A `tokenizers` model from a tokenizer.json `model` object (through Tokenizer.from_str)."""
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": None,
        "model": model_obj,
    }
    return Tokenizer.from_str(json.dumps(doc)).model


FAMILIES = {}


def dumps(doc):
    """Compact UTF-8 JSON, U+FEFF escaped: Foundation's JSONSerialization drops a raw U+FEFF
    at the start of a string (key or value), but keeps the escaped form."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\ufeff", "\\ufeff") + "\n"


def write(family, name, base, changes, words, note):
    """Records a variant of `family`: the base model with the keys of `changes` replaced
    (a `vocab` change as `add_vocab`, the entries added to the base's vocab)."""
    model_obj = dict(base)
    change_doc = {}
    for key, value in changes.items():
        if key == "add_vocab":
            model_obj["vocab"] = {**base["vocab"], **value}
        else:
            model_obj[key] = value
        change_doc[key] = value
    model = rebuilt(model_obj)
    cases = record(model, words)
    fam = FAMILIES.setdefault(family, {"model": base, "variants": []})
    assert fam["model"] is base
    fam["variants"].append({"name": name, "note": note, "changes": change_doc, "cases": cases})
    n_tok = sum(len(c["tokens"]) for c in cases) // 3
    print(f"{family}/{name}: {len(cases)} words, {n_tok} tokens")


def flush():
    for family, doc in FAMILIES.items():
        path = os.path.join(OUT, family + ".json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(dumps(doc))
        print(f"{path}: {os.path.getsize(path)} bytes")


def bytes_to_unicode():
    """GPT-2's byte -> scalar map (what the ByteLevel pre-tokeniser applies)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main():
    os.makedirs(OUT, exist_ok=True)
    words = base_words()
    print(f"{len(words)} base words")

    # ---- WordPiece
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(
        vocab_size=700, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"], limit_alphabet=120))
    wp = model_json(tok)
    write("wordpiece", "base", wp, {}, words, "WordPiece trained on the corpus, ## prefix, max 100 chars")
    at_vocab = {(("@@" + k[2:]) if k.startswith("##") else k): v for k, v in wp["vocab"].items()}
    write("wordpiece", "at-max8", wp,
          {"max_input_chars_per_word": 8, "continuing_subword_prefix": "@@", "vocab": at_vocab},
          words, "the same vocabulary with prefix @@ and max 8 chars")

    # ---- byte-level BPE (legacy "a b" merges)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=900, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"]))
    bl = model_json(tok)
    bl["merges"] = [a + " " + b for a, b in bl["merges"]]
    m = bytes_to_unicode()
    mapped = []
    for w in words:
        v = "".join(m[b] for b in w.encode("utf-8"))
        mapped.append(v)
        if len(mapped) % 4 == 0:
            mapped[-1] = "\u0120" + v
    mapped = list(dict.fromkeys(mapped))
    write("bpe-bytelevel", "base", bl, {}, mapped,
          "byte-level BPE, merges as 'a b' strings; words already byte-mapped")
    write("bpe-bytelevel", "ignore-merges", bl, {"ignore_merges": True}, mapped[::2],
          "the same with ignore_merges")

    # ---- char-level BPE with prefix and suffix, unknown chars
    tok = Tokenizer(models.BPE(unk_token="<unk>", continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=800, special_tokens=["<unk>"], limit_alphabet=70,
        continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    cb = model_json(tok)
    write("bpe-char", "base", cb, {}, words, "char BPE, ## prefix, </w> suffix, unk <unk>, no fuse")
    write("bpe-char", "fuse", cb, {"fuse_unk": True}, words, "the same with fuse_unk")
    # byte fallback: the byte tokens of bytes 0x00-0xBF and 0xE0-0xEF only, so that
    # 2- and 4-byte scalars (lead bytes 0xC0-0xDF, 0xF0-0xFF) still fall back to <unk>.
    nxt = max(cb["vocab"].values()) + 1
    add = {}
    for b in list(range(0x00, 0xC0)) + list(range(0xE0, 0xF0)):
        add[f"<0x{b:02X}>"] = nxt
        nxt += 1
    write("bpe-char", "bytefallback-fuse", cb,
          {"add_vocab": add, "byte_fallback": True, "fuse_unk": True}, words,
          "byte_fallback (byte tokens 00-BF, E0-EF only) and fuse_unk")
    write("bpe-char", "bytefallback-nounk", cb,
          {"add_vocab": add, "byte_fallback": True, "unk_token": None}, words,
          "byte_fallback, no unk token (what cannot fall back is dropped)")

    # ---- Unigram from sentencepiece
    tmp = tempfile.mkdtemp()
    text = os.path.join(tmp, "corpus.txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write("\n".join(CORPUS) + "\n")
    charsmap = None
    for fallback in (False, True):
        prefix = os.path.join(tmp, f"uni{int(fallback)}")
        spm.SentencePieceTrainer.train(
            input=text, model_prefix=prefix, model_type="unigram", vocab_size=650 if fallback else 400, hard_vocab_limit=False,
            character_coverage=0.98, byte_fallback=fallback, normalization_rule_name="nmt_nfkc",
            num_threads=1, seed_sentencepiece_size=20000, minloglevel=2)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
        vocab = [[sp.id_to_piece(i), sp.get_score(i)] for i in range(sp.get_piece_size())]
        uni = {"type": "Unigram", "unk_id": sp.unk_id(), "vocab": vocab, "byte_fallback": fallback}
        uwords = []
        for i, w in enumerate(words):
            uwords.append(w if i % 3 == 0 else "\u2581" + w)
        uwords = list(dict.fromkeys(uwords))
        family = "unigram-bytefallback" if fallback else "unigram"
        write(family, "base", uni, {}, uwords,
              f"sentencepiece unigram (byte_fallback={fallback}) as tokenizers' Unigram")
        if charsmap is None:
            with open(prefix + ".model", "rb") as f:
                charsmap = precompiled_charsmap(f.read())

    flush()

    # ---- Precompiled charsmap
    prec = normalizers.Precompiled(charsmap)
    strings = charsmap_strings(words)
    cases = []
    for s in strings:
        out = prec.normalize_str(s)
        pts = PreTokenizedString(s)
        pts.normalize(lambda ns: prec.normalize(ns))
        pts.split(lambda i, ns: [ns.slice((j, j + 1)) for j in range(len(ns.normalized))])
        splits = pts.get_splits(offset_referential="original", offset_type="char")
        assert "".join(p[0] for p in splits) == out, (s, out, splits)
        offs = []
        for piece, (a, b), _ in splits:
            assert len(piece) == 1
            offs.append([a, b])
        cases.append({"input": s, "output": out, "offsets": offs})
    path = os.path.join(OUT, "precompiled-nmt-nfkc.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps({"note": "nmt_nfkc precompiled_charsmap of a sentencepiece 0.2 model; "
                               "offsets: original scalar range of each output scalar",
                       "charsmap_bytes": len(charsmap),
                       "precompiled_charsmap_zlib": base64.b64encode(zlib.compress(charsmap, 9)).decode("ascii"),
                       "cases": cases}))
    print(f"{path}: {len(cases)} strings, {os.path.getsize(path)} bytes")


def charsmap_strings(words):
    strings = [
        "", "abc", "Hello, World!", "\uff28\uff45\uff4c\uff4c\uff4f", "\uff11\uff12\uff13", "\uff01\uff1f",
        "\ufb01ne", "\ufb02ow", "\ufb00", "\ufb03x", "\u2122", "\u2122\x1eg", "\x1eab", "a\x1e", "\x1e",
        "\u2126", "\u212b", "\u00c5", "A\u030a", "e\u0301", "cafe\u0301", "n\u0303o", "a\u0301\u0301",
        "\u1e9b\u0323", "\u0390", "\u1fd3", "\u3000", "x\u3000y", "\u00a0", "a\u00a0b", "\u2002\u2003",
        "\u2460\u2461\u2469", "\u2474", "\u2488", "\u2160\u2161\u216b", "\u00bd", "\u00bc\u00be", "x\u00b2\u00b3",
        "\u2080\u2081", "\u00b5", "\u03bc", "\u017f", "\u1e9e", "\u00df", "\u0132", "\u01c4\u01c5\u01c6",
        "\u3231", "\u3300", "\u33a1", "\u2100", "\u2103", "\u2109", "\u2116", "\u2026", "\u2025",
        "\uff8a\uff9f", "\uff76\uff9e", "\uff67", "\u30ac", "\u30ab\u3099", "\u304b\u309a",
        "\u1100\u1161", "\u1100\u1161\u11a8", "\uac00", "\uac01", "\u3131", "\uffa1",
        "\x00", "a\x00b", "\x01\x02\x03", "\t", "\n", "\r\n", "a\tb\nc", "\x7f", "\x85", "\u200b",
        "\u200c\u200d", "\u2028\u2029", "\ufeff", "\u00ad", "a\u00adb", "\u034f", "\u180e",
        "\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f1eb\U0001f1f7",
        "\U0001f469\u200d\U0001f4bb", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
        "1\ufe0f\u20e3", "\u00a9\ufe0f", "\U0001d400\U0001d41a", "\U0001d7ce", "\U0001f130",
        "\u0915\u094d\u0937", "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0915\u093c", "\u0958",
        "\u0e01\u0e33", "\u0e33", "\u0eb3", "\u0f77", "\u0f79", "\u0627\u0644\u0639", "\ufefb", "\ufdfa",
        "\ufe8d", "\u05e9\u05c1", "\ufb2a", "\u0130", "I\u0307", "\u0345", "\u1f80",
        "\u2f00", "\u2e9f", "\uf900", "\ufa10", "\U0002f800", "\u4e2d\u6587", "\u3400", "\U00020000",
        "\u00e9" * 20, "\uff41" * 40, "x" * 300, "\ufb01" * 50, "\u2122" * 20,
        "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
        "\u1e00\u1e01", "\u01d5", "\u0227\u0304", "a\u0308\u0301", "a\u0328\u0301", "o\u031b\u0323",
        "\u0d4c", "\u0d46\u0d57", "\u0bca", "\u0b95\u0bcd\u0bb7", "\u1b06", "\u1b05\u1b35",
        "\ufe10", "\ufe30", "\ufe59", "\uff5f", "\u2474\u2475", "\u24b6\u24d0", "\u3200", "\u32ff",
        "\U0001f100", "\U0001f190", "\ue000", "\U000f0000", "\ufffd", "\uffff",
    ]
    strings += words[::3]
    mix = sorted(set("".join(strings)))
    rnd = random.Random(7)
    for _ in range(80):
        strings.append("".join(rnd.choice(mix) for _ in range(rnd.randint(1, 10))))
    return list(dict.fromkeys(strings))


def precompiled_charsmap(model_bytes):
    """normalizer_spec.precompiled_charsmap (ModelProto field 3, its field 2) of a .model."""

    def varint(buf, i):
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value, i

    def fields(buf):
        i = 0
        while i < len(buf):
            key, i = varint(buf, i)
            num, wire = key >> 3, key & 7
            if wire == 0:
                val, i = varint(buf, i)
            elif wire == 1:
                val, i = buf[i:i + 8], i + 8
            elif wire == 2:
                n, i = varint(buf, i)
                val, i = buf[i:i + n], i + n
            elif wire == 5:
                val, i = buf[i:i + 4], i + 4
            else:
                raise ValueError(f"wire type {wire}")
            yield num, wire, val

    for num, wire, val in fields(model_bytes):
        if num == 3 and wire == 2:
            for n2, w2, v2 in fields(val):
                if n2 == 2 and w2 == 2:
                    return bytes(v2)
    raise ValueError("no precompiled_charsmap")


if __name__ == "__main__":
    sys.exit(main())

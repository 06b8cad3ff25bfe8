#!/usr/bin/env python3
"""Builds labelled/v3: a FRESH held-out set for the pattern classifier, drawn after the classifier
was fitted on all of labelled/v2 (so none of its texts or maps were ever seen while tuning). It is
labelled blind by two new labellers (E, F) from sheets and scored exactly once.

Why a third set: v2's held-out half was scored several times while the features and the model
were chosen, so its held-out numbers are no longer clean. v3 is drawn, rendered and labelled
before the frozen classifier is ever run on it.

How the 6 inputs are drawn (exactly; deterministic, rerunning reproduces them):
  1. Candidates and length classes as in make_labelled_set.py (steps 1-2 of its docstring),
     minus the 22 texts of v2 (its maps.json).
  2. rng = random.Random(20261203 + 100); for kind in (single, pair): for class in (short,
     medium, long): rng.sample(pool, 1) -> 3 singles + 3 pairs (list order = that); ids u01-u06
     in that order. Every map of every input: 6 layers x 12 heads = 432 maps, all "heldout".
  3. Maps recomputed with the float64 numpy BERT of make_labelled_maps.py; self-check of the
     longest input against transformers (eager attention), |numpy - torch| < 1e-5. PNGs and the
     24 MapFeatures exactly as in v2 (same drawing code, imported).

Sheets (/tmp/labelling-v3/sheets/E-01.png ..., /tmp/labelling-v3/E.json, F.json; not committed):
  own: labeller E gets the 216 maps of u01-u03 shuffled with random.Random(31), F those of
  u04-u06 with random.Random(32). From one random.Random(33): rng.sample(E's own ids, 40) go to
  F (second opinion) and rng.sample(F's own ids, 40) to E. Calibration against v2's consensus
  labels: random.Random(34).sample(v2 map ids, 64), the first 32 to E and the rest to F (how far
  the new labellers are from the labellers who labelled the set the classifier was fitted on).
  Each labeller's list = own + overlap + calibration, shuffled with random.Random(35) for E and
  random.Random(36) for F -> 288 maps = 18 sheets of 16, same style as v2's sheets (no layer,
  head or text shown).

v4 (--set v4), drawn the same way after v3 was scored and the classifier refitted on v2 + v3:
  seed 20261304 + 100, texts w01-w06, none of v2's or v3's; labellers G and H (shuffles 41-46 in
  place of 31-36, calibration again from v2 with random.Random(44)); sheets in /tmp/labelling-v4.

v5 (--set v5), drawn after v4 was scored, to decide issue 20 on more fresh maps without refitting:
  seed 20261305 + 100, texts x01-x06, none of v2-v4's; labellers I and J (shuffles 51-56).

v6 (--set v6), drawn after v4 + v5 missed one target and the classifier was refitted on v2-v5:
  seed 20261306 + 100, texts y01-y06, none of v2-v5's; labellers K and L (shuffles 61-66). The
  corpus has no single sentence of >= 25 tokens left, so an empty class draws from the class below
  it (in v6: a second medium single), never the same text twice.

v7 (--set v7), drawn after v6 missed heterogeneous precision by one map, to score the same frozen v6
  model on more fresh maps (no refit; labelled/v7/DECISION.md): seed 20261307 + 100, texts z01-z16,
  none of v2-v6's, per kind 3 short, 3 medium, 2 long (no long single left: medium ones instead).
  Four labellers M N O P, each owning 4 consecutive texts (288 maps); M and N see 40 of each other's
  maps, O and P likewise (random.Random(75)); 24 v2 calibration maps each (random.Random(76));
  own shuffles 71-74, sheet order 77-80 -> 352 maps = 22 sheets of 16 each.

Run (~1 min): /tmp/pyref/venv/bin/python Tests/Fixtures/analysis/make_fresh_set.py [--set v4] [MODEL_DIR]
"""
import json, os, random, sys


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_labelled_set as mls  # noqa: E402
from make_labelled_maps import load_safetensors  # noqa: E402

V2 = os.path.join(HERE, "labelled", "v2")
SETS = {
    "v3": {"seed": 20261203 + 100, "prefix": "u", "who": ("E", "F"), "shuffles": ((31, 32), 33, 34, (35, 36)),
           "exclude": ["v2"]},
    "v4": {"seed": 20261304 + 100, "prefix": "w", "who": ("G", "H"), "shuffles": ((41, 42), 43, 44, (45, 46)),
           "exclude": ["v2", "v3"]},
    "v5": {"seed": 20261305 + 100, "prefix": "x", "who": ("I", "J"), "shuffles": ((51, 52), 53, 54, (55, 56)),
           "exclude": ["v2", "v3", "v4"]},
    "v6": {"seed": 20261306 + 100, "prefix": "y", "who": ("K", "L"), "shuffles": ((61, 62), 63, 64, (65, 66)),
           "exclude": ["v2", "v3", "v4", "v5"]},
    # v7: 16 texts, four labellers (M N as a pair, O P as a pair), own seeds 71-74, overlap 75, calibration
    # 76 (24 v2 maps each), sheet order 77-80
    "v7": {"seed": 20261307 + 100, "prefix": "z", "who": ("M", "N", "O", "P"),
           "counts": {"single": (3, 3, 2), "pair": (3, 3, 2)}, "calibration": 24,
           "shuffles": ((71, 72, 73, 74), 75, 76, (77, 78, 79, 80)), "exclude": ["v2", "v3", "v4", "v5", "v6"]},
}
NAME = sys.argv[sys.argv.index("--set") + 1] if "--set" in sys.argv else "v3"
CONFIG = SETS[NAME]
OUT = os.path.join(HERE, "labelled", NAME)
SHEETS = f"/tmp/labelling-{NAME}"
SEED = CONFIG["seed"]


def draw(tok, used):
    singles, pairs = mls.candidates()
    rng = random.Random(SEED)
    chosen = []
    for kind, cands in (("single", singles), ("pair", pairs)):
        cands = [t for t in cands if t not in used]
        lengths = [mls.text_length(tok, t) for t in cands]
        counts = CONFIG.get("counts", {}).get(kind, (1, 1, 1))
        for k, (cls_name, lo, hi) in enumerate(mls.CLASSES[kind]):
            want = counts[k]
            pool = [t for t, n in zip(cands, lengths) if lo <= n <= hi and t not in [c["key"] for c in chosen]]
            while len(pool) < want and k > 0:  # v6, v7: no long single left -> the class below
                k -= 1
                cls_name, lo, hi = mls.CLASSES[kind][k]
                pool = [t for t, n in zip(cands, lengths) if lo <= n <= hi and t not in [c["key"] for c in chosen]]
            for t in rng.sample(pool, want):
                chosen.append({"text": t[0], "pair": t[1], "kind": kind, "class": cls_name, "key": t})
    for k, t in enumerate(chosen):
        del t["key"]
        t["id"] = f"{CONFIG['prefix']}{k + 1:02d}"
        t["split"] = "heldout"
        t["stage"] = 3
    return chosen


def main():
    from transformers import AutoTokenizer
    mls.OUT, mls.SHEETS = OUT, SHEETS
    model = mls.MODEL
    tok = AutoTokenizer.from_pretrained(model)
    weights = load_safetensors(os.path.join(model, "model.safetensors"))
    cfg = json.load(open(os.path.join(model, "config.json")))
    nl, nh = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    v2 = json.load(open(os.path.join(V2, "maps.json"), encoding="utf-8"))
    used = set()
    for name in CONFIG["exclude"]:
        prior = json.load(open(os.path.join(HERE, "labelled", name, "maps.json"), encoding="utf-8"))
        used |= {(t["text"], t["pair"]) for t in prior["texts"]}
    texts = draw(tok, used)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".png"):
            os.remove(os.path.join(OUT, f))
    ctx = {"key": {}, "kinds": {}, "segments": {}}
    maps_of, entries = {}, []

    for t in texts:
        encoded = mls.encode(tok, weights, cfg, t, maps_of, ctx)
        for l in range(nl):
            for h in range(nh):
                mls.add_map(OUT, t, l + 1, h + 1, encoded, 3, entries, ctx, split="heldout")
    longest = max(texts, key=lambda t: len(t["ids"]))
    mls.self_check(weights, cfg, longest, maps_of[longest["id"]])
    rows = [{k: t[k] for k in ("id", "text", "pair", "tokens", "ids", "segments", "split", "stage")} for t in texts]
    mls.write_maps_json(rows, entries)

    # calibration maps from v2 (rendered on the sheets only)
    who = CONFIG["who"]
    # seeds: ((own shuffle per labeller), overlap, calibration, (sheet order per labeller))
    s_own, s_overlap, s_calib, s_seq = CONFIG["shuffles"]
    per = CONFIG.get("calibration", 32)
    calib = random.Random(s_calib).sample([e["id"] for e in v2["maps"]], per * len(who))
    for t in v2["texts"]:
        if any(c.startswith(t["id"] + "-") for c in calib):
            mls.encode(tok, weights, cfg, dict(t), maps_of, ctx)
            for l in range(nl):
                for h in range(nh):
                    ctx["key"][f"{t['id']}-L{l + 1}H{h + 1}"] = (t["id"], l, h)

    # labeller i owns the i-th consecutive run of texts; labellers 2j and 2j+1 see 40 of each other's maps
    ids = [t["id"] for t in texts]
    own = {}
    for i, w in enumerate(who):
        mine = set(ids[i * len(ids) // len(who):(i + 1) * len(ids) // len(who)])
        own[w] = [e["id"] for e in entries if e["text_id"] in mine]
    rng = random.Random(s_overlap)
    seen = {}
    for a, b in zip(who[0::2], who[1::2]):
        seen[b] = rng.sample(own[a], 40)
        seen[a] = rng.sample(own[b], 40)
    for i, w in enumerate(who):
        random.Random(s_own[i]).shuffle(own[w])
    seqs = {w: own[w] + seen[w] + calib[i * per:(i + 1) * per] for i, w in enumerate(who)}
    for i, w in enumerate(who):
        random.Random(s_seq[i]).shuffle(seqs[w])
    os.makedirs(os.path.join(SHEETS, "sheets"), exist_ok=True)
    for f in os.listdir(os.path.join(SHEETS, "sheets")):
        if f.endswith(".png"):
            os.remove(os.path.join(SHEETS, "sheets", f))
    for w, seq in seqs.items():
        sheets = []
        for k in range(0, len(seq), 16):
            name = f"{w}-{k // 16 + 1:02d}.png"
            mls.make_sheet(name, seq[k:k + 16], maps_of, ctx)
            sheets.append({"sheet": name, "cells": seq[k:k + 16]})
        with open(os.path.join(SHEETS, f"{w}.json"), "w") as f:
            json.dump(sheets, f, indent=1)
        print(f"labeller {w}: {len(seq)} maps on {len(sheets)} sheets, {SHEETS}/{w}.json")
    design = {f"{w}_own": sorted(own[w]) for w in who}
    design.update({f"{w}_overlap": sorted(seen[w]) for w in who})
    design.update({f"{w}_calibration": sorted(calib[i * per:(i + 1) * per]) for i, w in enumerate(who)})
    with open(os.path.join(SHEETS, "design.json"), "w") as f:
        json.dump(design, f, indent=1)
    for t in texts:
        print(f"{t['id']} {t['kind']:6s} {t['class']:6s} L={len(t['ids']):2d} {t['text']!r} / {t['pair']!r}")
    size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".png"))
    print(f"{len(entries)} maps; PNGs in {OUT}: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

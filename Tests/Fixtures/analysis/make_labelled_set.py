#!/usr/bin/env python3
"""Builds the v2 labelling set: every map (6 layers x 12 heads) of 12 inputs of all-MiniLM-L6-v2,
as small PNGs + their MapFeatures (Tests/Fixtures/analysis/labelled/v2/), and the shuffled
labelling sheets for two labellers (/tmp/labelling/, not committed). No labels here: they are
given by eye on the sheets (protocol: PROTOCOL.md of the labelling brief) and stored separately.

How the 12 inputs were drawn (exactly; deterministic, rerunning reproduces them):
  1. Candidates: the lines of samples/wordnet-sentences.txt (singles) and the first two TAB
     fields of the lines of samples/wordnet-pairs.tsv (pairs), in file order, duplicates
     dropped (first kept), tokenized with the model's tokenizer (AutoTokenizer; its ids,
     tokens and token type ids are stored, everything else is recomputed from the ids).
     Length L counts [CLS] and [SEP]s (for a pair, both texts together).
  2. Length classes. The brief asked for short 8-14, medium 15-30, long 31-60 tokens per
     kind, but the corpus cannot fill them: only 1 single sentence has >= 31 tokens (the
     longest has 32; 8 have >= 25) and no pair has <= 14 tokens (the shortest have 15). So:
       singles: short 8-14, medium 15-24, long 25-60;
       pairs:   short 15-16, medium 17-30, long 31-60.
  3. rng = random.Random(20261201); for kind in (single, pair), for class in (short, medium,
     long): rng.sample(candidates of that kind and class, 2) -> 12 inputs (list order = that).
  4. Ids: order = list(range(12)); random.Random(20261201).shuffle(order) (a fresh generator);
     input order[k] gets id t{k+1:02d}. Split: odd ids (t01, t03, ...) = "tune", even =
     "heldout".
  5. Balance fix: each split must hold one input of each of the 6 kind x class cells (so 3
     singles + 3 pairs and every length). A cell whose two inputs landed in the same split is
     "doubled" there; tune and heldout always have as many doubled cells. Take the doubled
     cells of tune and of heldout each in order of their lower id; the k-th of tune and the
     k-th of heldout swap the ids of their higher-id inputs. (The script prints the swaps.)

Every map of every input is recomputed with an independent float64 numpy BERT (the code of
make_labelled_maps.py) from the stored ids and segments; a self-check recomputes all maps of
the longest input with transformers (eager attention, output_attentions) and asserts
|numpy - torch| < 1e-5.

Images (labelled/v2/<text id>-L<l>H<h>.png, 8-bit palette PNG): white = 0, black = the map's
largest entry (linear, 240 grey levels), rows = queries, 5 px per token, a grey 4-px margin.
Ticks in the top and left margins over the token's column/row: red = [CLS] and every [SEP],
blue = punctuation (TokenKind.isPunctuation); for a pair, a black 2-px line across all four
margins where the second segment starts (as in make_labelled_maps.py).

maps.json: {"feature_names": [24 names, MapFeatures order], "texts": [{id, text, pair (second
text or null), tokens, ids, segments, split}], "maps": [{id "t01-L3H7", text_id, split, layer,
head (from 1), image, features (24 floats, float64, the definitions of MapFeatures /
AttentionFeatures.compute)}]}.

Sheets (/tmp/labelling/sheets/A-01.png ...; /tmp/labelling/A.json, B.json): labeller A gets
the 432 maps of t01-t06 shuffled with random.Random(1), labeller B those of t07-t12 with
random.Random(2); then, from one random.Random(3): rng3.sample(A's map ids, 72) go to B's
extra sheets after B's own, and rng3.sample(B's map ids, 72) to A's extra sheets (a second
opinion on 72 maps of each labeller). 16 maps per sheet, 4 x 4, each map nearest-neighbour
scaled to a 200 x 200 px core with the same ticks in a 12-px margin, a sheet-local number 1-16
above each cell and the sheet name in the top-left corner; no layer, head or text shown.
504 maps per labeller -> 31 full sheets + 1 sheet of 8.

Stage 2 (a targeted draw for the rare type). In the first labelling (labels-A/B.json) only ~45
of the 864 maps were labelled "diagonal", too few (we need >= 60, better 75), and almost all of
them came from 4 heads: L1H3 (13), L1H5 (8), L1H6 (8), L2H9 (7) (counts over both labellers,
overlap included; no other head had more than 1). So stage 2 adds 10 inputs and takes from each
only the maps of those 4 heads plus 4 other heads drawn at random per text, so that on the
sheets the labeller cannot tell targeted from random maps. Exactly (deterministic):
  1. Candidates and length classes as in steps 1-2, minus the 12 stage-1 inputs.
  2. rng = random.Random(20261202); for kind in (single, pair): one = rng.randrange(3) is the
     class (index into short, medium, long) that gets 1 input, the other two get 2; for class
     in (short, medium, long): rng.sample(pool, count) -> 5 singles + 5 pairs (list order).
  3. Ids: order = list(range(10)); random.Random(20261202).shuffle(order) (fresh generator);
     input order[k] gets id t{13+k}. Split: odd ids (t13, t15, ...) = "tune", even = "heldout".
  4. Balance fix: each split must hold 2 or 3 singles (so 2-3 pairs too). While tune has more
     than 3 singles, its highest-id single swaps ids with the highest-id pair of heldout; while
     it has fewer than 2, its highest-id pair swaps with the highest-id single of heldout.
  5. Maps: for each text in id order, heads = L1H3, L1H6, L2H9, L1H5 + random.Random(20261203)
     .sample(the 68 other heads in (layer, head) order, 4) (one generator for all texts); the 8
     maps are stored in (layer, head) order -> 80 maps. PNGs and features exactly as stage 1.
  maps.json: every text and map entry gains "stage" (1 or 2); stage-2 entries follow stage 1's.
  Self-check also on the longest stage-2 input.
  Sheets for a third labeller C (/tmp/labelling/sheets/C-01.png ..., /tmp/labelling/C.json, same
  style and format as A/B): the 80 stage-2 maps + random.Random(20261204).sample(the 864 stage-1
  map ids, 48) (a third opinion for agreement), concatenated in that order and shuffled with
  random.Random(5) -> 128 maps on 8 sheets of 16.

Run (~1 min): /tmp/pyref/venv/bin/python Tests/Fixtures/analysis/make_labelled_set.py [MODEL_DIR]

Features only (numpy only, ~30 s; what added MapFeatures 20-23): recompute every map from the ids
and segments stored in maps.json and rewrite its "feature_names" and "features", nothing else:
  python3 Tests/Fixtures/analysis/make_labelled_set.py --features-only [MODEL_DIR]
"""
import json, os, random, struct, sys, unicodedata, zlib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
FEATURES_ONLY = "--features-only" in sys.argv[1:]
ARGS = [a for i, a in enumerate(sys.argv[1:]) if a not in ("--features-only", "--set") and sys.argv[i] != "--set"]
MODEL = ARGS[0] if ARGS else os.path.expanduser("~/.local/share/bertscope/models/all-MiniLM-L6-v2")
OUT = os.path.join(HERE, "labelled", "v2")
SHEETS = "/tmp/labelling"
SEED = 20261201
SEED2, SEED2_HEADS, SEED2_C = 20261202, 20261203, 20261204
TARGET_HEADS = [(1, 3), (1, 6), (2, 9), (1, 5)]   # (layer, head) from 1: diagonal in stage 1

CLASSES = {
    "single": [("short", 8, 14), ("medium", 15, 24), ("long", 25, 60)],
    "pair": [("short", 15, 16), ("medium", 17, 30), ("long", 31, 60)],
}
FEATURE_NAMES = ["cls", "sep", "punct", "self", "prev", "next", "entropy", "specialMass", "punctMass",
                 "maxColumn", "columnEntropy", "bandOther", "withinOther", "crossOther",
                 "clsRowCLS", "clsRowSEP", "clsRowPunct", "clsRowOther", "length", "withinUniform",
                 "darkColumn", "greyColumn", "darkBand", "nearBand"]
FEATURE_COUNT = len(FEATURE_NAMES)  # MapFeatures.count
CLS, SEP, PUNCT, OTHER = 0, 1, 2, 3

# ---------------------------------------------------------------- numpy BERT: make_labelled_maps.py's

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_labelled_maps import attention_maps, load_safetensors  # noqa: E402


# ---------------------------------------------------------------- token kinds and MapFeatures


def is_punct_char(ch):
    o = ord(ch)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return unicodedata.category(ch) in ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po")


def is_punct_token(token):
    """TokenKind.isPunctuation(token:)."""
    body = token
    if body.startswith("##") and len(body) > 2:
        body = body[2:]
    elif (body.startswith("\u0120") or body.startswith("\u2581")) and len(body) > 1:
        body = body[1:]
    return len(body) > 0 and all(is_punct_char(c) for c in body)


def token_kinds(ids, tokens, cls_id, sep_id):
    """TokenKind.kinds(of:tokenizer:): [CLS]/[SEP] by id, punctuation by token string."""
    return [CLS if i == cls_id else SEP if i == sep_id else PUNCT if is_punct_token(t) else OTHER
            for i, t in zip(ids, tokens)]


def within_uniform(kinds, segments):
    """AttentionFeatures.withinUniform, in float64."""
    per, total = {}, 0
    for k, s in zip(kinds, segments):
        if k != CLS and k != SEP:
            per[s] = per.get(s, 0) + 1
            total += 1
    if total == 0 or not kinds:
        return 1.0
    return sum(per.get(s, 0) / total for s in segments) / len(kinds)


def ramp(x, t):
    """AttentionFeatures.ramp: 0 below t - 0.05, 1 above t + 0.05, linear between."""
    return np.clip((x - t) * 10 + 0.5, 0.0, 1.0)


def row_features(a):
    """MapFeatures 20-23 (the row-wise ones, issue 20), float64: with m = max A, r_i = max_j A[i,j]
    and b_i = max_{|j-i|<=1} A[i,j]: darkColumn = max_j (1/L) sum_i ramp(A[i,j]/m, 0.4),
    greyColumn = the same at 0.25, darkBand = (1/L) sum_i ramp(b_i/m, 0.4),
    nearBand = (1/L) sum_i ramp(b_i/r_i, 0.5)."""
    n = a.shape[0]
    m = a.max()
    r = a.max(1)
    b = np.array([a[i, max(i - 1, 0):i + 2].max() for i in range(n)])
    return [float(ramp(a / m, 0.4).sum(0).max() / n), float(ramp(a / m, 0.25).sum(0).max() / n),
            float(ramp(b / m, 0.4).mean()), float(ramp(b / r, 0.5).mean())]


def map_features(a, kinds, segments, wu):
    """The MapFeatures of one L x L map (rows = queries), float64 (AttentionFeatures.compute)."""
    n = a.shape[0]
    kinds, seg = np.asarray(kinds), np.asarray(segments)
    other = ((kinds != CLS) & (kinds != SEP)).astype(np.float64)
    same = seg[:, None] == seg[None, :]
    c = a.sum(0) / n
    def kmax(k):
        return float(max([0.0] + list(c[kinds == k])))
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(a > 0, a * np.log(np.where(a > 0, a, 1)), 0.0)
        clogc = np.where(c > 0, c * np.log(np.where(c > 0, c, 1)), 0.0)
    idx = np.arange(n)
    band = np.abs(idx[:, None] - idx[None, :]) <= 1
    ao = a * other[None, :]
    out = [0.0] * FEATURE_COUNT
    out[0], out[1], out[2] = kmax(CLS), kmax(SEP), kmax(PUNCT)
    out[3] = float(np.trace(a) / n)
    if n > 1:
        out[4] = float(np.diagonal(a, -1).sum() / (n - 1))
        out[5] = float(np.diagonal(a, 1).sum() / (n - 1))
    out[6] = float(-plogp.sum() / n)
    out[7] = float(c[kinds == CLS].sum() + c[kinds == SEP].sum())
    out[8] = float(c[kinds == PUNCT].sum())
    out[9] = float(max(0.0, c.max()))
    out[10] = float(-clogc.sum())
    out[11] = float(ao[band].sum() / n)
    out[12] = float(ao[same].sum() / n)
    out[13] = float(ao[~same].sum() / n)
    for k, slot in ((CLS, 14), (SEP, 15), (PUNCT, 16), (OTHER, 17)):
        out[slot] = float(a[0, kinds == k].sum())
    out[18] = float(n)
    out[19] = float(wu)
    out[20:24] = row_features(a)
    return out

# ---------------------------------------------------------------- PNG writing and drawing

GREYS = 240                      # palette 0..239: linear grey ramp, white (0) .. black (239)
MARGIN, RED, BLUE, TICK = 240, 241, 242, 243
PALETTE = [(round(255 - 255 * g / (GREYS - 1)),) * 3 for g in range(GREYS)]
PALETTE += [(190, 190, 190), (215, 0, 0), (0, 90, 255), (0, 0, 0)]


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def write_png(path, img, palette=None):
    """img: [h, w] uint8 palette indices (palette given) or [h, w, 3] uint8 RGB."""
    h, w = img.shape[:2]
    ctype = 3 if palette is not None else 2
    rows = img.reshape(h, -1)
    raw = b"".join(b"\x00" + rows[r].tobytes() for r in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(v for rgb in palette for v in rgb))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def spans(L, size):
    """Pixel span [start, end) of each token when L tokens fill `size` px (nearest neighbour)."""
    edges = [(t * size + L - 1) // L for t in range(L + 1)]  # first pixel x with floor(x*L/size) >= t
    return [(edges[t], edges[t + 1]) for t in range(L)]


def draw_map(m, kinds, segments, core, pad):
    """Palette-index image: the map nearest-neighbour scaled to core x core px, a pad-px grey margin
    with kind ticks (top, left) and the pair boundary (all four sides)."""
    L = m.shape[0]
    a = np.clip(m / max(m.max(), 1e-9), 0, 1)
    q = (a * (GREYS - 1)).round().astype(np.uint8)
    pix = (np.arange(core) * L) // core
    img = np.full((core + 2 * pad, core + 2 * pad), MARGIN, np.uint8)
    img[pad:pad + core, pad:pad + core] = q[pix][:, pix]
    sp = spans(L, core)
    for t, k in enumerate(kinds):
        if k in (CLS, SEP, PUNCT):
            c = RED if k != PUNCT else BLUE
            s0, s1 = sp[t][0] + pad, sp[t][1] + pad
            img[:pad, s0:s1] = c
            img[s0:s1, :pad] = c
    if 1 in segments:
        b = sp[segments.index(1)][0] + pad
        w = max(1, pad // 4)
        for lo, hi in ((b - w, b + w),):
            img[lo:hi, :pad] = TICK
            img[lo:hi, -pad:] = TICK
            img[:pad, lo:hi] = TICK
            img[-pad:, lo:hi] = TICK
    return img


FONT = {  # 5 x 7 glyphs
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "B": ["11110", "10001", "10001", "11110", "10001", "10001", "11110"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "F": ["11111", "10000", "10000", "11110", "10000", "10000", "10000"],
    "G": ["01110", "10001", "10000", "10111", "10001", "10001", "01111"],
    "H": ["10001", "10001", "10001", "11111", "10001", "10001", "10001"],
    "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    "J": ["00111", "00010", "00010", "00010", "00010", "10010", "01100"],
    "K": ["10001", "10010", "10100", "11000", "10100", "10010", "10001"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
}


def text_width(s, scale):
    return (6 * len(s) - 1) * scale


def draw_text(img, s, x, y, scale, colour=(0, 0, 0)):
    for ch in s:
        for r, row in enumerate(FONT[ch]):
            for c, bit in enumerate(row):
                if bit == "1":
                    img[y + r * scale:y + (r + 1) * scale, x + c * scale:x + (c + 1) * scale] = colour
        x += 6 * scale


def make_sheet(name, cells, maps_of, ctx):
    core, pad, gap, num_scale, head = 200, 12, 36, 5, 84
    box = core + 2 * pad
    label_h = 7 * num_scale + 10
    W = 4 * box + 5 * gap
    rows = (len(cells) + 3) // 4
    H = head + rows * (label_h + box) + rows * gap
    pal = np.array(PALETTE, np.uint8)
    sheet = np.full((H, W, 3), 255, np.uint8)
    draw_text(sheet, name[:-4], 16, 16, 6)
    for n, mid in enumerate(cells):
        r, c = divmod(n, 4)
        x = gap + c * (box + gap)
        y = head + r * (label_h + box + gap)
        label = str(n + 1)
        draw_text(sheet, label, x + (box - text_width(label, num_scale)) // 2, y, num_scale)
        tid, l, h = ctx["key"][mid]
        img = draw_map(maps_of[tid][l, h], ctx["kinds"][tid], ctx["segments"][tid], core, pad)
        sheet[y + label_h:y + label_h + box, x:x + box] = pal[img]
    write_png(os.path.join(SHEETS, "sheets", name), sheet)

# ---------------------------------------------------------------- the set


def candidates():
    singles, seen = [], set()
    for line in open(os.path.join(ROOT, "samples", "wordnet-sentences.txt"), encoding="utf-8"):
        s = line.rstrip("\n")
        if s and s not in seen:
            seen.add(s)
            singles.append((s, None))
    pairs, seen = [], set()
    for line in open(os.path.join(ROOT, "samples", "wordnet-pairs.tsv"), encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        if len(f) >= 2 and (f[0], f[1]) not in seen:
            seen.add((f[0], f[1]))
            pairs.append((f[0], f[1]))
    return singles, pairs


def text_length(tok, t):
    return len(tok(t[0], t[1])["input_ids"] if t[1] is not None else tok(t[0])["input_ids"])


def draw_inputs(tok):
    singles, pairs = candidates()
    def length(t):
        return text_length(tok, t)
    rng = random.Random(SEED)
    chosen = []
    for kind, cands in (("single", singles), ("pair", pairs)):
        lengths = [length(t) for t in cands]
        for cls_name, lo, hi in CLASSES[kind]:
            pool = [t for t, n in zip(cands, lengths) if lo <= n <= hi]
            for t in rng.sample(pool, 2):
                chosen.append({"text": t[0], "pair": t[1], "kind": kind, "class": cls_name})
    order = list(range(12))
    random.Random(SEED).shuffle(order)
    ids = [None] * 12
    for k, i in enumerate(order):
        ids[i] = k + 1
    # balance fix (docstring step 5)
    def split(n):
        return "tune" if n % 2 == 1 else "heldout"
    cells = {}
    for i, t in enumerate(chosen):
        cells.setdefault((t["kind"], t["class"]), []).append(i)
    doubled = {"tune": [], "heldout": []}
    for members in cells.values():
        ss = {split(ids[i]) for i in members}
        if len(ss) == 1:
            doubled[ss.pop()].append(sorted(members, key=lambda i: ids[i]))
    for s in doubled:
        doubled[s].sort(key=lambda m: ids[m[0]])
    assert len(doubled["tune"]) == len(doubled["heldout"])
    for mt, mh in zip(doubled["tune"], doubled["heldout"]):
        a, b = mt[1], mh[1]
        print(f"balance swap: t{ids[a]:02d} <-> t{ids[b]:02d}")
        ids[a], ids[b] = ids[b], ids[a]
    for i, t in enumerate(chosen):
        t["id"] = f"t{ids[i]:02d}"
        t["split"] = split(ids[i])
    for s in ("tune", "heldout"):
        got = sorted((t["kind"], t["class"]) for t in chosen if t["split"] == s)
        assert got == sorted(cells), (s, got)
    return sorted(chosen, key=lambda t: t["id"])


def draw_inputs_stage2(tok, used):
    """Stage 2, docstring steps 1-4: 10 more inputs t13-t22, none of the stage-1 ones."""
    singles, pairs = candidates()
    rng = random.Random(SEED2)
    chosen = []
    for kind, cands in (("single", singles), ("pair", pairs)):
        cands = [t for t in cands if t not in used]
        lengths = [text_length(tok, t) for t in cands]
        one = rng.randrange(3)
        for ci, (cls_name, lo, hi) in enumerate(CLASSES[kind]):
            pool = [t for t, n in zip(cands, lengths) if lo <= n <= hi]
            for t in rng.sample(pool, 1 if ci == one else 2):
                chosen.append({"text": t[0], "pair": t[1], "kind": kind, "class": cls_name})
    assert len(chosen) == 10
    order = list(range(10))
    random.Random(SEED2).shuffle(order)
    ids = [None] * 10
    for k, i in enumerate(order):
        ids[i] = 13 + k
    def split(n):
        return "tune" if n % 2 == 1 else "heldout"
    def members(s, kind):
        return sorted((i for i, t in enumerate(chosen) if split(ids[i]) == s and t["kind"] == kind),
                      key=lambda i: ids[i])
    while len(members("tune", "single")) > 3 or len(members("tune", "single")) < 2:
        if len(members("tune", "single")) > 3:
            a, b = members("tune", "single")[-1], members("heldout", "pair")[-1]
        else:
            a, b = members("tune", "pair")[-1], members("heldout", "single")[-1]
        print(f"stage 2 balance swap: t{ids[a]:02d} <-> t{ids[b]:02d}")
        ids[a], ids[b] = ids[b], ids[a]
    for i, t in enumerate(chosen):
        t["id"] = f"t{ids[i]:02d}"
        t["split"] = split(ids[i])
        t["stage"] = 2
    for s in ("tune", "heldout"):
        kinds = [t["kind"] for t in chosen if t["split"] == s]
        assert len(kinds) == 5 and 2 <= kinds.count("single") <= 3, (s, kinds)
    return sorted(chosen, key=lambda t: t["id"])


def encode(tok, weights, cfg, t, maps_of, ctx):
    """Text t's ids, tokens and segments (tokenized unless t holds them), its maps (the float64
    numpy BERT) and token kinds, recorded in maps_of and ctx; returns (maps, kinds, withinUniform)."""
    if "ids" not in t:
        enc = tok(t["text"], t["pair"]) if t["pair"] is not None else tok(t["text"])
        t["ids"] = list(enc["input_ids"])
        t["tokens"] = tok.convert_ids_to_tokens(t["ids"])
        t["segments"] = list(enc["token_type_ids"])
    kinds = token_kinds(t["ids"], t["tokens"], tok.cls_token_id, tok.sep_token_id)
    wu = within_uniform(kinds, t["segments"])
    maps = attention_maps(weights, cfg, t["ids"], t["segments"])
    assert np.allclose(maps.sum(-1), 1)
    maps_of[t["id"]] = maps
    ctx["kinds"][t["id"]], ctx["segments"][t["id"]] = kinds, t["segments"]
    return maps, kinds, wu


def add_map(out, t, l1, h1, encoded, stage, entries, ctx, split=None):
    """Writes the PNG of head (l1, h1) (from 1) of text t into out and appends its maps.json entry;
    returns the map id."""
    maps, kinds, wu = encoded
    l, h = l1 - 1, h1 - 1
    mid = f"{t['id']}-L{l1}H{h1}"
    image = mid + ".png"
    write_png(os.path.join(out, image), draw_map(maps[l, h], kinds, t["segments"], 5 * len(t["ids"]), 4), PALETTE)
    ctx["key"][mid] = (t["id"], l, h)
    entries.append({"id": mid, "text_id": t["id"], "split": split or t["split"], "layer": l1, "head": h1,
                    "image": image, "features": map_features(maps[l, h], kinds, t["segments"], wu), "stage": stage})
    return mid


def stage2(tok, weights, cfg, texts, entries, maps_of, ctx):
    """Stage 2 (docstring): a targeted draw for the rare "diagonal" type. Appends the new texts
    and their 80 map entries to texts / entries, writes their PNGs; returns the new map ids."""
    nl, nh = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    new = draw_inputs_stage2(tok, {(t["text"], t["pair"]) for t in texts})
    others = [(l, h) for l in range(1, nl + 1) for h in range(1, nh + 1) if (l, h) not in TARGET_HEADS]
    assert len(others) == 68
    rng_heads = random.Random(SEED2_HEADS)
    new_ids = []
    for t in new:
        encoded = encode(tok, weights, cfg, t, maps_of, ctx)
        heads = sorted(TARGET_HEADS + rng_heads.sample(others, 4))
        for l1, h1 in heads:
            new_ids.append(add_map(OUT, t, l1, h1, encoded, 2, entries, ctx))
    longest = max(new, key=lambda t: len(t["ids"]))
    self_check(weights, cfg, longest, maps_of[longest["id"]])
    texts.extend(new)
    assert len(new_ids) == 80
    return new_ids


def sheets_c(new_ids, stage1_ids, maps_of, ctx):
    """Labeller C's sheets (docstring, stage 2)."""
    seq = list(new_ids) + random.Random(SEED2_C).sample(stage1_ids, 48)
    random.Random(5).shuffle(seq)
    sheets = []
    for k in range(0, len(seq), 16):
        name = f"C-{k // 16 + 1:02d}.png"
        make_sheet(name, seq[k:k + 16], maps_of, ctx)
        sheets.append({"sheet": name, "cells": seq[k:k + 16]})
    with open(os.path.join(SHEETS, "C.json"), "w") as f:
        json.dump(sheets, f, indent=1)
    print(f"labeller C: {len(seq)} maps ({len(new_ids)} stage 2 + 48 stage-1 overlap) on {len(sheets)} sheets "
          f"({sum(len(s['cells']) == 16 for s in sheets)} full), {SHEETS}/C.json")


def self_check(weights, cfg, text, maps):
    import torch
    from transformers import BertModel
    model = BertModel.from_pretrained(MODEL, attn_implementation="eager").eval()
    ids = torch.tensor([text["ids"]])
    seg = torch.tensor([text["segments"]])
    with torch.no_grad():
        out = model(input_ids=ids, token_type_ids=seg, attention_mask=torch.ones_like(ids), output_attentions=True)
    ref = np.stack([a[0].double().numpy() for a in out.attentions])
    diff = float(np.abs(ref - maps).max())
    print(f"self-check: {text['id']} (L = {len(text['ids'])}), all {ref.shape[0] * ref.shape[1]} maps, "
          f"max |numpy - transformers| = {diff:.2e}")
    assert diff < 1e-5, diff


def write_maps_json(text_rows, entries):
    with open(os.path.join(OUT, "maps.json"), "w", encoding="utf-8") as f:
        f.write('{"feature_names": ' + json.dumps(FEATURE_NAMES) + ',\n"texts": [\n')
        f.write(",\n".join(json.dumps(r, ensure_ascii=False) for r in text_rows))
        f.write('\n],\n"maps": [\n')
        f.write(",\n".join(json.dumps(e) for e in entries))
        f.write("\n]}\n")


def features_only():
    """--features-only: maps.json's features recomputed from its stored ids (docstring)."""
    weights = load_safetensors(os.path.join(MODEL, "model.safetensors"))
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    data = json.load(open(os.path.join(OUT, "maps.json"), encoding="utf-8"))
    vocab = [line.rstrip("\n") for line in open(os.path.join(MODEL, "vocab.txt"), encoding="utf-8")]
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    maps_of, kinds_of = {}, {}
    for t in data["texts"]:
        maps_of[t["id"]] = attention_maps(weights, cfg, t["ids"], t["segments"])
        kinds_of[t["id"]] = token_kinds(t["ids"], t["tokens"], cls_id, sep_id)
    for e in data["maps"]:
        t = next(x for x in data["texts"] if x["id"] == e["text_id"])
        kinds = kinds_of[t["id"]]
        e["features"] = map_features(maps_of[t["id"]][e["layer"] - 1, e["head"] - 1], kinds, t["segments"],
                                     within_uniform(kinds, t["segments"]))
    write_maps_json(data["texts"], data["maps"])
    print(f"{len(data['maps'])} maps: {FEATURE_COUNT} features each rewritten in {OUT}/maps.json")


def main():
    if FEATURES_ONLY:
        return features_only()
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(MODEL)
    weights = load_safetensors(os.path.join(MODEL, "model.safetensors"))
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    nl, nh = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    texts = draw_inputs(tok)
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".png"):
            os.remove(os.path.join(OUT, f))
    ctx = {"key": {}, "kinds": {}, "segments": {}}
    maps_of, entries = {}, []
    for t in texts:
        encoded = encode(tok, weights, cfg, t, maps_of, ctx)
        for l in range(nl):
            for h in range(nh):
                add_map(OUT, t, l + 1, h + 1, encoded, 1, entries, ctx)
        t["stage"] = 1
    self_check(weights, cfg, max(texts, key=lambda t: len(t["ids"])), maps_of[max(texts, key=lambda t: len(t["ids"]))["id"]])

    stage1_entries = list(entries)
    stage1_ids = [e["id"] for e in stage1_entries]
    new_ids = stage2(tok, weights, cfg, texts, entries, maps_of, ctx)

    text_rows = [{k: t[k] for k in ("id", "text", "pair", "tokens", "ids", "segments", "split", "stage")} for t in texts]
    write_maps_json(text_rows, entries)

    # sheets
    os.makedirs(os.path.join(SHEETS, "sheets"), exist_ok=True)
    for f in os.listdir(os.path.join(SHEETS, "sheets")):
        if f.endswith(".png"):
            os.remove(os.path.join(SHEETS, "sheets", f))
    ids_a = [e["id"] for e in stage1_entries if e["text_id"] <= "t06"]
    ids_b = [e["id"] for e in stage1_entries if e["text_id"] > "t06"]
    own_a, own_b = list(ids_a), list(ids_b)
    random.Random(1).shuffle(own_a)
    random.Random(2).shuffle(own_b)
    rng3 = random.Random(3)
    extra_b = rng3.sample(ids_a, 72)   # A's maps, second opinion by B
    extra_a = rng3.sample(ids_b, 72)   # B's maps, second opinion by A
    for who, seq in (("A", own_a + extra_a), ("B", own_b + extra_b)):
        sheets = []
        for k in range(0, len(seq), 16):
            name = f"{who}-{k // 16 + 1:02d}.png"
            make_sheet(name, seq[k:k + 16], maps_of, ctx)
            sheets.append({"sheet": name, "cells": seq[k:k + 16]})
        with open(os.path.join(SHEETS, f"{who}.json"), "w") as f:
            json.dump(sheets, f, indent=1)
        print(f"labeller {who}: {len(seq)} maps ({len(seq) - 72} own + 72 overlap) on {len(sheets)} sheets "
              f"({sum(len(s['cells']) == 16 for s in sheets)} full), {SHEETS}/{who}.json")
    sheets_c(new_ids, stage1_ids, maps_of, ctx)

    for t in texts:
        n = sum(e["text_id"] == t["id"] for e in entries)
        kind = "pair" if t["pair"] is not None else "single"
        print(f"{t['id']} stage {t['stage']} {t['split']:7s} {kind:6s} {t['class']:6s} L={len(t['ids']):2d} maps={n}")
    for st in (1, 2):
        for s in ("tune", "heldout"):
            print(f"stage {st} split {s}: {sum(e['split'] == s and e['stage'] == st for e in entries)} maps, "
                  f"{sum(t['split'] == s and t['stage'] == st for t in texts)} texts "
                  f"({sum(t['split'] == s and t['stage'] == st and t['pair'] is None for t in texts)} singles)")
    targeted = sum((e["layer"], e["head"]) in TARGET_HEADS for e in entries if e["stage"] == 2)
    print(f"stage 2: {len(new_ids)} maps, {targeted} of the 4 target heads + {len(new_ids) - targeted} random")
    size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.endswith(".png"))
    print(f"{len(entries)} maps; PNGs in {OUT}: {size / 1e6:.2f} MB; "
          f"maps.json {os.path.getsize(os.path.join(OUT, 'maps.json')) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

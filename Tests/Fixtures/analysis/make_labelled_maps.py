#!/usr/bin/env python3
"""Renders the maps of Tests/Fixtures/analysis/labelled/labels.json as small PNG images.

How the set was made (once; the labels are human judgements and are not regenerated):
  1. 5 single sentences (16-30 tokens) from samples/wordnet-sentences.txt and 5 pairs
     (each text >= 11 tokens) from samples/wordnet-pairs.tsv, drawn with random.Random(4);
     7 random (layer, head) per input, plus heads L4H9, L5H8, L3H1 for each pair (the heads
     whose within-segment mass was highest on 40 pairs: block candidates).
  2. 4 further long pairs (>= 30 tokens, Random(5)), heads L4H9, L5H8, L3H1 + 3 random.
  3. The images were shown in shuffled sheets of 12 (layer and head hidden) and labelled by
     eye: vertical (a few dark columns across most rows), diagonal (a dark line at or next
     to the main diagonal), vertical+diagonal (both clearly), block (a pair whose attention
     fills each segment's square and leaves the off-diagonal quadrants empty),
     heterogeneous (none of these).
  4. One pair was drawn twice; its 3 repeated maps were dropped, keeping the first labels
     (the second labelling agreed on 1 of 3: the vertical/diagonal boundary is soft).

Run (numpy only; ~1 min): python3 Tests/Fixtures/analysis/make_labelled_maps.py [MODEL_DIR]
It recomputes every map with an independent float64 numpy BERT from the stored token ids and
rewrites the PNGs: white = 0, black = the map's largest entry (linear), rows = queries,
5 px per token, a grey 3-px margin with dark ticks where the second segment of a pair starts.
"""
import json, math, os, struct, sys, zlib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.local/share/bertscope/models/all-MiniLM-L6-v2")


def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(v["shape"]).astype(np.float64)
    return out


def layer_norm(x, g, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def attention_maps(w, cfg, ids, segments):
    """[layers, heads, L, L] post-softmax maps of a BERT encoder (post-LayerNorm, exact GELU)."""
    L, nh, H = len(ids), cfg["num_attention_heads"], cfg["hidden_size"]
    d, eps = H // nh, cfg["layer_norm_eps"]
    erf = np.vectorize(math.erf)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:L]
    x = layer_norm(x + w["embeddings.token_type_embeddings.weight"][segments],
                   w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    maps = []
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        def proj(name):
            y = x @ w[p + f"attention.self.{name}.weight"].T + w[p + f"attention.self.{name}.bias"]
            return y.reshape(L, nh, d).transpose(1, 0, 2)
        q, k, v = proj("query"), proj("key"), proj("value")
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        s -= s.max(-1, keepdims=True)
        a = np.exp(s)
        a /= a.sum(-1, keepdims=True)
        maps.append(a)
        c = (a @ v).transpose(1, 0, 2).reshape(L, H)
        x = layer_norm(c @ w[p + "attention.output.dense.weight"].T + w[p + "attention.output.dense.bias"] + x,
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        f = x @ w[p + "intermediate.dense.weight"].T + w[p + "intermediate.dense.bias"]
        f = 0.5 * f * (1 + erf(f / math.sqrt(2)))
        x = layer_norm(f @ w[p + "output.dense.weight"].T + w[p + "output.dense.bias"] + x,
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return np.stack(maps)


def write_png(path, img):
    """8-bit greyscale PNG, no dependencies."""
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def image(m, segments, scale=5, pad=3):
    L = m.shape[0]
    a = np.clip(m / max(m.max(), 1e-9), 0, 1)
    core = np.kron((255 - a * 255).round().astype(np.uint8), np.ones((scale, scale), np.uint8))
    img = np.full((L * scale + 2 * pad, L * scale + 2 * pad), 190, np.uint8)
    img[pad:pad + L * scale, pad:pad + L * scale] = core
    if 1 in segments:
        b = segments.index(1) * scale + pad
        img[b - 1:b + 1, :pad] = 0
        img[b - 1:b + 1, -pad:] = 0
        img[:pad, b - 1:b + 1] = 0
        img[-pad:, b - 1:b + 1] = 0
    return img


def main():
    weights = load_safetensors(os.path.join(MODEL, "model.safetensors"))
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    folder = os.path.join(HERE, "labelled")
    labels = json.load(open(os.path.join(folder, "labels.json")))
    cache = {}
    for m in labels:
        key = (m["text"], m["pair"])
        if key not in cache:
            cache[key] = attention_maps(weights, cfg, m["ids"], m["segments"])
        write_png(os.path.join(folder, m["image"]), image(cache[key][m["layer"] - 1, m["head"] - 1], m["segments"]))
    print(f"wrote {len(labels)} images to {folder}")


if __name__ == "__main__":
    main()

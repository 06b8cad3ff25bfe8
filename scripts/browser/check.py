"""Checks a BertScope report in headless Chromium (standard library only).

The page's inline script marks every figure data-rendered="ok" or "error" once it has loaded
and the body data-report="ok" when all drew; "#selftest" opens the first model-view map and
marks data-viewer="ok" once its image has loaded; "#solo=ID" shows one figure alone. This
script dumps the DOM to read those marks, then takes screenshots and checks they are not blank.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

results = []  # (name, ok, detail)
SCALE = float(os.environ.get("BROWSER_CHECK_SCALE", "0.5"))


def check(name, ok, detail=""):
    results.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)


def chromium(args, profile, virtual_time=True):
    """Runs headless Chromium; with virtual time, scripts and image loads get up to 5 virtual
    seconds (fast-forwarded) before the DOM is dumped or the screenshot taken."""
    base = [
        shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
        "--disable-extensions", "--disable-background-networking", f"--user-data-dir={profile}",
    ]
    if virtual_time:
        base.append("--virtual-time-budget=5000")
    return subprocess.run(base + args, capture_output=True, text=True, timeout=120)


def read_png(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA PNG, any row filter."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    i, idat = 8, b""
    while i < len(data):
        n, kind = struct.unpack(">I4s", data[i:i + 8])
        body = data[i + 8:i + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"unsupported PNG (depth {depth}, colour type {colour})"
        elif kind == b"IDAT":
            idat += body
        i += 12 + n
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    prev, rows = bytearray(stride), []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:  # Up, the most common: no dependency along the row, so no index loop.
            line = bytearray((x + b) & 255 for x, b in zip(line, prev))
        elif f in (1, 3, 4):
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                if f == 1:
                    p = a
                elif f == 3:
                    p = (a + prev[x]) >> 1
                else:
                    b = prev[x]
                    c = prev[x - bpp] if x >= bpp else 0
                    q = a + b - c
                    pa, pb, pc = abs(q - a), abs(q - b), abs(q - c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + p) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def content_stats(path):
    """Share of non-white pixels within the ink's bounding box, number of distinct colours, and
    that box (x0, y0, x1, y1), sampling every other pixel."""
    w, h, rows = read_png(path)
    colours, ink = set(), 0
    x0, y0, x1, y1 = w, h, -1, -1
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            p = rows[y][x]
            colours.add(p)
            if p != (255, 255, 255):
                ink += 1
                x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
    sampled_box = max(1, ((x1 - x0) // 2 + 1) * ((y1 - y0) // 2 + 1)) if ink else 1
    return ink / sampled_box, len(colours), (x0, y0, x1, y1)


class Dom(HTMLParser):
    """What the checks read from the dumped DOM: every figure's attributes, the viewer's label
    spans (text and token index) and, per figure, the elements of class head-point."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figures = []  # attribute dicts, in page order
        self.labels = {"viewer-rows": [], "viewer-cols": []}  # [(index, text)]
        self.points = {}  # figure id -> [(layer, head)]
        self.stack = []  # (tag, figure id, label box)
        self.span = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        figure = self.stack[-1][1] if self.stack else None
        box = self.stack[-1][2] if self.stack else None
        if tag == "figure" and "data-figure" in a:
            self.figures.append(a)
            figure = a["data-figure"]
        if a.get("id") in self.labels:
            box = a["id"]
        if figure and "head-point" in (a.get("class") or "").split():
            self.points.setdefault(figure, []).append((a.get("data-layer"), a.get("data-head")))
        if tag == "span" and box:
            self.span = [box, a.get("data-i"), ""]
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            self.stack.append((tag, figure, box))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "wbr") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.span is not None:
            self.span[2] += data

    def handle_endtag(self, tag):
        if tag == "span" and self.span is not None:
            box, i, text = self.span
            self.labels[box].append((i, text))
            self.span = None
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                break


def counts(value):
    """(lines, checksum) of a head-view mark "count checksum", or None."""
    try:
        n, total = value.split()
        return int(n), float(total)
    except (AttributeError, ValueError):
        return None


def check_dom(dom):
    """The viewer's HTML labels, the head views' interaction marks and the clustering plot."""
    parsed = Dom()
    parsed.feed(dom)
    views = [f for f in parsed.figures if f.get("data-kind") == "model-view"]
    if views and "data-tokens" in views[0]:
        tokens = json.loads(views[0]["data-tokens"])
        check("viewer token labels are placed against the cells", (re.search(r'data-labels="ok', dom) is not None),
              (re.search(r'data-labels="([^"]*)"', dom) or [None, "no mark"])[1])
        for box, axis in (("viewer-rows", "row"), ("viewer-cols", "column")):
            spans = parsed.labels[box]
            wrong = [(i, t) for i, t in spans if i is None or not i.isdigit() or int(i) >= len(tokens)
                     or tokens[int(i)] != t]
            check(f"viewer {axis} labels are HTML text holding the tokens", spans and not wrong,
                  f"{len(spans)} of {len(tokens)} tokens shown" + (f", wrong: {wrong[:3]}" if wrong else ""))
        wide = [t for t in tokens if any(ord(ch) > 127 for ch in t)]
        if wide:
            shown = [t for _, t in parsed.labels["viewer-rows"] if any(ord(ch) > 127 for ch in t)]
            if len(parsed.labels["viewer-rows"]) == len(tokens):
                check("viewer labels show the non-ASCII tokens as text", sorted(shown) == sorted(wide),
                      ", ".join(shown[:6]))
            else:
                print(f"note: labels thinned ({len(parsed.labels['viewer-rows'])} of {len(tokens)}); "
                      f"non-ASCII tokens present: {', '.join(wide[:4])}")
        else:
            print("note: the example has no non-ASCII token; labels checked on ASCII tokens only")
    for f in (f for f in parsed.figures if f.get("data-kind") == "head-view"):
        name = f.get("data-figure")
        lines, toggled = counts(f.get("data-hv-lines")), counts(f.get("data-hv-toggled"))
        solo, hovered = counts(f.get("data-hv-solo")), counts(f.get("data-hv-hovered"))
        restored = counts(f.get("data-hv-restored"))
        check(f"head view {name} draws lines", lines is not None and lines[0] > 0 and lines[1] > 0,
              f"lines, checksum: {f.get('data-hv-lines')}")
        check(f"head view {name}: toggling head 1 off changes the lines",
              lines is not None and toggled is not None and toggled[0] < lines[0] and toggled[1] != lines[1],
              f"{f.get('data-hv-toggled')} vs {f.get('data-hv-lines')}")
        if int(f.get("data-heads", "1")) > 1:
            check(f"head view {name}: double-click shows one head alone",
                  lines is not None and solo is not None and 0 < solo[0] < lines[0], f"{f.get('data-hv-solo')}")
        check(f"head view {name}: pointing at a token shows only its lines",
              lines is not None and hovered is not None and 0 < hovered[0] < lines[0],
              f"{f.get('data-hv-hovered')} vs {f.get('data-hv-lines')}")
        check(f"head view {name}: leaving the token restores the lines", restored == lines,
              f"{f.get('data-hv-restored')}")
    clusters = [f for f in parsed.figures if f.get("data-figure") == "head-clusters"]
    if not clusters:
        print("skip: no head-clusters figure in this report (the head clustering section is not in it)")
    else:
        shape = None
        if views and views[0].get("data-layers") and views[0].get("data-heads"):
            shape = int(views[0]["data-layers"]), int(views[0]["data-heads"])
        else:
            m = re.search(r"(\d+) layers × (\d+) heads", dom)
            if m:
                shape = int(m[1]), int(m[2])
        points = parsed.points.get("head-clusters", [])
        if shape is None:
            print(f"skip: head-clusters has {len(points)} points but the model's shape is not on the page")
        else:
            want = shape[0] * shape[1]
            distinct = len(set(points))
            check("head-clusters plots one point per head", len(points) == want and distinct == want,
                  f"{len(points)} points ({distinct} distinct layer/head), {shape[0]} × {shape[1]} heads")


def main():
    report, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    index = report / "index.html"
    url = index.as_uri()
    started = time.time()

    html = index.read_text(encoding="utf-8")
    external = re.findall(r"""(?:src|href|url\()\s*=?\s*["']?((?:https?:)?//[^"' >)]+)""", html)
    check("no external resources referenced", not external, ", ".join(external[:3]))
    size = index.stat().st_size
    check("index.html is small enough to open fast", size < 5_000_000, f"{size / 1e6:.2f} MB")

    # Load time, in real time: Chromium's wall time to the dumped DOM (after the load event) on
    # the report minus that on a blank page (start-up), and the page's own clock at its load
    # event (the script records it as data-load-ms).
    def timed(target):
        with tempfile.TemporaryDirectory() as profile:
            t0 = time.time()
            run = chromium(["--dump-dom", target], profile, virtual_time=False)
            return time.time() - t0, run.stdout
    blank, _ = timed("about:blank")
    wall, real_dom = timed(url)
    load_ms = (re.search(r'data-load-ms="(\d+)"', real_dom) or [None, "?"])[1]
    check("page opens in a few seconds", wall - blank < 5,
          f"{wall:.2f} s in Chromium, {wall - blank:.2f} s more than a blank page; load event at {load_ms} ms")

    with tempfile.TemporaryDirectory() as profile:
        dump = chromium(["--dump-dom", url + "#selftest"], profile)
    dom = dump.stdout
    loaded = dump.returncode == 0 and "<body" in dom
    check("Chromium loaded the page", loaded, "" if loaded else dump.stderr.strip()[-300:])
    check("page script marked the report", 'data-report="ok"' in dom,
          (re.search(r'data-report="(\w+)"', dom) or [None, "no mark"])[1])
    figures = re.findall(r'<figure[^>]*data-figure="([^"]+)"[^>]*>', dom)
    marks = dict(re.findall(r'data-figure="([^"]+)"[^>]*?data-rendered="(\w+)"', dom))
    check("report has figures", len(figures) > 0, f"{len(figures)} figures")
    for f in figures:
        check(f"figure {f} drew", marks.get(f) == "ok", f"data-rendered={marks.get(f)}")
    if "mv-grid" in dom:
        check("model-view map opens from a thumbnail", 'data-viewer="ok"' in dom,
              (re.search(r'data-viewer="(\w+)"', dom) or [None, "no mark"])[1])
    if "data-tokens=" in dom:
        check("viewer names the tokens under the pointer", 'data-readout="ok"' in dom,
              (re.search(r'data-readout="([^"]*)"', dom) or [None, "no mark"])[1])
    check_dom(dom)

    # Screenshots: the whole page top, each figure alone, the open viewer.
    shots = [("page", url, "1280,2400")] + [(f"figure-{f}", f"{url}#solo={f}", "1440,1000") for f in figures]
    if "mv-grid" in dom:
        shots.append(("viewer", url + "#selftest", "1280,1100"))

    def shoot(shot):
        name, target, window = shot
        path = out / f"{name}.png"
        if path.exists():
            path.unlink()
        with tempfile.TemporaryDirectory() as profile:
            # Half-scale screenshots: enough to see that something drew, and 4 × fewer pixels for
            # the pure-Python PNG decoder below.
            run = chromium(
                [f"--screenshot={path}", f"--window-size={window}", f"--force-device-scale-factor={SCALE}", target],
                profile)
        return name, path, run

    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, path, run in pool.map(shoot, shots):
            if not path.exists():
                check(f"screenshot {name}", False, run.stderr.strip()[-300:])
                continue
            ink, colours, box = content_stats(path)
            # A drawn figure covers a good share of its bounding box with many colours; an error
            # page, a broken-image icon or an empty frame does not.
            ok = ink > 0.03 and colours > 8 and min(box[2] - box[0], box[3] - box[1]) > 100 * SCALE
            check(f"screenshot {name} is not blank", ok,
                  f"{ink * 100:.1f} % ink, {colours} colours, content box {box}, {path.name}")

    failed = sum(1 for _, ok, _ in results if not ok)
    print(f"browser-check: {time.time() - started:.1f} s in Chromium checks")
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

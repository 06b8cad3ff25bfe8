#!/usr/bin/env python3
"""Assembles labelled/v3/labels.json from the two blind labelling passes (v4's too:
python3 labelled/v3/merge_labels.py v4).

labels-E.json and labels-F.json (v4: G, H; v7: M, N, O, P) are what the labellers wrote: {sheet: {cell number: {label,
unsure}}}, with no map ids (they never saw them). sheets.json is the key make_fresh_set.py wrote
(which map is in which cell) and the design (each labeller's own maps, the overlap given to the
other one, the v2 calibration maps). Output:
  labels       {map id: {by, label, unsure}}   every v3 map, by the labeller it belongs to
  second       {map id: label}                 the other labeller's label on the overlap maps
                                               (80 in v3-v6, 160 in v7)
  calibration  {v2 map id: label}              the new labellers' labels on v2 maps (64; v7: 96)
"""
import json, os

import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if len(sys.argv) > 1:  # another set: python3 labelled/v3/merge_labels.py v4
    HERE = os.path.join(os.path.dirname(HERE), sys.argv[1])
key = json.load(open(os.path.join(HERE, "sheets.json")))
design = key["design"]
given = {}
who_all = tuple(sorted(key["sheets"]))  # ("E", "F") in v3, ("G", "H") in v4, ("M", "N", "O", "P") in v7
for who in who_all:
    raw = json.load(open(os.path.join(HERE, f"labels-{who}.json")))
    for sheet in key["sheets"][who]:
        name = sheet["sheet"][:-4]
        for n, mid in enumerate(sheet["cells"]):
            cell = raw[name][str(n + 1)]
            given[(who, mid)] = cell
out = {"labels": {}, "second": {}, "calibration": {}}
for who in who_all:
    for mid in design[f"{who}_own"]:
        c = given[(who, mid)]
        out["labels"][mid] = {"by": who, "label": c["label"], "unsure": bool(c["unsure"])}
    for mid in design[f"{who}_overlap"]:     # maps of the other labeller, seen by who
        out["second"][mid] = given[(who, mid)]["label"]
    for mid in design[f"{who}_calibration"]:
        out["calibration"][mid] = given[(who, mid)]["label"]
maps = json.load(open(os.path.join(HERE, "maps.json")))["maps"]
assert sorted(out["labels"]) == sorted(m["id"] for m in maps), "every map labelled once, by its owner"
assert len(out["second"]) == sum(len(design[f"{w}_overlap"]) for w in who_all)
assert len(out["calibration"]) == sum(len(design[f"{w}_calibration"]) for w in who_all)
json.dump(out, open(os.path.join(HERE, "labels.json"), "w"), indent=0, sort_keys=True)
counts = {}
for v in out["labels"].values():
    counts[v["label"]] = counts.get(v["label"], 0) + 1
print("labels:", dict(sorted(counts.items())), "unsure:", sum(v["unsure"] for v in out["labels"].values()))

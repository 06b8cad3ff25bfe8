#!/usr/bin/env python3
"""Assembles labels.json from the three labelling passes (labels-A.json, labels-B.json,
labels-C.json, each {map id: {"label", "unsure"}} as written while labelling).

The label of a map is its own labeller's: A for the maps of t01-t06, B for t07-t12, C for the
stage-2 texts t13-t22. The other passes' labels of the same maps (A on 72 maps of B's texts, B
on 72 of A's, C on 48 of stage 1) are second opinions, kept under "second" (and who gave them
under "second_by"): what the agreement between labellers (Cohen's kappa) is computed on.

    python3 Tests/Fixtures/analysis/labelled/v2/merge_labels.py
"""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))


def owner(map_id):
    n = int(map_id[1:3])
    return "A" if n <= 6 else "B" if n <= 12 else "C"


def main():
    passes = {k: json.load(open(os.path.join(HERE, f"labels-{k}.json"))) for k in "ABC"}
    labels, second, second_by = {}, {}, {}
    for k, given in passes.items():
        for map_id, v in sorted(given.items()):
            if owner(map_id) == k:
                labels[map_id] = {"label": v["label"], "unsure": bool(v.get("unsure", False)), "by": k}
    for k, given in passes.items():
        for map_id, v in sorted(given.items()):
            if owner(map_id) != k and map_id not in second:
                second[map_id] = v["label"]
                second_by[map_id] = k
    out = {"labels": labels, "second": second, "second_by": second_by}
    json.dump(out, open(os.path.join(HERE, "labels.json"), "w"), indent=0, sort_keys=True)
    print(f"{len(labels)} maps labelled, {len(second)} with a second opinion")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Remakes this folder with the bertscope binary given (the release these files pin down was
# commit 07addfb, before the analysis files got their typed readers and writers):
#   Tests/Fixtures/analysis/written-by-v1/make.sh /path/to/old/bertscope
# Run from anywhere; it works in a temporary folder so that the paths recorded are neutral.
set -euo pipefail
BIN=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../../.." && pwd)
work=/tmp/fixture-gen
rm -rf "$work" && mkdir -p "$work" && cd "$work"
cp -r "$ROOT/Tests/Fixtures/tiny-bert" "$ROOT/Tests/Fixtures/tiny-bert-prefixed" .
cp "$HERE/corpus.txt" "$HERE/rel.jsonl" .
"$BIN" report --model tiny-bert --model-b tiny-bert-prefixed --input corpus.txt --out report-v1 --example 2 -q
rm -rf report-v1/figures report-v1/maps report-v1/index.html
"$BIN" relations --model tiny-bert --input rel.jsonl --out relations-v1 -q
rm -rf "$HERE/report-v1" "$HERE/relations-v1"
cp -r report-v1 relations-v1 "$HERE/"

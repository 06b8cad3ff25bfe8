#!/usr/bin/env bash
# Old and new binaries strictly alternated, 5 rounds, JSON per run.
cd /work/main
OLD=/work/wt-base/.build/release/bertscope; NEW=/work/main/.build/release/bertscope
for r in 1 2 3 4 5; do
  for which in old new; do
    B=$OLD; [ $which = new ] && B=$NEW
    $B bench --batch 32 --length 128 --maps none,all --repeats 10 --warmup 2 --quiet --json /tmp/bench/$which-$r.json > /dev/null
  done
done
echo done

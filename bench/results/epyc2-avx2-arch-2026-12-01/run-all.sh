#!/usr/bin/env bash
cd /work/main
OLD=/work/wt-base/.build/release/bertscope; NEW=/work/main/.build/release/bertscope
for r in 1 2 3 4 5 6 7 8; do
  for which in new old; do
    B=$OLD; [ $which = new ] && B=$NEW
    $B bench --batch 32 --length 128 --maps all --repeats 10 --warmup 2 --quiet --json /tmp/bench/b-$which-$r.json > /dev/null
  done
done
echo done

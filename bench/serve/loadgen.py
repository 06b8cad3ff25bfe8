#!/usr/bin/env python3
"""Load generator for `bertscope serve`, Python standard library only (for boxes without wrk).

    bench/serve/loadgen.py BASE_URL [--concurrency 1,8,64] [--duration 10] [--corpus FILE]
                           [--limit 512] [--path /embed] [--warmup 2] [--json OUT]

Each of C clients keeps one HTTP/1.1 connection open (asyncio, raw sockets, keep-alive) and
POSTs one sentence of the corpus per request to PATH (`{"inputs": "..."}`, in turn), for
DURATION seconds per concurrency. Reports per concurrency: requests/s, tokens/s (the server's
own bertscope_tokens_processed_total before and after), p50/p90/p99 latency, sequences per
forward pass and the mean forward pass (from /metrics), errors. Prints one line per
concurrency on stderr and the whole result as JSON on stdout (and into OUT with --json).
The client is one Python process: past a few thousand requests/s it, not the server, is the
limit (its CPU time is reported as client_cpu_s).
"""
import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request


def read_metrics(base):
    text = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()

    def value(name):
        return sum(float(m.group(1)) for m in re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

    return {
        "tokens": value("bertscope_tokens_processed_total"),
        "passes": value("bertscope_forward_passes_total"),
        "sequences": value("bertscope_batch_sequences_sum"),
        "pass_seconds": value("bertscope_forward_seconds_sum"),
    }


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q / 100 * (len(sorted_values) - 1)))))
    return sorted_values[i]


async def client(host, port, path, bodies, start, deadline, latencies, errors):
    reader, writer = await asyncio.open_connection(host, port)
    index = start
    try:
        while time.perf_counter() < deadline:
            body = bodies[index % len(bodies)]
            index += 1
            head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            if not status_line:
                errors["closed"] += 1
                return
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip())
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            status = int(status_line.split()[1])
            if status != 200:
                errors["status"] += 1
            if close:
                # The server did not keep the connection: open a new one (counted).
                errors["reconnects"] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        errors["io"] += 1
    finally:
        writer.close()


async def run_level(host, port, path, bodies, concurrency, duration):
    latencies, errors = [], {"status": 0, "io": 0, "closed": 0, "reconnects": 0}
    t0 = time.perf_counter()
    deadline = t0 + duration
    step = max(1, len(bodies) // concurrency)
    await asyncio.gather(*(client(host, port, path, bodies, i * step, deadline, latencies, errors)
                           for i in range(concurrency)))
    return latencies, errors, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "../../samples/wordnet-sentences.txt"))
    parser.add_argument("--limit", type=int, default=512)
    parser.add_argument("--path", default="/embed")
    parser.add_argument("--json", dest="out")
    args = parser.parse_args()

    url = urllib.parse.urlparse(args.base)
    host, port = url.hostname, url.port or 80
    base = f"http://{host}:{port}"
    with open(args.corpus, encoding="utf-8") as f:
        texts = [line.rstrip("\n") for line in f if line.strip()][: args.limit]
    key = "input" if args.path.rstrip("/").endswith("embeddings") else "inputs"
    bodies = [json.dumps({key: t}).encode() for t in texts]
    info = json.load(urllib.request.urlopen(base + "/info", timeout=30))
    result = {"tool": "bench/serve/loadgen.py", "server": base, "path": args.path, "model": info.get("model"),
              "backend": info.get("backend_description", info.get("backend")), "duration_s": args.duration,
              "corpus": f"{args.corpus} (first {len(bodies)} lines, one per request)", "results": {}}

    if args.warmup > 0:
        asyncio.run(run_level(host, port, args.path, bodies, 4, args.warmup))
    for c in [int(x) for x in args.concurrency.split(",")]:
        before = read_metrics(base)
        cpu0 = time.process_time()
        latencies, errors, seconds = asyncio.run(run_level(host, port, args.path, bodies, c, args.duration))
        cpu = time.process_time() - cpu0
        after = read_metrics(base)
        latencies.sort()
        n = len(latencies)
        passes = after["passes"] - before["passes"]
        tokens = after["tokens"] - before["tokens"]
        entry = {
            "concurrency": c, "requests": n, "seconds": seconds, "requests_per_s": n / seconds,
            "tokens_per_s": tokens / seconds, "tokens_per_request": tokens / max(n, 1),
            "sequences_per_pass": (after["sequences"] - before["sequences"]) / max(passes, 1),
            "mean_pass_ms": 1e3 * (after["pass_seconds"] - before["pass_seconds"]) / max(passes, 1),
            "p50_ms": 1e3 * percentile(latencies, 50) if n else None,
            "p90_ms": 1e3 * percentile(latencies, 90) if n else None,
            "p99_ms": 1e3 * percentile(latencies, 99) if n else None,
            "mean_ms": 1e3 * statistics.fmean(latencies) if n else None,
            "errors": errors, "client_cpu_s": cpu,
        }
        result["results"][str(c)] = entry
        p50 = f"{entry['p50_ms']:.2f}" if n else "-"
        p99 = f"{entry['p99_ms']:.2f}" if n else "-"
        print(f"loadgen c={c}: {entry['requests_per_s']:.1f} req/s, {entry['tokens_per_s']:.0f} tokens/s, "
              f"p50 {p50} ms, p99 {p99} ms, {entry['sequences_per_pass']:.1f} seq/pass, "
              f"pass {entry['mean_pass_ms']:.2f} ms, errors {errors}", file=sys.stderr)
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)
    bad = sum(sum(e["errors"].values()) - e["errors"]["reconnects"] for e in result["results"].values())
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""BertScope against its peers, on the same machine, in one run.

Runs `bertscope bench` (CPU backend, and OpenCL when the build has it), PyTorch +
transformers (eager attention) and ONNX Runtime (CPU EP, a graph exported here) on the
same workloads, interleaved block by block so that machine noise hits every engine
alike; then start-up time and the machine's roofline (FP32 FMA peak, OpenBLAS sgemm on
the encoder's shapes). Writes bench/out/peers-<date>.json and prints Markdown tables.

Started by `bench/peers`, which makes the virtual environment first; see bench/README.md.
Internal modes: `--worker torch|ort` (a persistent engine process driven over pipes),
`--export DIR` (the ONNX export).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPT_VERSION = 1
OPSET = 18
CLS, SEP = 101, 102

ENGINES = ("bertscope", "openblas", "opencl", "torch", "ort")
# "openblas" (the CPU backend forced onto its OpenBLAS GEMM, BERTSCOPE_CPU_GEMM=openblas) is
# opt-in: --engines bertscope,openblas,...
DEFAULT_ENGINES = ("bertscope", "opencl", "torch", "ort")
ENGINE_TITLES = {
    "bertscope": "bertscope cpu",
    "openblas": "bertscope cpu, OpenBLAS GEMM",
    "opencl": "bertscope opencl",
    "torch": "PyTorch eager",
    "ort": "ONNX Runtime",
}


class Failure(Exception):
    """An error the user can act on; printed without a traceback."""


def say(message: str) -> None:
    print(f"peers: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- workloads


def read_sentences(path: Path) -> list[str]:
    """The corpus as `bertscope bench` reads it: lines (\\n or \\r\\n), a leading UTF-8 BOM
    dropped, the text before the first TAB, empty texts skipped."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Failure(f"cannot read the corpus {path}: {e.strerror}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for raw in data.split(b"\n"):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        text = raw.decode("utf-8").split("\t")[0]
        if text:
            out.append(text)
    if not out:
        raise Failure(f"{path}: no sentences")
    return out


def make_inputs(sentences: list[str], tokenizer, length: int, count: int) -> list[tuple[str, list[int]]]:
    """`count` (text, ids) of exactly `length` tokens, cut from consecutive sentences the way
    `BenchCommand.makeTexts` does: join sentences with a space until the truncated encoding
    holds `length` tokens; the next sequence starts at the following sentence."""
    out = []
    nxt = 0

    def encode(text: str) -> list[int]:
        return tokenizer(text, truncation=True, max_length=length)["input_ids"]

    while len(out) < count:
        text = ""
        ids = encode("")
        guard = 0
        while len(ids) < length and guard < 10_000:
            text += ("" if not text else " ") + sentences[nxt % len(sentences)]
            nxt += 1
            guard += 1
            ids = encode(text)
        if len(ids) != length:
            raise Failure(f"could not build a sequence of {length} tokens from the corpus")
        out.append((text, ids))
    return out


def forward_flops(layers: int, hidden: int, inner: int, length: int, batch: int) -> float:
    """Same count as Sources/BertScope/Encoder/Flops.swift: every GEMM plus QKᵀ and P·V."""
    t, h = float(length), float(hidden)
    gemms = 2 * t * h * (3 * h + h + 2 * inner)
    attention = 2 * 2 * t * t * h
    return batch * layers * (gemms + attention)


def gemm_shapes(hidden: int, inner: int) -> list[tuple[int, int, str]]:
    """(K, N, name) of the encoder's linear layers, each run once per layer."""
    return [(hidden, 3 * hidden, "QKV"), (hidden, hidden, "attention output"), (hidden, inner, "FFN up"), (inner, hidden, "FFN down")]


# --------------------------------------------------------------------------- machine facts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_ids() -> dict:
    """Vendor, family, model, stepping and nominal MHz from /proc/cpuinfo (first CPU)."""
    out = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("vendor_id", "cpu family", "model", "stepping", "cpu MHz"):
                out[key.replace(" ", "_")] = value.strip()
    except OSError:
        pass
    return out


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def opencl_devices() -> list[str]:
    if not shutil.which("clinfo"):
        return []
    try:
        text = subprocess.run(["clinfo", "-l"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    platform_name, out = "", []
    for line in text.splitlines():
        m = re.match(r"\s*Platform #\d+: (.*)", line)
        if m:
            platform_name = m.group(1).strip()
        m = re.search(r"Device #\d+: (.*)", line)
        if m:
            out.append(f"{m.group(1).strip()} ({platform_name})")
    return out


def git_describe() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


class CPUWatch:
    """How many cores' worth of CPU *other* processes (and the hypervisor, as steal) used
    during an interval: busy jiffies of the whole machine minus ours (this process, its
    waited-for children, and the engine workers)."""

    def __init__(self, worker_pids: list[int]):
        self.worker_pids = worker_pids
        self.hz = os.sysconf("SC_CLK_TCK")
        self.start = self._sample()

    def _machine_busy(self) -> int:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return user + nice + system + irq + softirq + steal

    def _ours(self) -> float:
        t = os.times()
        total = (t.user + t.system + t.children_user + t.children_system) * self.hz
        for pid in self.worker_pids:
            try:
                parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += sum(int(x) for x in parts[11:15])  # utime stime cutime cstime
            except (OSError, IndexError, ValueError):
                pass
        return total

    def _sample(self) -> tuple[float, int, float]:
        try:
            return time.monotonic(), self._machine_busy(), self._ours()
        except OSError:
            return time.monotonic(), 0, 0.0

    def foreign_cores(self) -> float | None:
        t1, busy1, ours1 = self._sample()
        t0, busy0, ours0 = self.start
        if busy1 == 0 or t1 - t0 <= 0:
            return None
        return max(0.0, (busy1 - busy0 - (ours1 - ours0)) / self.hz / (t1 - t0))


# --------------------------------------------------------------------------- engine workers


def worker_main(kind: str, model_dir: str, threads: int, onnx_maps: str | None, onnx_nomaps: str | None) -> None:
    """A persistent engine process: JSON commands on stdin, JSON replies on the original
    stdout (library chatter goes to stderr)."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    replies = os.fdopen(reply_fd, "w", buffering=1)

    import numpy as np

    info: dict = {"engine": kind, "threads": threads, "numpy": np.__version__}
    if kind == "torch":
        import torch
        import transformers
        from transformers import AutoModel

        torch.set_num_threads(threads)
        model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
        info.update(
            torch=torch.__version__,
            transformers=transformers.__version__,
            torch_threads=torch.get_num_threads(),
            attn_implementation=model.config._attn_implementation,
            torch_parallel=torch.__config__.parallel_info().splitlines()[:6],
        )
    elif kind == "ort":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sessions = {
            True: ort.InferenceSession(onnx_maps, sess_options=options, providers=["CPUExecutionProvider"]),
            False: ort.InferenceSession(onnx_nomaps, sess_options=options, providers=["CPUExecutionProvider"]),
        }
        info.update(onnxruntime=ort.__version__, providers=sessions[True].get_providers(), intra_op_threads=threads)
    else:
        raise SystemExit(f"unknown worker {kind}")

    inputs: dict = {}
    seen: set = set()

    def one_pass(key: str, batch: int, maps: bool):
        ids = inputs[key][:batch]
        if kind == "torch":
            with torch.inference_mode():
                out = model(
                    input_ids=ids,
                    token_type_ids=torch.zeros_like(ids),
                    attention_mask=torch.ones_like(ids),
                    output_attentions=maps,
                )
            assert (len(out.attentions) > 0) if maps else (out.attentions is None)
            return out.last_hidden_state
        feeds = {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": np.ones_like(ids)}
        out = sessions[maps].run(None, feeds)
        return out[0]

    def peak_reset() -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass

    def peak_bytes() -> int:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    replies.write(json.dumps({"ready": True, "info": info}) + "\n")
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "inputs":
                array = np.array(cmd["ids"], dtype=np.int64)
                inputs[cmd["key"]] = torch.from_numpy(array) if kind == "torch" else array
                reply = {"ok": True}
            elif cmd["cmd"] == "run":
                key, batch, maps = cmd["key"], cmd["batch"], cmd["maps"]
                peak_reset()
                warm = cmd["warmup"] + (cmd.get("first_extra", 0) if (key, batch, maps) not in seen else 0)
                seen.add((key, batch, maps))
                for _ in range(warm):
                    one_pass(key, batch, maps)
                times = []
                for _ in range(cmd["repeats"]):
                    t0 = time.perf_counter()
                    out = one_pass(key, batch, maps)
                    times.append(time.perf_counter() - t0)
                reply = {"ok": True, "times": times, "peak_rss_bytes": peak_bytes(), "shape": list(out.shape)}
            elif cmd["cmd"] == "quit":
                break
            else:
                reply = {"ok": False, "error": f"unknown command {cmd['cmd']}"}
        except Exception as e:  # reported to the driver, which records it and goes on
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        replies.write(json.dumps(reply) + "\n")


class Worker:
    def __init__(self, kind: str, args, onnx_paths: dict | None = None):
        self.kind = kind
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--model", str(args.model), "--threads", str(args.threads)]
        if onnx_paths:
            cmd += ["--onnx-maps", onnx_paths["maps"], "--onnx-nomaps", onnx_paths["nomaps"]]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
        self.log = open(args.out / f"worker-{kind}.log", "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        first = self._read()
        if not first.get("ready"):
            raise Failure(f"the {kind} worker did not start; see {self.log.name}")
        self.info = first["info"]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise Failure(f"the {ENGINE_TITLES[self.kind]} worker exited (status {self.proc.returncode}); see {self.log.name}")
        return json.loads(line)

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


# --------------------------------------------------------------------------- ONNX export


def export_main(out_dir: str, model_dir: str) -> None:
    """Exports the model twice (with every layer's attention probabilities as extra outputs,
    and without), dynamic batch and sequence axes, then checks both against PyTorch."""
    import numpy as np
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    layers = model.config.num_hidden_layers

    class Wrapped(torch.nn.Module):
        def __init__(self, inner, maps: bool):
            super().__init__()
            self.inner, self.maps = inner, maps

        def forward(self, input_ids, token_type_ids, attention_mask):
            o = self.inner(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask, output_attentions=self.maps, return_dict=True)
            return (o.last_hidden_state,) + (tuple(o.attentions) if self.maps else ())

    example = torch.randint(1000, 2000, (2, 16))
    batch_dim = torch.export.Dim("batch", min=1, max=4096)
    seq_dim = torch.export.Dim("sequence", min=2, max=model.config.max_position_embeddings)
    dynamic = ({0: batch_dim, 1: seq_dim},) * 3
    report = {}
    for maps, name in ((True, "maps"), (False, "nomaps")):
        path = Path(out_dir) / f"model-{name}.onnx"
        outputs = ["last_hidden_state"] + ([f"attentions.{i}" for i in range(layers)] if maps else [])
        t0 = time.time()
        torch.onnx.export(
            Wrapped(model, maps),
            (example, torch.zeros_like(example), torch.ones_like(example)),
            str(path),
            input_names=["input_ids", "token_type_ids", "attention_mask"],
            output_names=outputs,
            dynamic_shapes=dynamic,
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
        )
        report[name] = {"seconds": time.time() - t0, "outputs": len(outputs)}

    import onnxruntime as ort

    ids = torch.randint(1000, 5000, (3, 41))
    mask = torch.ones_like(ids)
    mask[1, 30:] = 0  # one padded row, so the mask path is checked too
    with torch.inference_mode():
        ref = model(input_ids=ids, token_type_ids=torch.zeros_like(ids), attention_mask=mask, output_attentions=True)
    feeds = {"input_ids": ids.numpy(), "token_type_ids": np.zeros_like(ids.numpy()), "attention_mask": mask.numpy()}
    for name in ("maps", "nomaps"):
        session = ort.InferenceSession(str(Path(out_dir) / f"model-{name}.onnx"), providers=["CPUExecutionProvider"])
        out = session.run(None, feeds)
        report[name]["max_abs_diff_hidden"] = float(np.abs(out[0] - ref.last_hidden_state.numpy()).max())
        if name == "maps":
            report[name]["max_abs_diff_attention"] = float(max(np.abs(out[1 + i] - ref.attentions[i].numpy()).max() for i in range(layers)))
    bad = [n for n, r in report.items() if r["max_abs_diff_hidden"] > 1e-3 or r.get("max_abs_diff_attention", 0) > 1e-4]
    if bad:
        raise SystemExit(f"exported graph(s) {bad} disagree with PyTorch: {report}")
    (Path(out_dir) / "export.json").write_text(json.dumps(report, indent=2) + "\n")


def ensure_onnx(args) -> dict:
    """The two exported graphs, from the cache in bench/out/onnx/ when the model and the
    exporter versions match."""
    import torch
    import transformers

    h = hashlib.sha256()
    with open(args.model / "model.safetensors", "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    h.update((args.model / "config.json").read_bytes())
    h.update(f"{torch.__version__} {transformers.__version__} opset{OPSET} v{SCRIPT_VERSION}".encode())
    key = h.hexdigest()[:16]
    folder = args.out / "onnx" / key
    paths = {"maps": str(folder / "model-maps.onnx"), "nomaps": str(folder / "model-nomaps.onnx"), "folder": str(folder)}
    if (folder / "export.json").exists() and all(Path(paths[k]).exists() for k in ("maps", "nomaps")):
        paths["report"] = json.loads((folder / "export.json").read_text())
        paths["cached"] = True
        return paths
    say(f"exporting the ONNX graphs (torch.onnx.export, dynamo, opset {OPSET}) into {folder} …")
    tmp = Path(str(folder) + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    with open(args.out / "export.log", "w") as log:
        status = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--export", str(tmp), "--model", str(args.model)], stdout=log, stderr=subprocess.STDOUT, env=env)
    if status.returncode != 0:
        raise Failure(f"the ONNX export failed; see {args.out / 'export.log'}")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    paths["report"] = json.loads((folder / "export.json").read_text())
    paths["cached"] = False
    return paths


# --------------------------------------------------------------------------- bertscope


def run_bertscope_bench(args, backend: str, batch: int, length: int, maps: bool, repeats: int, warmup: int, cpu_gemm: str | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", dir=args.out, delete=False) as f:
        json_path = f.name
    cmd = [
        str(args.bertscope), "bench", "--model", str(args.model), "--backend", backend,
        "--batch", str(batch), "--length", str(length), "--maps", "all" if maps else "none",
        "--repeats", str(repeats), "--warmup", str(warmup), "--input", str(args.input), "--json", json_path, "--quiet",
    ]
    try:
        env = dict(os.environ, BERTSCOPE_CPU_GEMM=cpu_gemm) if cpu_gemm else None
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
        if done.returncode != 0:
            message = (done.stderr.strip() or done.stdout.strip()).splitlines()
            return {"ok": False, "error": message[-1] if message else f"exit status {done.returncode}"}
        doc = json.loads(Path(json_path).read_text())
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {args.timeout} s"}
    finally:
        Path(json_path).unlink(missing_ok=True)
    row = doc["results"][0]
    return {"ok": True, "row": row, "doc": {k: v for k, v in doc.items() if k != "results"}}


def check_tokenizer(args, inputs_by_length: dict) -> dict:
    """Feeds the joined texts to `bertscope tokenize` and checks that its ids, truncated to
    the length, are the Hugging Face ids the Python engines get."""
    report = {}
    for length, items in inputs_by_length.items():
        text = "".join(t + "\n" for t, _ in items)
        done = subprocess.run([str(args.bertscope), "tokenize", "--model", str(args.model), "--input", "-"], input=text, capture_output=True, text=True, timeout=args.timeout)
        if done.returncode != 0:
            raise Failure(f"`bertscope tokenize` failed: {done.stderr.strip()}")
        ours = [json.loads(line)["ids"] for line in done.stdout.splitlines() if line.strip()]
        if len(ours) != len(items):
            raise Failure(f"`bertscope tokenize` gave {len(ours)} encodings for {len(items)} texts")
        mismatched = 0
        for (_, hf), mine in zip(items, ours):
            expected = mine if len(mine) <= length else mine[: length - 1] + [SEP]
            if expected != hf:
                mismatched += 1
        if mismatched:
            raise Failure(f"token ids differ between bertscope and Hugging Face for {mismatched} of {len(items)} sequences of length {length}")
        report[str(length)] = {"sequences": len(items), "identical": True}
    return report


# --------------------------------------------------------------------------- start-up


def measure_startup(args, python_runs: int) -> dict:
    sentence = read_sentences(args.input)[0]
    line_file = args.out / "startup-input.txt"
    line_file.write_text(sentence + "\n")
    ours_out, py_out = args.out / "startup-bertscope.npy", args.out / "startup-python.npy"
    ours_cmd = [str(args.bertscope), "embed", "--model", str(args.model), "--input", str(line_file), "--out", str(ours_out), "--quiet"]
    py_cmd = [sys.executable, str(HERE / "startup_embed.py"), "--model", str(args.model), "--input", str(line_file), "--out", str(py_out), "--threads", str(args.threads)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    times = {"bertscope": [], "python": []}

    def timed(cmd, out_path, name):
        out_path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
        dt = time.perf_counter() - t0
        if done.returncode != 0 or not out_path.exists():
            raise Failure(f"start-up run of {name} failed: {done.stderr.strip()[-500:]}")
        times[name].append(dt)

    for i in range(max(args.startup_runs, python_runs)):
        if i < args.startup_runs:
            timed(ours_cmd, ours_out, "bertscope")
        if i < python_runs:
            timed(py_cmd, py_out, "python")
    import numpy as np

    a, b = np.load(ours_out), np.load(py_out)
    cosine = float((a[0] * b[0]).sum() / (np.linalg.norm(a[0]) * np.linalg.norm(b[0])))
    return {
        "input": sentence,
        "bertscope_cmd": " ".join(ours_cmd),
        "python_cmd": " ".join(py_cmd),
        "bertscope_seconds": times["bertscope"],
        "python_seconds": times["python"],
        "bertscope_median_s": statistics.median(times["bertscope"]),
        "python_median_s": statistics.median(times["python"]),
        "embedding_cosine_bertscope_vs_python": cosine,
    }


# --------------------------------------------------------------------------- roofline


def build_tools(args) -> dict:
    bin_dir = args.out / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "gcc")
    if not shutil.which(cc):
        raise Failure(f"no C compiler ({cc}) for the roofline programs; install gcc or pass --skip-roofline")
    tools = {}
    for name, extra in (("fmapeak", ["-pthread"]), ("sgemm", ["-pthread", "-lopenblas"])):
        src, exe = HERE / f"{name}.c", bin_dir / name
        if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
            done = subprocess.run([cc, "-O2", str(src), "-o", str(exe)] + extra, capture_output=True, text=True)
            if done.returncode != 0:
                hint = " (OpenBLAS headers missing? scripts/setup installs libopenblas-dev)" if name == "sgemm" else ""
                raise Failure(f"compiling {src.name} failed{hint}:\n{done.stderr.strip()}")
        tools[name] = exe
    return tools


def measure_fma_peak(tools: dict, threads: int) -> dict:
    # Many short trials: the best one is the peak, whatever else the machine is doing meanwhile.
    done = subprocess.run([str(tools["fmapeak"]), str(threads), "0.1", "25"], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise Failure(f"fmapeak failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def measure_sgemm(tools: dict, threads: int, ms: list[int], hidden: int, inner: int) -> list[dict]:
    shapes = [f"{m}:{k}:{n}" for m in ms for k, n, _ in gemm_shapes(hidden, inner)] + ["2048:2048:2048"]
    done = subprocess.run([str(tools["sgemm"]), str(threads), "0.25"] + shapes, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise Failure(f"sgemm failed: {done.stderr.strip()}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- reporting


def fmt(x, digits=1):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def markdown(doc: dict) -> str:
    lines = []
    m = doc["machine"]
    lines.append(f"#### Machine — {doc['date']}")
    lines.append("")
    ids = m.get("ids", {})
    detail = f" ({ids.get('vendor_id', '?')} family {ids.get('cpu_family', '?')} model {ids.get('model', '?')}, {ids.get('cpu_MHz', '?')} MHz nominal{', AVX-512' if m.get('avx512') else ''})" if ids else ""
    lines.append(f"- CPU: {m['cpu']}{detail} — {m['cores']} cores online; threads per engine: {doc['threads']}")
    lines.append(f"- OpenCL devices (clinfo): {', '.join(m['opencl_devices']) or 'none'}")
    lines.append(f"- bertscope: source tree at commit {doc['bertscope']['commit']}, backend {doc['bertscope']['device'] or 'cpu'}; " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()))
    noise = [c["foreign_cores"] for c in doc["configs"] if c.get("foreign_cores") is not None]
    la = doc["loadavg"]
    if noise:
        lines.append(
            f"- Noise: other processes used {min(noise):.2f}–{max(noise):.2f} cores (median {statistics.median(noise):.2f}) "
            f"while configurations ran; load average {la['start'][0] if la['start'] else '?'} at start, {la['end'][0] if la['end'] else '?'} at end"
        )
    lines.append("")
    engines = [e for e in doc["engines"] if doc["engine_status"][e] == "ok"]
    peers = [e for e in engines if e in ("torch", "ort")]
    ours = "bertscope" if "bertscope" in engines else None

    lines.append("#### Median ms per batch (tokens/s) — ratio = peer time / ours, > 1 means bertscope cpu is faster")
    lines.append("")
    head = ["batch", "length", "maps"] + [ENGINE_TITLES[e] for e in engines]
    if ours:
        head += [f"cpu vs {ENGINE_TITLES[p]}" for p in peers]
        if "opencl" in engines:
            head += ["opencl / cpu"]
        if "openblas" in engines:
            head += ["OpenBLAS GEMM / cpu"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for c in doc["configs"]:
        row = [str(c["batch"]), str(c["length"]), c["maps"]]
        r = c["results"]
        for e in engines:
            x = r.get(e, {})
            row.append(f"{fmt(x.get('median_ms'), 2)} ({fmt(x.get('tokens_per_s'), 0)})" if x.get("ok") else "failed")
        if ours:
            for p in peers:
                row.append(fmt(c["ratios"].get(f"bertscope_vs_{p}"), 2) + "×" if c["ratios"].get(f"bertscope_vs_{p}") else "—")
            for e in ("opencl", "openblas"):
                if e in engines:
                    v = c["ratios"].get(f"{e}_vs_bertscope")
                    row.append(fmt(v, 2) + "×" if v else "—")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    peak = doc.get("roofline", {}).get("fma_peak_gflops")
    for e in engines:
        lines.append(f"#### {ENGINE_TITLES[e]}")
        lines.append("")
        lines.append("| batch | length | maps | median ms | p10–p90 ms | sequences/s | tokens/s | GFLOPS | % FP32 peak | peak RSS MiB |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|")
        for c in doc["configs"]:
            x = c["results"].get(e, {})
            if not x.get("ok"):
                lines.append(f"| {c['batch']} | {c['length']} | {c['maps']} | failed: {x.get('error', '?')} | | | | | | |")
                continue
            pct = f"{100 * x['gflops'] / peak:.0f} %" if peak else "—"
            lines.append(
                f"| {c['batch']} | {c['length']} | {c['maps']} | {fmt(x['median_ms'], 2)} | {fmt(x['p10_ms'], 2)}–{fmt(x['p90_ms'], 2)} | "
                f"{fmt(x['sequences_per_s'], 1)} | {fmt(x['tokens_per_s'], 0)} | {fmt(x['gflops'], 1)} | {pct} | {fmt(x['peak_rss_bytes'] / 2**20, 0)} |"
            )
        lines.append("")

    s = doc.get("startup")
    if s:
        lines.append("#### Start-up: process start to the first embedding written (one sentence)")
        lines.append("")
        lines.append("| program | runs | median s | min s | max s |")
        lines.append("|---|---|---|---|---|")
        for name, key in (("`bertscope embed`", "bertscope_seconds"), ("Python: import transformers, load, embed, np.save", "python_seconds")):
            t = s[key]
            lines.append(f"| {name} | {len(t)} | {statistics.median(t):.3f} | {min(t):.3f} | {max(t):.3f} |")
        lines.append(f"\nCosine similarity of the two embeddings: {s['embedding_cosine_bertscope_vs_python']:.7f}")
        lines.append("")

    rl = doc.get("roofline")
    if rl:
        lines.append("#### Roofline")
        lines.append("")
        f = rl["fma"]
        lines.append(
            f"- FP32 FMA peak (bench/fmapeak.c), all {f[0]['threads']} threads at once, best trial: {rl['all_core_best_gflops']:.1f} GFLOPS "
            f"(AVX2 {max(x['avx2_fma_gflops_best'] for x in f):.1f}, AVX-512 {max(x['avx512_fma_gflops_best'] for x in f):.1f})"
        )
        lines.append(
            f"- One thread's best × {doc['threads']}: {rl['one_core_times_cores_gflops']:.1f} GFLOPS (one thread: {max(x['avx2_fma_gflops_one_thread_best'] for x in f):.1f})"
            + (" — well above the all-thread figure: the cores were busy with other work during those trials" if rl["one_core_times_cores_gflops"] > 1.15 * rl["all_core_best_gflops"] else "")
        )
        lines.append(f"- **FP32 peak used below: {rl['fma_peak_gflops']:.1f} GFLOPS** (the larger of the two)")
        for g in rl["sgemm"]:
            if g["m"] == g["k"] == g["n"]:
                lines.append(f"- OpenBLAS sgemm {g['m']}³, {g['mode']} ({g['threads']} threads): {g['gflops_median']:.1f} GFLOPS median, {g['gflops_best']:.1f} best")
        lines.append("")
        shapes = gemm_shapes(doc["model"]["hidden"], doc["model"]["inner"])
        lines.append("OpenBLAS sgemm GFLOPS (median) on the encoder's shapes, C[M×N] = A[M×K]·Wᵀ, OpenBLAS-threaded / our row blocks of single-threaded calls:")
        lines.append("")
        lines.append("| tokens per batch (M) | " + " | ".join(f"{name} K×N {k}×{n}" for k, n, name in shapes) + " | GEMM-only ceiling for the encoder |")
        lines.append("|---|" + "---|" * (len(shapes) + 1))
        for mrow in rl["sgemm_by_m"]:
            t, b = mrow["threaded"], mrow["rowblocks"]
            cells = [f"{x:.1f} / {y:.1f}" for x, y in zip(t["gflops"], b["gflops"])]
            lines.append(f"| {mrow['m']} | " + " | ".join(cells) + f" | {t['ceiling_gflops']:.1f} / {b['ceiling_gflops']:.1f} |")
        lines.append("")
        lines.append("Fraction of the FP32 peak the whole encoder reaches (bertscope cpu, GFLOPS counted as in `bertscope bench`):")
        lines.append("")
        lines.append("| batch | length | maps | GFLOPS | % of FP32 peak | % of sgemm ceiling at this M |")
        lines.append("|---|---|---|---|---|---|")
        for c in doc["configs"]:
            x = c["results"].get("bertscope", {})
            if x.get("ok"):
                ceiling = next((r["ceiling_gflops"] for r in rl["sgemm_by_m"] if r["m"] == c["batch"] * c["length"]), None)
                lines.append(
                    f"| {c['batch']} | {c['length']} | {c['maps']} | {x['gflops']:.1f} | {100 * x['gflops'] / rl['fma_peak_gflops']:.0f} % | "
                    + (f"{100 * x['gflops'] / ceiling:.0f} %" if ceiling else "—")
                    + " |"
                )
        lines.append("")

    t = doc.get("targets")
    if t:
        lines.append("#### Targets (issue 6)")
        lines.append("")
        lines.append("| target | measured | verdict |")
        lines.append("|---|---|---|")
        for row in t:
            lines.append(f"| {row['target']} | {row['measured']} | {row['verdict']} |")
        lines.append("")
    return "\n".join(lines)


def targets(doc: dict) -> list[dict]:
    out = []

    def find(batch, length, maps):
        return next((c for c in doc["configs"] if c["batch"] == batch and c["length"] == length and c["maps"] == maps), None)

    c = find(32, 128, "all")
    if c and c["results"].get("bertscope", {}).get("ok"):
        ours = c["results"]["bertscope"]
        peer_times = {p: c["results"][p]["median_ms"] for p in ("torch", "ort") if c["results"].get(p, {}).get("ok")}
        if peer_times:
            best = min(peer_times, key=peer_times.get)
            ratio = peer_times[best] / ours["median_ms"]
            out.append({"target": "CPU backend ≥ 1.25× the faster peer (32 × 128, all maps)", "measured": f"{ratio:.2f}× vs {ENGINE_TITLES[best]}", "verdict": "met" if ratio >= 1.25 else "missed"})
        peak = doc.get("roofline", {}).get("fma_peak_gflops")
        if peak:
            frac = ours["gflops"] / peak
            measured = f"{100 * frac:.0f} % ({ours['gflops']:.1f} of {peak:.1f} GFLOPS)"
            out.append({"target": "whole encoder ≥ 65 % of the FP32 peak (32 × 128, all maps)", "measured": measured, "verdict": "met" if frac >= 0.65 else "missed"})
        o = c["results"].get("opencl", {})
        if o.get("ok"):
            r = ours["median_ms"] / o["median_ms"]
            out.append({"target": "OpenCL (PoCL) ≥ 0.7× the CPU backend (32 × 128, all maps)", "measured": f"{r:.2f}×", "verdict": "met" if r >= 0.7 else "missed"})
        else:
            out.append({"target": "OpenCL (PoCL) ≥ 0.7× the CPU backend (32 × 128, all maps)", "measured": doc["engine_status"].get("opencl", "not run"), "verdict": "not measured"})
    s = doc.get("startup")
    if s:
        out.append({"target": "start-up ≤ 1 s", "measured": f"{s['bertscope_median_s']:.3f} s median", "verdict": "met" if s["bertscope_median_s"] <= 1 else "missed"})
    return out


def derive_roofline(roofline: dict, ms: list[int], hidden: int, inner: int, threads: int) -> None:
    """Adds the peak used for fractions and the encoder's GEMM-only ceiling per M."""
    roofline["all_core_best_gflops"] = max(x["peak_gflops"] for x in roofline["fma"])
    one = max(x["avx2_fma_gflops_one_thread_best"] for x in roofline["fma"])
    roofline["one_core_times_cores_gflops"] = one * threads
    # The peak every fraction is taken of: the larger (more demanding) of the two. On a quiet
    # machine they agree within a few per cent; on a shared one the all-thread trials lose.
    roofline["fma_peak_gflops"] = max(roofline["all_core_best_gflops"], roofline["one_core_times_cores_gflops"])
    by_m = []
    for m in ms:
        row = {"m": m}
        for mode in ("threaded", "rowblocks"):
            rates, seconds, work = [], 0.0, 0.0
            for k, n, _ in gemm_shapes(hidden, inner):
                g = next(x for x in roofline["sgemm"] if (x.get("mode", "threaded"), x["m"], x["k"], x["n"]) == (mode, m, k, n))
                rates.append(g["gflops_median"])
                f = 2.0 * m * k * n
                seconds += f / (g["gflops_median"] * 1e9)
                work += f
            row[mode] = {"gflops": rates, "ceiling_gflops": work / seconds / 1e9}
        row["ceiling_gflops"] = max(row["threaded"]["ceiling_gflops"], row["rowblocks"]["ceiling_gflops"])
        by_m.append(row)
    roofline["sgemm_by_m"] = by_m
    roofline["note"] = (
        "all_core_best_gflops: best all-thread trial of bench/fmapeak.c, before and after the engines; one_core_times_cores_gflops: the best "
        "one-thread trial times the thread count (what the all-thread figure would be on a quiet machine); fma_peak_gflops, which every fraction "
        "uses: the larger of the two. sgemm ceiling at M: the encoder's GEMM FLOPs over the time sgemm (median rate, better of OpenBLAS-threaded "
        "and our row blocks of single-threaded calls) needs for them; attention and element-wise work are not included"
    )


def report_main(path: Path) -> int:
    """Re-renders the Markdown (and targets) of an earlier result file, e.g. after editing this script."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise Failure(f"cannot read {path}: {e}") from None
    rl = doc.get("roofline")
    if rl and "sgemm" in rl:
        ms = sorted({c["batch"] * c["length"] for c in doc["configs"]})
        derive_roofline(rl, ms, doc["model"]["hidden"], doc["model"]["inner"], doc["threads"])
    doc["targets"] = targets(doc)
    print(markdown(doc))
    return 0


# --------------------------------------------------------------------------- driver


def parse_list(text: str, name: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise Failure(f"--{name}: {text!r} is not a comma-separated list of numbers") from None
    if not values or min(values) < 1:
        raise Failure(f"--{name}: values must be ≥ 1")
    return values


def default_model_dir() -> Path:
    if os.environ.get("BERTSCOPE_MODEL"):
        return Path(os.environ["BERTSCOPE_MODEL"])
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share")
    return base / "bertscope/models/all-MiniLM-L6-v2"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench/peers", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", default="1,8,32", help="comma-separated batch sizes (default 1,8,32)")
    p.add_argument("--length", default="16,128,512", help="comma-separated sequence lengths in tokens (default 16,128,512)")
    p.add_argument("--maps", default="none,all", help="none, all or none,all (default)")
    p.add_argument("--quick", action="store_true", help="batch 32 × length 128 only (both maps modes unless --maps)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per engine and configuration (default 5)")
    p.add_argument("--per-block", type=int, default=1, help="timed passes per engine in one interleaving block (default 1)")
    p.add_argument("--warmup", type=int, default=1, help="untimed passes per engine at the start of every block (default 1)")
    p.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help=f"comma-separated subset of {','.join(ENGINES)} (default {','.join(DEFAULT_ENGINES)}; opencl is skipped when the build lacks it; openblas is the CPU backend on its OpenBLAS GEMM)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for PyTorch and ONNX Runtime (default: the core count, which bertscope always uses)")
    p.add_argument("--bertscope", type=Path, default=Path(os.environ.get("BERTSCOPE_BIN") or ROOT / ".build/release/bertscope"), help="the bertscope binary (default .build/release/bertscope, or $BERTSCOPE_BIN)")
    p.add_argument("--model", type=Path, default=default_model_dir(), help="model folder (default $BERTSCOPE_MODEL, else the installed all-MiniLM-L6-v2)")
    p.add_argument("--input", type=Path, default=ROOT / "samples/wordnet-sentences.txt", help="corpus the sequences are cut from (default samples/wordnet-sentences.txt)")
    p.add_argument("--startup-runs", type=int, default=10, help="start-up measurements of bertscope (default 10; the Python one gets half, at least 3)")
    p.add_argument("--skip-startup", action="store_true", help="do not measure start-up")
    p.add_argument("--skip-roofline", action="store_true", help="do not measure the FP32 peak and sgemm")
    p.add_argument("--out", type=Path, default=HERE / "out", help="folder for results and caches (default bench/out)")
    p.add_argument("--json", type=Path, help="result file (default OUT/peers-<date>.json)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds allowed for one subprocess (default 1800)")
    p.add_argument("--report", type=Path, metavar="JSON", help="only print the Markdown tables of an earlier result file")
    # internal modes
    p.add_argument("--worker", choices=("torch", "ort"), help=argparse.SUPPRESS)
    p.add_argument("--export", help=argparse.SUPPRESS)
    p.add_argument("--onnx-maps", help=argparse.SUPPRESS)
    p.add_argument("--onnx-nomaps", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def check_setup(args) -> None:
    if not args.bertscope.is_file() or not os.access(args.bertscope, os.X_OK):
        raise Failure(
            f"no bertscope binary at {args.bertscope}.\n"
            f"  Build it:  (cd {ROOT} && swift build -c release --product bertscope)\n"
            "  or point --bertscope / $BERTSCOPE_BIN at one."
        )
    missing = [f for f in ("config.json", "vocab.txt", "model.safetensors") if not (args.model / f).is_file()]
    if missing:
        raise Failure(f"the model folder {args.model} lacks {', '.join(missing)}.\n  Install the default model with scripts/setup (or pass --model DIR / set BERTSCOPE_MODEL).")
    if not args.input.is_file():
        raise Failure(f"no corpus at {args.input} (pass --input FILE)")
    if args.repeats < 1 or args.per_block < 1 or args.warmup < 0 or args.threads < 1:
        raise Failure("--repeats, --per-block and --threads must be ≥ 1, --warmup ≥ 0")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker, str(args.model), args.threads, args.onnx_maps, args.onnx_nomaps)
        return 0
    if args.export:
        export_main(args.export, str(args.model))
        return 0
    if args.report:
        return report_main(args.report)

    check_setup(args)
    args.out.mkdir(parents=True, exist_ok=True)
    args.bertscope = args.bertscope.resolve()
    args.model = args.model.resolve()
    args.input = args.input.resolve()
    batches = [32] if args.quick else parse_list(args.batch, "batch")
    lengths = [128] if args.quick else parse_list(args.length, "length")
    maps_modes = []
    for m in args.maps.split(","):
        if m not in ("none", "all"):
            raise Failure("--maps takes none, all or none,all")
        maps_modes.append(m == "all")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise Failure(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    if args.threads != (os.cpu_count() or 1):
        say(f"note: bertscope always uses all {os.cpu_count()} cores; the peers get {args.threads} threads")

    config = json.loads((args.model / "config.json").read_text())
    layers, hidden, inner = config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"]
    if max(lengths) > config.get("max_position_embeddings", 512) or min(lengths) < 2:
        raise Failure(f"lengths must be between 2 and {config.get('max_position_embeddings', 512)}")

    started = _dt.datetime.now()
    doc: dict = {
        "tool": "bench/peers",
        "version": SCRIPT_VERSION,
        "date": started.isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "opencl_devices": opencl_devices(), "kernel": platform.release(), "avx512": "avx512f" in cpu_flags(), "ids": cpu_ids()},
        "threads": args.threads,
        "model": {"path": str(args.model), "layers": layers, "hidden": hidden, "inner": inner},
        "corpus": str(args.input),
        "method": {
            "repeats": args.repeats, "per_block": args.per_block, "warmup_per_block": args.warmup,
            "interleaving": "per configuration, blocks of per_block timed passes per engine (after warmup_per_block untimed passes), engine order rotated each block; bertscope is a fresh `bertscope bench` process per block, the Python engines are persistent worker processes (one extra untimed pass the first time they see a configuration)",
            "statistic": "median over blocks of each block's median (sorted[n//2], as `bertscope bench`); with per_block 1 that is the median of all timed passes",
            "flops": "every GEMM plus QK^T and P.V, multiply-add = 2 (Sources/BertScope/Encoder/Flops.swift)",
        },
        "bertscope": {"binary": str(args.bertscope), "commit": git_describe(), "device": None},
        "loadavg": {"start": loadavg()},
        "engines": engines,
        "engine_status": {},
        "configs": [],
    }
    stamp = started.strftime("%Y-%m-%dT%H%M%S")
    json_path = args.json or args.out / f"peers-{stamp}.json"

    import numpy as np
    import transformers
    from transformers import AutoTokenizer

    versions = {"python": platform.python_version(), "transformers": transformers.__version__, "numpy": np.__version__}
    tokenizer = AutoTokenizer.from_pretrained(str(args.model))
    sentences = read_sentences(args.input)
    say("building the workloads and checking token ids against `bertscope tokenize` …")
    inputs_by_length = {length: make_inputs(sentences, tokenizer, length, max(batches)) for length in lengths}
    doc["tokenizer_check"] = check_tokenizer(args, inputs_by_length)

    roofline: dict = {}
    tools = None
    if not args.skip_roofline:
        tools = build_tools(args)
        say("measuring the FP32 FMA peak (before) …")
        roofline["fma"] = [measure_fma_peak(tools, args.threads)]

    if "opencl" in engines:
        probe = run_bertscope_bench(args, "opencl", 1, 16, False, 1, 0)
        if not probe["ok"]:
            say(f"skipping opencl: {probe['error']}")
            doc["engine_status"]["opencl"] = f"not run: {probe['error']}"
            engines.remove("opencl")
    workers: dict[str, Worker] = {}
    try:
        if "ort" in engines:
            onnx_paths = ensure_onnx(args)
            doc["onnx_export"] = {k: v for k, v in onnx_paths.items() if k != "folder"}
        if "torch" in engines:
            say("starting the PyTorch worker …")
            workers["torch"] = Worker("torch", args)
            versions.update(torch=workers["torch"].info["torch"])
        if "ort" in engines:
            say("starting the ONNX Runtime worker …")
            workers["ort"] = Worker("ort", args, onnx_paths)
            versions.update(onnxruntime=workers["ort"].info["onnxruntime"])
        doc["workers"] = {k: w.info for k, w in workers.items()}
        doc["versions"] = versions
        for e in engines:
            doc["engine_status"][e] = "ok"
        for length, items in inputs_by_length.items():
            for w in workers.values():
                reply = w.ask(cmd="inputs", key=str(length), ids=[ids for _, ids in items])
                if not reply.get("ok"):
                    raise Failure(f"{w.kind} worker: {reply.get('error')}")

        blocks = math.ceil(args.repeats / args.per_block)
        total = len(lengths) * len(batches) * len(maps_modes)
        index = 0
        for length in lengths:
            for batch in batches:
                for maps in maps_modes:
                    index += 1
                    label = f"[{index}/{total}] batch {batch} × length {length}, maps {'all' if maps else 'none'}"
                    say(f"{label} …")
                    flops = forward_flops(layers, hidden, inner, length, batch)
                    watch = CPUWatch([w.pid for w in workers.values()])
                    block_medians: dict[str, list[float]] = {e: [] for e in engines}
                    extra: dict[str, dict] = {e: {"peak_rss_bytes": 0, "samples_ms": [], "errors": []} for e in engines}
                    t_config = time.monotonic()
                    for k in range(blocks):
                        order = engines[k % len(engines):] + engines[: k % len(engines)]
                        for e in order:
                            if extra[e]["errors"]:
                                continue
                            if e in ("bertscope", "openblas", "opencl"):
                                r = run_bertscope_bench(args, "opencl" if e == "opencl" else "cpu", batch, length, maps, args.per_block, args.warmup,
                                                        cpu_gemm="openblas" if e == "openblas" else None)
                                if not r["ok"]:
                                    extra[e]["errors"].append(r["error"])
                                    continue
                                row = r["row"]
                                block_medians[e].append(row["median_ms"] / 1000)
                                extra[e]["peak_rss_bytes"] = max(extra[e]["peak_rss_bytes"], row["peak_rss_bytes"])
                                extra[e]["device"] = row["device"]
                                extra[e].setdefault("model_load_seconds", []).append(r["doc"].get("model_load_seconds"))
                                extra[e].setdefault("upload_seconds", []).append(r["doc"].get("upload_seconds"))
                                if e == "bertscope":
                                    doc["bertscope"]["device"] = row["device"]
                                if args.per_block == 1:
                                    extra[e]["samples_ms"].append(row["median_ms"])
                            else:
                                r = workers[e].ask(cmd="run", key=str(length), batch=batch, maps=maps, warmup=args.warmup, repeats=args.per_block, first_extra=1)
                                if not r.get("ok"):
                                    extra[e]["errors"].append(r.get("error"))
                                    continue
                                times = sorted(r["times"])
                                block_medians[e].append(times[len(times) // 2])
                                extra[e]["samples_ms"] += [t * 1000 for t in r["times"]]
                                extra[e]["peak_rss_bytes"] = max(extra[e]["peak_rss_bytes"], r["peak_rss_bytes"])
                    results = {}
                    for e in engines:
                        meds = sorted(block_medians[e])
                        if extra[e]["errors"] or not meds:
                            results[e] = {"ok": False, "error": (extra[e]["errors"] or ["no result"])[0]}
                            say(f"  {ENGINE_TITLES[e]}: failed: {results[e]['error']}")
                            continue
                        median = statistics.median(meds)
                        q = statistics.quantiles(meds, n=10, method="inclusive") if len(meds) > 1 else [meds[0]] * 9
                        results[e] = {
                            "ok": True,
                            "median_ms": median * 1000,
                            "p10_ms": q[0] * 1000,
                            "p90_ms": q[-1] * 1000,
                            "blocks": len(meds),
                            "sequences_per_s": batch / median,
                            "tokens_per_s": batch * length / median,
                            "gflops": flops / median / 1e9,
                            **{k: v for k, v in extra[e].items() if k != "errors"},
                        }
                    ratios = {}
                    if results.get("bertscope", {}).get("ok"):
                        base = results["bertscope"]["median_ms"]
                        for p in ("torch", "ort"):
                            if results.get(p, {}).get("ok"):
                                ratios[f"bertscope_vs_{p}"] = results[p]["median_ms"] / base
                        for e in ("opencl", "openblas"):
                            if results.get(e, {}).get("ok"):
                                ratios[f"{e}_vs_bertscope"] = base / results[e]["median_ms"]
                    foreign = watch.foreign_cores()
                    doc["configs"].append(
                        {"batch": batch, "length": length, "maps": "all" if maps else "none", "flops": flops, "results": results, "ratios": ratios,
                         "foreign_cores": foreign, "loadavg": loadavg(), "seconds": time.monotonic() - t_config}
                    )
                    summary = ", ".join(f"{ENGINE_TITLES[e]} {results[e]['median_ms']:.2f} ms" for e in engines if results[e]["ok"])
                    say(f"  {summary}" + (f"; others used {foreign:.2f} cores" if foreign is not None else ""))
    finally:
        for w in workers.values():
            w.close()

    if not args.skip_startup:
        say("measuring start-up …")
        doc["startup"] = measure_startup(args, max(3, args.startup_runs // 2))
    if tools:
        say("measuring OpenBLAS sgemm on the encoder's shapes and the FP32 FMA peak (after) …")
        ms = sorted({b * l for b in batches for l in lengths})
        roofline["sgemm"] = measure_sgemm(tools, args.threads, ms, hidden, inner)
        roofline["fma"].append(measure_fma_peak(tools, args.threads))
        derive_roofline(roofline, ms, hidden, inner, args.threads)
        doc["roofline"] = roofline
    doc["loadavg"]["end"] = loadavg()
    doc["targets"] = targets(doc)
    doc["markdown"] = markdown(doc)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    print(doc["markdown"])
    say(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        say(f"error: {e}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)

"""PyTorch + transformers on a CUDA GPU, for the device-vs-host table of BENCHMARKS.md.

Times BertModel (float32, attn_implementation="eager") on the model folder given, for the
same batch × length shapes as `bertscope bench`, with output_attentions off and on; "maps to
host" also copies every attention tensor back to CPU memory, as `bertscope bench --maps all`
does. Inputs are random token ids of exactly the given length (timing does not depend on the
ids). Run where torch + transformers are installed (the GPU box's image has both):

    python3 bench/gpu_torch.py MODEL_DIR [--batch 1,32] [--length 128,512] [--repeats 5] [--json FILE]
"""
import argparse
import json
import statistics
import time

import torch
from transformers import BertModel


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--batch", default="1,32")
    p.add_argument("--length", default="128,512")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json")
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = BertModel.from_pretrained(args.model, attn_implementation="eager", dtype=torch.float32).to(device).eval()
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    cfg = model.config
    rows = []
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__} on {name}")
    print(f"{'batch':>5} {'length':>6} {'mode':>14} {'median ms':>10} {'tokens/s':>11}")
    for length in [int(x) for x in args.length.split(",")]:
        for batch in [int(x) for x in args.batch.split(",")]:
            ids = torch.randint(1000, cfg.vocab_size, (batch, length), generator=gen)
            ids[:, 0], ids[:, -1] = 101, 102
            ids = ids.to(device)
            mask = torch.ones_like(ids)
            for mode in ("none", "all (device)", "all (to host)"):
                def run():
                    with torch.inference_mode():
                        out = model(input_ids=ids, attention_mask=mask, output_attentions=mode != "none")
                        if mode == "all (to host)":
                            [a.cpu() for a in out.attentions]
                        _ = out.last_hidden_state.cpu()
                    if device == "cuda":
                        torch.cuda.synchronize()
                for _ in range(2):
                    run()
                times = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    run()
                    times.append(time.perf_counter() - t0)
                med = statistics.median(times)
                rows.append({"engine": "torch-" + device, "device": name, "batch": batch, "length": length,
                             "maps": mode, "median_ms": med * 1000, "tokens_per_s": batch * length / med})
                print(f"{batch:>5} {length:>6} {mode:>14} {med * 1000:>10.2f} {batch * length / med:>11.0f}")
    if args.json:
        json.dump({"torch": torch.__version__, "device": name, "results": rows}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()

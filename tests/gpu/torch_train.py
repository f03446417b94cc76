#!/usr/bin/env python3
"""PyTorch on mempool pools (the plug-in, plugins/torch, through python/mempool_torch).

Each run is its own subprocess, since PyTorch's allocator can only be chosen
before the first CUDA allocation:
  native   a small GPT-shaped transformer trained on PyTorch's own allocator
  mempool  the same training through mempool_torch.use("default")
  oom      a request beyond the pool's cap raises RuntimeError with mempool's
           detail, and the process (its CUDA context) stays usable
  streams  allocations and frees on a second stream: counted as such, and a
           block freed on the default stream and reused on the second one is
           not written by the second stream before the default stream's queued
           work on it is done
The parent compares: the losses must be identical bit for bit (same kernels on
the same inputs in deterministic mode; an allocator changes addresses only, and
both put every block on a 256-byte boundary or more, so no kernel takes another
path), the pool must show the training's allocations, and once the model is
deleted and PyTorch's cuBLAS workspaces are released the pool holds no live
block (or exactly what the same release left after a tiny warm-up, when PyTorch
keeps a buffer for the process).

Exits 77 with "SKIP: ..." where python3's torch, a CUDA device or the plug-in
library is missing.
"""

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "bench", "torch"))
from gpt import make_model  # noqa: E402  (the benchmark's model, small and with attention written out)

STEPS = 40
BATCH = 4
VOCAB, WIDTH, HEADS, LAYERS, MAX_LEN = 512, 128, 4, 2, 256
MODEL = {"width": WIDTH, "heads": HEADS, "layers": LAYERS, "vocab": VOCAB, "max_len": MAX_LEN, "attention": "explicit"}


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


# ---- the model and the training (run in the workers) ----------------------

def deterministic(torch):
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)


def train(torch):
    """STEPS steps with a sequence length varying per step; the losses, as
    float.hex strings (exact)."""
    deterministic(torch)
    model = make_model(torch, MODEL).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    lengths = random.Random(1234)
    data = torch.Generator().manual_seed(5678)
    losses = []
    for _ in range(STEPS):
        t = lengths.randint(8, MAX_LEN - 1)
        batch = torch.randint(0, VOCAB, (BATCH, t + 1), generator=data).cuda()
        logits = model(batch[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()).hex())
    return model, opt, losses


def release_workspaces(torch):
    """Drops what PyTorch keeps for the process: cuBLAS(Lt) workspaces come
    from the allocator and stay cached per handle and stream."""
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.empty_cache()  # a no-op under a pluggable allocator, kept for the native run
    clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
    if clear:
        clear()
    torch.cuda.synchronize()


def worker_native(torch, out):
    model, opt, losses = train(torch)
    out["losses"] = losses
    out["torch_allocations"] = torch.cuda.memory_stats().get("allocation.all.allocated")
    out["peak_allocated"] = torch.cuda.max_memory_allocated()


def worker_mempool(torch, out, library):
    import mempool_torch

    mempool_torch.use("default", library=library)
    # A tiny warm-up first: what the same release leaves behind afterwards is
    # what PyTorch keeps for the process, not the training's.
    deterministic(torch)
    w = torch.randn(64, 64, device="cuda", requires_grad=True)
    (w @ w).sum().backward()
    del w
    release_workspaces(torch)
    kept = mempool_torch.stats()
    out["kept_after_warmup"] = {"blocks": kept["live_allocations"], "bytes": kept["plugin"]["live_bytes"]}

    model, opt, losses = train(torch)
    out["losses"] = losses
    out["during"] = mempool_torch.stats()
    del model, opt
    release_workspaces(torch)
    out["after"] = mempool_torch.stats()
    mempool_torch.trim()
    out["after_trim"] = mempool_torch.stats()


def worker_oom(torch, out, library):
    import mempool_torch

    mempool_torch.use("default", max_bytes=64 << 20, library=library)
    small = torch.ones(1000, device="cuda")
    try:
        big = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
        out["raised"] = None
        del big
    except RuntimeError as e:
        out["raised"] = type(e).__name__
        out["message"] = str(e)
    out["last_error"] = mempool_torch.last_error()
    out["empty_ok"] = torch.empty(0, device="cuda").numel() == 0
    out["after"] = float((small + torch.ones(1000, device="cuda")).sum().item())
    out["stats"] = mempool_torch.stats()


def worker_streams(torch, out, library):
    import mempool_torch

    mempool_torch.use("default", library=library)
    warm = torch.zeros(1, device="cuda")  # the pool's stream: the default stream
    side = torch.cuda.Stream()
    n = 1 << 22  # 16 MiB of float32
    # A block written late by the default stream, freed on it (free at once in
    # the pool's eyes), then handed out for the side stream, which zeroes it.
    x = torch.empty(n, device="cuda")
    torch.cuda._sleep(200_000_000)  # ~0.1 s on the default stream
    x.fill_(7.0)
    old = x.data_ptr()
    del x
    # Deliberately no side.wait_stream(): the plug-in must order the reuse.
    with torch.cuda.stream(side):
        y = torch.zeros(n, device="cuda")
    out["reused"] = y.data_ptr() == old
    torch.cuda.synchronize()
    out["nonzero_after"] = int((y != 0).sum().item())
    with torch.cuda.stream(side):
        z = y * 2
        del y
    side.synchronize()
    del z
    torch.cuda.synchronize()
    for _ in range(4):  # allocations collect completed stream frees (the oldest of each stream's queue)
        probe = torch.empty(1, device="cuda")
        del probe
    del warm
    out["stats"] = mempool_torch.stats()


def worker(args):
    import torch

    out = {}
    if args.worker == "native":
        worker_native(torch, out)
    elif args.worker == "mempool":
        worker_mempool(torch, out, args.library)
    elif args.worker == "oom":
        worker_oom(torch, out, args.library)
    else:
        worker_streams(torch, out, args.library)
    with open(args.out, "w") as f:
        json.dump(out, f)


# ---- the parent ------------------------------------------------------------

def run(kind, library, tmp):
    path = os.path.join(tmp, kind + ".json")
    env = dict(os.environ, CUBLAS_WORKSPACE_CONFIG=":4096:8")
    env.pop("PYTORCH_CUDA_ALLOC_CONF", None)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--out", path, "--library", library]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        print(f"--- {kind} worker failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}", flush=True)
        return None
    with open(path) as f:
        return json.load(f)


class Checks:
    def __init__(self):
        self.failed = 0

    def __call__(self, ok, what, detail=""):
        print(("ok    " if ok else "FAIL  ") + what + (f": {detail}" if detail else ""), flush=True)
        self.failed += not ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", help="libmempool_torch.so (default: mempool_torch.find_library())")
    ap.add_argument("--worker", choices=["native", "mempool", "oom", "streams"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return 0

    try:
        import torch
    except ImportError as e:
        skip(f"PyTorch is not importable by {sys.executable} ({e})")
    if not torch.cuda.is_available():
        skip(f"PyTorch {torch.__version__} sees no CUDA device")
    import mempool_torch
    try:
        library = mempool_torch.find_library(args.library)
    except FileNotFoundError as e:
        skip(str(e))
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, plug-in {library}", flush=True)

    check = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        native = run("native", library, tmp)
        pool = run("mempool", library, tmp)
        oom = run("oom", library, tmp)
        streams = run("streams", library, tmp)
    check(native is not None and pool is not None, "both trainings ran")
    if native and pool:
        a, b = native["losses"], pool["losses"]
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
        check(len(a) == len(b) == STEPS and first is None, f"{STEPS} losses identical bit for bit",
              f"first loss {float.fromhex(a[0]):.6f}, last {float.fromhex(a[-1]):.6f}" if first is None else
              f"step {first}: native {float.fromhex(a[first])!r}, mempool {float.fromhex(b[first])!r}")
        during, after, trimmed = pool["during"], pool["after"], pool["after_trim"]
        plug = during["plugin"]
        check(during["allocation_count"] == plug["allocations"] >= STEPS * 20,
              "the pool served every allocation of the training",
              f"{during['allocation_count']} pool allocations, {plug['allocations']} callbacks; PyTorch's own "
              f"allocator counted {native['torch_allocations']} in the native run")
        check(during["deallocation_count"] == plug["frees"] and plug["failed_frees"] == 0
              and plug["failed_allocations"] == 0, "every free reached the pool, none failed",
              f"{plug['frees']} frees")
        peak_reserved = during["peak_reserved_bytes"]
        check(0 < during["peak_usage"] <= peak_reserved and during["live_allocations"] > 0,
              "while the model lives the pool holds its blocks",
              f"peak {during['peak_usage']} bytes (native peak {native['peak_allocated']}), reserved at peak "
              f"{peak_reserved}, {during['live_allocations']} live blocks")
        kept = pool["kept_after_warmup"]
        check(after["live_allocations"] == kept["blocks"] and after["plugin"]["live_bytes"] == kept["bytes"],
              "after the model is deleted and the workspaces released, no block of the training is live",
              f"{after['live_allocations']} live blocks ({after['plugin']['live_bytes']} bytes); PyTorch kept "
              f"{kept['blocks']} ({kept['bytes']} bytes) after the warm-up")
        if kept["blocks"]:
            print(f"note  PyTorch keeps {kept['blocks']} block(s) for the process even after releasing its "
                  f"cuBLAS workspaces", flush=True)
        check(trimmed["reserved_bytes"] < after["reserved_bytes"] or after["reserved_bytes"] == 0,
              "trim hands free chunks back", f"reserved {after['reserved_bytes']} -> {trimmed['reserved_bytes']}")
    check(oom is not None, "the out-of-memory run ran")
    if oom:
        msg = oom.get("message", "")
        check(oom["raised"] is not None and "MP_ERR_OUT_OF_MEMORY" in msg and "mempool_torch" in msg,
              "a request beyond the pool's cap raises RuntimeError with mempool's detail",
              f"{oom['raised']}: {msg.splitlines()[0] if msg else '(nothing raised)'}")
        check(oom["last_error"] and oom["last_error"] in msg, "last_error() holds the same detail",
              oom["last_error"])
        check(oom["after"] == 2000.0 and oom["empty_ok"] and oom["stats"]["plugin"]["failed_allocations"] >= 1,
              "the process works on after it (and empty tensors need no block)")
    check(streams is not None, "the two-stream run ran")
    if streams:
        plug = streams["stats"]["plugin"]
        check(plug["other_stream_allocations"] >= 2 and plug["other_stream_frees"] >= 2,
              "allocations and frees on the second stream are counted as such",
              f"{plug['other_stream_allocations']} allocations, {plug['other_stream_frees']} frees")
        check(streams["nonzero_after"] == 0, "a block reused across streams is written in stream order",
              f"{streams['nonzero_after']} nonzero elements; block reused: {streams['reused']}")
        check(streams["stats"]["pending_frees"] == 0, "frees on the second stream complete once it is done",
              f"{streams['stats']['pending_frees']} still pending")
    print(f"{check.failed} check(s) failed" if check.failed else "all checks passed", flush=True)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())

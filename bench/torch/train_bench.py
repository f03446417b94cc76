#!/usr/bin/env python3
"""GPT-2-shaped training on every CUDA allocator PyTorch can use, and on mempool.

One subprocess per allocator (PyTorch picks its allocator once, before the
first CUDA allocation), each training the same model on the same data:

  torch-native               PyTorch's caching allocator
  torch-expandable           the same with PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
  cudaMallocAsync            PYTORCH_CUDA_ALLOC_CONF=backend:cudaMallocAsync
  mempool-default            mempool_torch.use("default")           (mp_config_default_gpu)
  mempool-high_performance   mempool_torch.use("high_performance")  (mp_config_high_performance_gpu)

Workload: 8 layers, width 768, 12 heads, vocabulary 50304, batch 8, a
sequence length drawn per step from 64..1024 (fixed seed), 55 steps, AdamW,
bf16 autocast, PyTorch's scaled_dot_product_attention; deterministic
algorithms, so the losses must match across allocators to the last bit.

Per allocator, from the allocator's own counters:
  step time     median and p10..p90 over the steps after 5 warm-up steps
                (wall time between two torch.cuda.synchronize())
  peak live     torch.cuda.max_memory_allocated() (native, expandable: block
                bytes, 512-byte rounded; cudaMallocAsync: the pool's
                cudaMemPoolAttrUsedMemHigh, which PyTorch reports there); for
                mempool the plug-in's peak of requested bytes live
  peak reserved torch.cuda.max_memory_reserved() (cudaMallocAsync:
                cudaMemPoolAttrReservedMemHigh); for mempool the pool's
                mp_stats.peak_reserved_bytes (device memory mapped, at its
                highest)
  reserve efficiency = peak reserved / peak live (1.0 is a perfect fit), both
                from the allocator's own counters; beside it peak reserved /
                the peak of requested bytes (the plug-in's count: every
                allocator gets the same requests), one denominator for all
  allocations   calls PyTorch made (native: allocation.all.allocated; mempool:
                the plug-in's count; cudaMallocAsync: PyTorch keeps no count)
  ns/allocate   mempool only, in the run: each mp_pool_allocate call timed
                (MEMPOOL_TORCH_TIMING=1), the timer's own cost taken off, over
                the steps after warm-up

With --trace PATH (or whenever torch_trace_time is found) one more run of
mempool-default records the allocation trace (MEMPOOL_TORCH_TRACE; timed runs
are not traced, since tracing serialises the callbacks). torch_trace_time then
replays it on mempool's presets and on cudaMallocAsync alone and times each
allocate and free: the allocators' own cost on this exact request sequence,
device idle. --trace PATH also writes the trace with its metadata (# workload,
# device, # date, one # baseline line per PyTorch allocator) for bench/traces/.

Output: a JSON file (--out) and markdown tables on stdout.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
from gpt import make_model  # noqa: E402  (bench/torch, beside this file)

ALLOCATORS = {
    "torch-native": {"env": {}},
    "torch-expandable": {"env": {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}},
    "cudaMallocAsync": {"env": {"PYTORCH_CUDA_ALLOC_CONF": "backend:cudaMallocAsync"}},
    "mempool-default": {"preset": "default", "env": {"MEMPOOL_TORCH_TIMING": "1"}},
    "mempool-high_performance": {"preset": "high_performance", "env": {"MEMPOOL_TORCH_TIMING": "1"}},
}
GIB = float(1 << 30)


# ---- the worker: one allocator, one training --------------------------------

def worker(args):
    cfg = json.loads(args.worker)
    w = cfg["workload"]
    import torch

    mempool = None
    if cfg.get("preset"):
        import mempool_torch as mempool
        mempool.use(cfg["preset"], library=cfg["library"])
    traced = bool(os.environ.get("MEMPOOL_TORCH_TRACE"))

    if w["deterministic"]:
        torch.use_deterministic_algorithms(True)
        # Filling every new tensor with NaN costs kernels; a kernel that read
        # memory it never wrote would show as a loss that differs by allocator.
        try:
            import torch.utils.deterministic as det
            det.fill_uninitialized_memory = False
        except ImportError:  # PyTorch before 2.1 fills nothing
            pass
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(w["seed"])
    model = make_model(torch, w).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1)
    lengths = random.Random(w["seed"])
    data = torch.Generator().manual_seed(w["seed"] + 1)

    def pool_stats():
        return mempool.stats() if mempool else None

    times, losses, seq = [], [], []
    timing_at_warmup = None
    for step in range(w["steps"]):
        t = lengths.randint(w["min_len"], w["max_len"])
        seq.append(t)
        batch = torch.randint(0, w["vocab"], (w["batch"], t + 1), generator=data)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        x = batch.cuda()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, w["vocab"]), x[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        del logits, x
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        losses.append(float(loss.item()).hex())
        del loss
        if mempool:
            if step + 1 == w["warmup"]:
                timing_at_warmup = pool_stats()["plugin"]
            if traced:
                mempool.trace_synchronized()

    out = {"seq_lens": seq, "step_s": times, "losses": losses}
    if mempool:
        s = pool_stats()
        p = s["plugin"]
        out["peak_live"] = p["peak_live_bytes"]
        out["peak_reserved"] = s["peak_reserved_bytes"]
        out["peak_reserved_source"] = "mp_stats.peak_reserved_bytes"
        out["allocations"] = p["allocations"]
        out["pool_stats"] = s
        if p["timed"] and timing_at_warmup:
            n = p["allocations"] - timing_at_warmup["allocations"]
            nf = p["frees"] - timing_at_warmup["frees"]
            out["alloc_ns_steady"] = (p["alloc_ns"] - timing_at_warmup["alloc_ns"]) / max(n, 1) - p["timer_overhead_ns"]
            out["free_ns_steady"] = (p["free_ns"] - timing_at_warmup["free_ns"]) / max(nf, 1) - p["timer_overhead_ns"]
            out["alloc_ns_all"] = p["alloc_ns"] / max(p["allocations"], 1) - p["timer_overhead_ns"]
            out["timer_overhead_ns"] = p["timer_overhead_ns"]
        if traced:
            # End the trace with nothing live: what PyTorch still holds goes
            # (the model, the optimizer state, cuBLAS workspaces).
            del model, opt
            import gc
            gc.collect()
            torch.cuda.synchronize()
            clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
            if clear:
                clear()
            torch.cuda.synchronize()
            mempool.trace_synchronized()
            mempool.flush_trace()
            out["live_after_release"] = mempool.stats()["live_allocations"]
    else:
        st = torch.cuda.memory_stats()
        out["peak_live"] = torch.cuda.max_memory_allocated()
        out["peak_reserved"] = torch.cuda.max_memory_reserved()
        out["peak_reserved_source"] = "torch.cuda.max_memory_reserved()"
        out["allocations"] = st.get("allocation.all.allocated") or None  # 0 under cudaMallocAsync: not counted
        out["device_allocs"] = st.get("num_device_alloc")
    with open(args.out, "w") as f:
        json.dump(out, f)


# ---- the parent ---------------------------------------------------------------

def run_one(name, spec, workload, library, tmp, extra_env=None, tag=None):
    tag = tag or name
    path = os.path.join(tmp, tag + ".json")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTORCH_CUDA_ALLOC_CONF", "MEMPOOL_TORCH_TRACE", "MEMPOOL_TORCH_TIMING")}
    env.update(spec.get("env", {}))
    env.update(extra_env or {})
    env["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
    cfg = {"workload": workload, "preset": spec.get("preset"), "library": library}
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(cfg), "--out", path]
    t0 = time.time()
    print(f"[train_bench] {tag}: running ...", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        print(f"[train_bench] {tag}: timed out after 600 s", file=sys.stderr, flush=True)
        return {"error": "timed out after 600 s"}
    took = time.time() - t0
    if proc.returncode != 0:
        print(f"[train_bench] {tag}: FAILED (exit {proc.returncode}, {took:.0f} s)\n{proc.stdout}{proc.stderr[-6000:]}",
              file=sys.stderr, flush=True)
        return {"error": (proc.stderr or proc.stdout)[-2000:]}
    print(f"[train_bench] {tag}: done in {took:.0f} s", file=sys.stderr, flush=True)
    with open(path) as f:
        r = json.load(f)
    steady = r["step_s"][workload["warmup"]:]
    q = statistics.quantiles(steady, n=10) if len(steady) >= 2 else [steady[0]] * 9
    r.update(median_ms=statistics.median(steady) * 1e3, p10_ms=q[0] * 1e3, p90_ms=q[-1] * 1e3,
             reserve_efficiency=r["peak_reserved"] / r["peak_live"] if r["peak_live"] else None,
             final_loss=float.fromhex(r["losses"][-1]), wall_s=took)
    return r


def run_tool(tool, trace, tmp, notes):
    """torch_trace_time on the recorded trace: its JSON, or None (with a note)."""
    jpath = os.path.join(tmp, "replay.json")
    print(f"[train_bench] {tool} {trace}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run([tool, trace, "--passes", "4", "--json", jpath], capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        notes.append("torch_trace_time timed out after 300 s")
        return None
    print(proc.stdout + proc.stderr, file=sys.stderr, flush=True)
    if proc.returncode != 0 or not os.path.isfile(jpath):
        notes.append(f"torch_trace_time failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
        return None
    with open(jpath) as f:
        return json.load(f)


def save_partial(path, device, torch_version, library, workload, runs, notes):
    """The runs so far, so that a run cut short still leaves its results."""
    with open(path, "w") as f:
        json.dump({"partial": True, "device": device, "torch": torch_version, "library": library,
                   "workload": workload, "runs": runs, "notes": notes}, f, indent=1)


def find_tool(explicit):
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    for build in ("build-device", "build"):
        p = os.path.join(ROOT, build, "bench", "torch", "torch_trace_time")
        if os.path.isfile(p):
            return p
    return None


def gib(b):
    return f"{b / GIB:.2f}" if b else "-"


def table(runs, order, requested):
    """requested: the peak of requested bytes live (the plug-in's count; the
    same requests reach every allocator), the common denominator."""
    lines = ["| allocator | step ms, median (p10-p90) | peak live GiB (own counter) | peak reserved GiB "
             "| reserved / own live | reserved / requested | final loss | allocations | ns per allocate (in the run) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in order:
        r = runs.get(name)
        if not r:
            continue
        if "error" in r:
            lines.append(f"| {name} | failed | | | | | | | |")
            continue
        ns = f"{r['alloc_ns_steady']:.0f}" if r.get("alloc_ns_steady") is not None else "-"
        eff = f"{r['reserve_efficiency']:.3f}" if r["reserve_efficiency"] else "-"
        common = f"{r['peak_reserved'] / requested:.3f}" if requested else "-"
        lines.append(f"| {name} | {r['median_ms']:.1f} ({r['p10_ms']:.1f}-{r['p90_ms']:.1f}) | {gib(r['peak_live'])} "
                     f"| {gib(r['peak_reserved'])} | {eff} | {common} | {r['final_loss']:.6f} "
                     f"| {r['allocations'] if r['allocations'] else '-'} | {ns} |")
    return "\n".join(lines)


def replay_table(replay):
    rows = {r["allocator"]: r for r in replay["results"]}
    ref = rows.get("cudaMallocAsync", {}).get("alloc_ns_warm")
    lines = [f"Allocator calls of the recorded trace alone ({replay['allocations']} allocations, "
             f"{replay['frees']} frees, {replay['passes'] - 1} warm passes; timer {replay['timer_ns']:.1f} ns "
             f"taken off; device idle):", "",
             "| allocator | ns/allocate cold | ns/allocate warm | ns/free warm | cudaMallocAsync / this (warm allocate) |",
             "| --- | --- | --- | --- | --- |"]
    for name, r in rows.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | |")
            continue
        speed = f"{ref / r['alloc_ns_warm']:.1f}x" if ref and r["alloc_ns_warm"] > 0 else "-"
        lines.append(f"| {name} | {r['alloc_ns_cold']:.0f} | {r['alloc_ns_warm']:.0f} | {r['free_ns_warm']:.0f} "
                     f"| {speed} |")
    return "\n".join(lines)


def records_summary(path):
    """Peak of requested bytes live, counts, and blocks left live, from a trace's records."""
    size, live, peak, allocs, frees = {}, 0, 0, 0, 0
    with open(path) as f:
        for line in f:
            kind = line[:1]
            if kind == "a":
                _, i, n, _ = line.split()
                size[i] = int(n)
                live += size[i]
                peak = max(peak, live)
                allocs += 1
            elif kind == "f":
                live -= size.pop(line.split()[1])
                frees += 1
    return {"peak_live": peak, "allocations": allocs, "frees": frees, "left_live": len(size)}


def write_trace(recorded, dest, runs, workload, device, device_memory, torch_version, summary):
    """The recorded trace with the metadata bench/traces/FORMAT.md asks for,
    put between the header and the plug-in's own metadata. Every allocator
    served the same requests, so baselines and measured lines carry the
    records' peak of requested bytes as peak_live (as gpu_trace's do); each
    allocator's own live counter follows on a counters line."""
    w, peak = workload, summary["peak_live"]
    meta = [
        f"# workload gpt2-shaped training, {w['layers']} layers, width {w['width']}, {w['heads']} heads, "
        f"vocabulary {w['vocab']}, batch {w['batch']}, sequence {w['min_len']}..{w['max_len']} per step "
        f"(seed {w['seed']}), {w['steps']} steps, AdamW, bf16 autocast, attention {w['attention']}, "
        f"PyTorch {torch_version}, recorded by bench/torch/train_bench.py",
        f"# device {device}",
        f"# device_memory {device_memory}",
        f"# date {datetime.date.today().isoformat()}",
        f"# peak_live {peak}",
    ]
    rows = [(n, "baseline") for n in ("torch-native", "torch-expandable", "cudaMallocAsync")]
    rows += [(n, "measured") for n in ("mempool-default", "mempool-high_performance")]
    for name, kind in rows:
        r = runs.get(name)
        if r and "error" not in r:
            meta.append(f"# {kind} {name} peak_reserved {r['peak_reserved']} peak_live {peak}")
    for name, _ in rows:
        r = runs.get(name)
        if r and "error" not in r:
            meta.append(f"# counters {name} peak_reserved {r['peak_reserved']} own_peak_live {r['peak_live']}")
    with open(recorded) as src:
        first = src.readline()
        if not first.startswith("# mempool-trace 1"):
            raise RuntimeError(f"{recorded}: not a mempool trace")
        with open(dest, "w") as out:
            out.write(first)
            out.write("\n".join(meta) + "\n")
            shutil.copyfileobj(src, out)
    return os.path.getsize(dest)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--library", help="libmempool_torch.so (default: mempool_torch.find_library())")
    ap.add_argument("--allocators", default=",".join(ALLOCATORS), help="comma-separated subset, in order")
    ap.add_argument("--steps", type=int, default=55)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=50304)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--min-len", type=int, default=64)
    ap.add_argument("--max-len", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--attention", choices=["sdpa", "manual"], default="sdpa",
                    help="sdpa: scaled_dot_product_attention; manual: matmul-softmax-matmul")
    ap.add_argument("--no-deterministic", action="store_true", help="leave non-deterministic kernels on")
    ap.add_argument("--trace", help="write the mempool-default run's allocation trace here")
    ap.add_argument("--trace-tool", help="torch_trace_time (default: build-device/ or build/bench/torch/)")
    ap.add_argument("--out", default="train_bench.json", help="the JSON results")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return 0

    try:
        import torch
    except ImportError as e:
        print(f"SKIP: PyTorch is not importable by {sys.executable} ({e})")
        return 77
    if not torch.cuda.is_available():
        print("SKIP: PyTorch sees no CUDA device")
        return 77
    device = torch.cuda.get_device_name(0)
    device_memory = torch.cuda.get_device_properties(0).total_memory
    import mempool_torch
    order = [a for a in args.allocators.split(",") if a]
    unknown = [a for a in order if a not in ALLOCATORS]
    if unknown:
        ap.error(f"unknown allocator(s) {unknown}; known: {', '.join(ALLOCATORS)}")
    library = None
    if any(ALLOCATORS[a].get("preset") for a in order) or args.trace:
        library = mempool_torch.find_library(args.library)
    workload = {k: getattr(args, k) for k in ("steps", "warmup", "layers", "width", "heads", "vocab", "batch",
                                               "min_len", "max_len", "seed", "attention")}
    workload["deterministic"] = not args.no_deterministic
    workload["max_len"] = max(workload["max_len"], workload["min_len"])
    tool = find_tool(args.trace_tool)
    print(f"[train_bench] {device}, torch {torch.__version__}, plug-in {library}, trace tool {tool}",
          file=sys.stderr, flush=True)

    runs, notes = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in order:
            r = run_one(name, ALLOCATORS[name], workload, library, tmp)
            if ("error" in r and workload["attention"] == "sdpa" and workload["deterministic"]
                    and "deterministic" in r["error"] and not runs):
                notes.append("scaled_dot_product_attention has no deterministic backward here: attention "
                             "written out (matmul, softmax, matmul) for every allocator")
                workload["attention"] = "manual"
                r = run_one(name, ALLOCATORS[name], workload, library, tmp)
            runs[name] = r
            save_partial(args.out, device, torch.__version__, library, workload, runs, notes)
        replay = None
        if args.trace or tool:
            trace_tmp = os.path.join(tmp, "mempool-default.trace")
            rec = run_one("mempool-default", {"preset": "default"}, workload, library, tmp,
                          extra_env={"MEMPOOL_TORCH_TRACE": trace_tmp}, tag="mempool-default-traced")
            runs["mempool-default (traced)"] = rec
            if "error" not in rec and os.path.isfile(trace_tmp):
                summary = records_summary(trace_tmp)
                rec["trace"] = summary
                if summary["peak_live"] != rec["peak_live"]:
                    notes.append(f"the trace's peak of requested bytes ({summary['peak_live']}) is not the "
                                 f"plug-in's ({rec['peak_live']})")
                if summary["left_live"]:
                    notes.append(f"{summary['left_live']} block(s) of the trace are never freed")
                if args.trace:
                    size = write_trace(trace_tmp, args.trace, runs, workload, device, device_memory,
                                       torch.__version__, summary)
                    notes.append(f"trace written to {args.trace}: {size} bytes, {summary['allocations']} "
                                 f"allocations, {summary['frees']} frees, peak live {summary['peak_live']}")
                    if size >= 2_000_000:
                        notes.append(f"the trace is {size / 1e6:.1f} MB, not under the 2 MB bench/check_trace.sh "
                                     f"allows: record fewer steps (--steps 30)")
                if tool:
                    replay = run_tool(tool, trace_tmp, tmp, notes)

    ok = {n: r for n, r in runs.items() if "error" not in r}
    losses = {n: r["losses"] for n, r in ok.items()}
    ref_name = next(iter(losses), None)
    mismatched = [n for n, l in losses.items() if l != losses[ref_name]]
    if mismatched:
        notes.append(f"losses differ from {ref_name}'s in: {', '.join(mismatched)}")
    seqs = {tuple(r["seq_lens"]) for r in ok.values()}
    traced, timed = runs.get("mempool-default (traced)"), runs.get("mempool-default")
    if traced and timed and "error" not in traced and "error" not in timed:
        same = (traced["peak_live"], traced["peak_reserved"]) == (timed["peak_live"], timed["peak_reserved"])
        notes.append("the traced mempool-default run peaked " + ("exactly as the timed one" if same else
                     f"at live {traced['peak_live']}, reserved {traced['peak_reserved']} (timed run: "
                     f"{timed['peak_live']}, {timed['peak_reserved']})"))

    requested = next((r["peak_live"] for n, r in ok.items() if n.startswith("mempool")), None)
    mempool_peaks = {r["peak_live"] for n, r in ok.items() if n.startswith("mempool")}
    if len(mempool_peaks) > 1:
        notes.append(f"the mempool runs saw different peaks of requested bytes: {sorted(mempool_peaks)}")
    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "device": device,
        "torch": torch.__version__, "library": library, "workload": workload,
        "losses_identical": not mismatched and len(losses) > 1, "same_sequence_lengths": len(seqs) == 1,
        "requested_peak_live": requested,
        "runs": runs, "replay": replay, "notes": notes,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)

    w = workload
    print(f"## GPT-2-shaped training, {device}, PyTorch {torch.__version__}\n")
    print(f"{w['layers']} layers, width {w['width']}, {w['heads']} heads, vocabulary {w['vocab']}, batch {w['batch']}, "
          f"sequence {w['min_len']}..{w['max_len']} per step (seed {w['seed']}), {w['steps']} steps "
          f"({w['warmup']} warm-up), AdamW, bf16 autocast, attention {w['attention']}, "
          f"{'deterministic' if w['deterministic'] else 'non-deterministic'} kernels.\n")
    print(table(runs, order, result["requested_peak_live"]))
    print(f"\nlosses identical across allocators: {'yes' if result['losses_identical'] else 'NO'}; "
          f"peak reserved of mempool from: "
          + ", ".join(sorted({r['peak_reserved_source'] for n, r in ok.items() if n.startswith('mempool')})))
    if replay:
        print("\n" + replay_table(replay))
    for n in notes:
        print(f"\nnote: {n}")
    print(f"\nJSON: {args.out}")
    failed = [n for n, r in runs.items() if "error" in r]
    return 1 if failed or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())

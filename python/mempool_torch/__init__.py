"""mempool GPU pools as PyTorch's CUDA allocator.

    import mempool_torch
    mempool_torch.use("default")      # before the first CUDA allocation
    ...                               # every CUDA tensor now comes from a mempool pool
    mempool_torch.stats()             # device 0's pool: its mp_stats, and the plug-in's counters
    mempool_torch.trim()              # hands idle memory back to CUDA now

The allocator is libmempool_torch.so (plugins/torch), loaded through
torch.cuda.memory.CUDAPluggableAllocator; this module only finds it, installs
it and reads it through ctypes. Under a pluggable allocator PyTorch's own
memory queries (torch.cuda.memory_stats, max_memory_allocated, ...) raise and
torch.cuda.empty_cache() does nothing: stats() and trim() are their
counterparts. tensor.record_stream() does nothing either: a tensor used on a
second stream must be synchronised before it is dropped. CUDA graph capture
is not supported, and cuDNN's benchmark mode (which asks the allocator for
its largest free block) raises under any pluggable allocator.

Environment read by the library at the first allocation:
  MEMPOOL_TORCH_TRACE=<path>  record the allocation trace (bench/traces/FORMAT.md)
  MEMPOOL_TORCH_TIMING=1      time each pool call (stats()["plugin"]["alloc_ns"])
and by find_library: MEMPOOL_TORCH_LIBRARY=<path to libmempool_torch.so>.
"""

import ctypes
import json
import os

__all__ = ["use", "stats", "pools", "trim", "last_error", "find_library", "library_path",
           "trace_synchronized", "flush_trace", "PRESETS"]

PRESETS = ("default", "high_performance")
_LIB_NAME = "libmempool_torch.so"
_lib = None
_lib_path = None
_installed = None  # (preset, max_bytes, allocator) once use() succeeded


def find_library(library=None):
    """The path of libmempool_torch.so: `library` when given, else
    $MEMPOOL_TORCH_LIBRARY, else next to this package, else the repository's
    build trees (build/, build-device/). A path given explicitly must exist."""
    for explicit, origin in ((library, "library argument"),
                             (os.environ.get("MEMPOOL_TORCH_LIBRARY"), "MEMPOOL_TORCH_LIBRARY")):
        if explicit:
            if not os.path.isfile(explicit):
                raise FileNotFoundError(f"mempool_torch: {origin} {explicit!r} is not a file")
            return os.path.realpath(explicit)
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))  # python/mempool_torch -> the repository
    tried = [os.path.join(here, _LIB_NAME)] + [
        os.path.join(root, build, "plugins", "torch", _LIB_NAME) for build in ("build", "build-device")]
    for path in tried:
        if os.path.isfile(path):
            return os.path.realpath(path)
    raise FileNotFoundError("mempool_torch: libmempool_torch.so not found; tried " + ", ".join(tried)
                            + " (build it with the CUDA toolkit, or set MEMPOOL_TORCH_LIBRARY)")


def _load(path):
    global _lib, _lib_path
    if _lib is not None:
        if path != _lib_path:
            raise RuntimeError(f"mempool_torch: {_lib_path} is loaded already; cannot switch to {path}")
        return _lib
    lib = ctypes.CDLL(path)
    lib.mempool_torch_configure.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.mempool_torch_configure.restype = ctypes.c_int
    lib.mempool_torch_last_error.argtypes = []
    lib.mempool_torch_last_error.restype = ctypes.c_char_p
    lib.mempool_torch_trim.argtypes = [ctypes.c_int]
    lib.mempool_torch_trim.restype = ctypes.c_int
    lib.mempool_torch_pools_json.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.mempool_torch_pools_json.restype = ctypes.c_int
    lib.mempool_torch_trace_synchronized.argtypes = []
    lib.mempool_torch_trace_synchronized.restype = None
    lib.mempool_torch_trace_flush.argtypes = []
    lib.mempool_torch_trace_flush.restype = ctypes.c_int
    _lib, _lib_path = lib, path
    return lib


def _loaded():
    return _lib if _lib is not None else _load(find_library())


def library_path():
    """The path of the library loaded (loading it if need be)."""
    _loaded()
    return _lib_path


def last_error():
    """The plug-in's last failure detail, from any thread ('' if none)."""
    return _loaded().mempool_torch_last_error().decode(errors="replace")


def use(preset="default", max_bytes=0, library=None):
    """Makes mempool pools PyTorch's CUDA allocator: one pool per device from
    `preset` ("default" or "high_performance"), each capped at `max_bytes`
    reserved (0: no cap). Call it before the first CUDA allocation: PyTorch
    cannot change its allocator afterwards. Returns the library's path.
    A failed allocation then raises RuntimeError carrying mempool's detail."""
    global _installed
    import torch

    if preset not in PRESETS:
        raise ValueError(f"mempool_torch.use: unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    if not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"mempool_torch.use: max_bytes must be an int >= 0, not {max_bytes!r}")
    if _installed is not None:
        if _installed[:2] == (preset, max_bytes) and (library is None or os.path.realpath(library) == _lib_path):
            return _lib_path
        raise RuntimeError(f"mempool_torch.use: installed already with preset {_installed[0]!r}, "
                           f"max_bytes {_installed[1]}; PyTorch's allocator can be chosen once per process")
    if not torch.cuda.is_available():
        raise RuntimeError("mempool_torch.use: PyTorch sees no CUDA device")
    if torch.cuda.is_initialized():
        raise RuntimeError("mempool_torch.use: CUDA is initialised already in this process, so PyTorch "
                           "cannot change its allocator; call use() before the first CUDA tensor or call")
    path = find_library(library)
    lib = _load(path)
    if lib.mempool_torch_configure(preset.encode(), max_bytes) != 0:
        raise ValueError(last_error())
    allocator = torch.cuda.memory.CUDAPluggableAllocator(path, "mempool_torch_malloc_throw", "mempool_torch_free")
    torch.cuda.memory.change_current_allocator(allocator)
    _installed = (preset, max_bytes, allocator)
    return path


def pools():
    """Every pool: a list of dicts, one per device with a pool (device, preset,
    max_bytes, stream, traced, "counters": the plug-in's, "stats": the pool's)."""
    lib = _loaded()
    cap = 4096
    while True:
        buf = ctypes.create_string_buffer(cap)
        n = lib.mempool_torch_pools_json(buf, cap)
        if n < 0:
            raise RuntimeError(last_error())
        if n < cap:
            return json.loads(buf.value.decode())
        cap = n + 1


def stats(device=0):
    """The pool of `device`: its mp_stats fields (mp_pool_stats_json: bytes in
    use, peak, counts, reserved_bytes, chunk_count, pending_frees, ...) and,
    under "plugin", the plug-in's counters (requested bytes live and at peak,
    allocations and frees, other-stream calls, timing). LookupError when the
    device has no pool yet."""
    for entry in pools():
        if entry["device"] == device:
            out = dict(entry["stats"])
            out["plugin"] = dict(entry["counters"], preset=entry["preset"], max_bytes=entry["max_bytes"])
            return out
    raise LookupError(f"mempool_torch.stats: device {device} has no pool (nothing allocated there yet)")


def trim(device=0):
    """Hands the idle memory of the device's pool back to CUDA now (what
    torch.cuda.empty_cache() cannot do for a pluggable allocator)."""
    if _loaded().mempool_torch_trim(device) != 0:
        raise RuntimeError(last_error())


def trace_synchronized():
    """Tells the trace (MEMPOOL_TORCH_TRACE) that the host synchronised the
    device (call it after torch.cuda.synchronize()); no-op without a trace."""
    _loaded().mempool_torch_trace_synchronized()


def flush_trace():
    """Flushes the trace file (it is flushed at exit too)."""
    if _loaded().mempool_torch_trace_flush() != 0:
        raise RuntimeError(last_error())

"""The machine a benchmark ran on, and the instruction set its kernels used.

Some figures depend on the CPU's SIMD instructions: OpenBLAS, numpy's ufuncs, Numba's code
and PyTorch each pick AVX-512 kernels where the CPU has them, AVX2 ones where it has not
(machines of the same kind come either way). The matmul ceiling moves most, and with it every
batched figure. A machine with AVX-512 can time the AVX2 path by telling each library to use
its AVX2 kernels (:data:`AVX2_ENV`, set before the libraries load: ``scalarprop bench
--avx2`` runs the suite in a child process with it).
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

#: each library's switch to its AVX2 kernels (names as each library documents them)
AVX2_ENV = {
    "OPENBLAS_CORETYPE": "Haswell",          # OpenBLAS's AVX2 kernel family
    "NUMBA_CPU_NAME": "haswell",             # LLVM's target for Numba's code
    "ATEN_CPU_CAPABILITY": "avx2",           # PyTorch's own kernels
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",       # PyTorch's BLAS (MKL)
}
#: the CPU flags that tell the SIMD story (from /proc/cpuinfo)
SIMD_FLAGS = ("sse4_2", "avx", "fma", "avx2", "avx512f", "avx512dq", "avx512bw", "avx512vl",
              "avx512_vnni")


def numpy_avx512_features() -> list[str]:
    """numpy's dispatch targets that use AVX-512 on this machine (to disable for AVX2)."""
    found = np.show_config(mode="dicts")["SIMD Extensions"]["found"]
    return [f for f in found if "AVX512" in f or f == "X86_V4"]


def avx2_env() -> dict[str, str]:
    """The environment that puts BLAS, numpy, Numba and PyTorch on their AVX2 kernels."""
    env = dict(AVX2_ENV)
    avx512 = numpy_avx512_features()
    if avx512:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(avx512)
    return env


def cpu_info() -> tuple[str, list[str]]:
    """The CPU's model name and its SIMD flags (Linux; elsewhere what platform says)."""
    cpu, flags = None, []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu is None:
                    cpu = value.strip()
                elif key.strip() == "flags":
                    have = set(value.split())
                    flags = [flag for flag in SIMD_FLAGS if flag in have]
                    break
    except OSError:
        pass
    return cpu or platform.processor() or platform.machine(), flags


def cpu_summary() -> str:
    """The CPU's model name and whether it has AVX-512 (OpenBLAS picks other kernels)."""
    name, flags = cpu_info()
    return f"{name}, {'AVX-512' if 'avx512f' in flags else 'no AVX-512'}"


def blas_architecture() -> str | None:
    """OpenBLAS's kernel family as threadpoolctl reports it (``SkylakeX``, ``Haswell``)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas":
            return lib.get("architecture")
    return None


def machine() -> dict[str, Any]:
    """Where the suite ran: CPU model, SIMD flags, the instruction set each library used
    (``simd_path``: ``AVX-512``, ``AVX2``, or ``AVX2 (forced)``), and the versions."""
    import numba
    from llvmlite import binding as llvm

    cpu, flags = cpu_info()
    forced = {k: os.environ[k] for k in (*AVX2_ENV, "NPY_DISABLE_CPU_FEATURES")
              if k in os.environ}
    has = "AVX-512" if "avx512f" in flags else ("AVX2" if "avx2" in flags else "pre-AVX2")
    on_avx2 = all(os.environ.get(k) == v for k, v in AVX2_ENV.items())
    path = "AVX2 (forced)" if on_avx2 and has == "AVX-512" else has
    info: dict[str, Any] = {
        "cpu": cpu, "simd_flags": flags, "instruction_set": has, "simd_path": path,
        "forced_env": forced, "blas_architecture": blas_architecture(),
        "numba_cpu": numba.config.CPU_NAME or llvm.get_host_cpu_name(),
        "logical_cpus": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__,
        "numba": numba.__version__, "numba_threads": numba.get_num_threads(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: p.get(k) for k in ("internal_api", "version", "architecture",
                                                "num_threads")}
                        for p in threadpool_info()]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    try:
        import torch
    except Exception:
        return info
    info["torch"] = torch.__version__
    info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def describe(info: dict[str, Any]) -> str:
    """One line for a table's header: the CPU, its SIMD flags, and each library's kernels."""
    parts = [f"{info['cpu']} ({', '.join(info.get('simd_flags', [])) or 'no SIMD flags read'})",
             f"path {info.get('simd_path', '?')}: OpenBLAS {info.get('blas_architecture')} "
             f"kernels, Numba target {info.get('numba_cpu')}"]
    if "torch_cpu_capability" in info:
        parts[-1] += f", PyTorch {info['torch_cpu_capability']}"
    return "; ".join(parts)

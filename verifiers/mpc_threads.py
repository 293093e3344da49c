"""Run small batched matmuls on one BLAS thread (a process-local, restored setting).

On a 2-core machine shared by several processes, OpenBLAS worker threads spin for each of the
many small (T x D) @ (D x k) products of a batched ``X @ W`` and make them ~15x slower than one
thread (measured: 92 ms vs 6 ms for (16, 13, 322) @ (322, 150)).  The layer loop of
:mod:`attncheck.verifiers.mpc_simulate` wraps its forward pass in :func:`one_blas_thread`;
when the OpenBLAS entry points cannot be found this is a no-op.
"""
from __future__ import annotations

import contextlib
import ctypes


def _openblas():
    try:
        with open("/proc/self/maps") as fh:
            paths = {tok for line in fh for tok in line.split() if "openblas" in tok.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("64_", ""):
            for prefix in ("scipy_openblas", "openblas"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None


@contextlib.contextmanager
def one_blas_thread():
    import numpy  # noqa: F401 - make sure the BLAS library is loaded before looking for it
    api = _openblas()
    if api is None:
        yield
        return
    get, put = api
    before = int(get())
    put(1)
    try:
        yield
    finally:
        put(before)

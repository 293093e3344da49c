"""Attention primitives with a promise: lookUp and lastOccurrence heads (SHT24a App. D).

Each builder returns a :class:`~attncheck.constructions.spec.Head` whose weights read and write
named slots of a layout, together with the :class:`~attncheck.constructions.spec.Promise` it
implements and the score margin xi that the temperature is derived from.  Builders never run a
forward pass; the emulator runs them and the certificate checks the promise.

``lemma.sht24a.D1`` lookUp [P]: query = code of a pointer p, key = code of the position j;
  ``q.k = 1`` iff j = p and ``<= 1 - gap`` otherwise, so xi = gap of the position codebook
  (sinusoidal: ``1 - cos(2 pi/(N+1))``).
``lemma.sht24a.D2`` lastOccurrence, recency channel (docs/theorems.md section 4.2, variant (b)) [R]:
  ``Q = (code(a), lam, 1)``, ``K_j = (code(b_j), j, 0)``, ``K_0 = (0, 0, s0)`` with
  ``lam = gap / (3N)`` and ``s0`` midway between the best mismatch ``1 - gap + lam N`` and the
  worst match ``1 + lam``.  Matches beat mismatches by >= gap/3, later matches beat earlier
  ones by lam, the start token sits strictly between: xi = lam.
``lemma.sht24a.D2`` paper-literal [P, refuted]: one angle channel
  ``theta_i = 2 pi (N mu_2 + i) / (N |Sigma|)``, ``phi_j = 2 pi (N mu_1 + j) / (N |Sigma|)``, start
  score ``cos(2 pi (N - 1/2) / (N |Sigma|))``; wraps around between adjacent symbol blocks
  (docs/theorems.md section 11 item 2).
``lemma.sht24a.A2`` temperature [R rule]: ``c = (ln(4 N V_max) + (p_out + 1) ln 2) / xi`` makes the
  softmax leakage below ``2^-(p_out+1)``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from attncheck.constructions.spec import Head, Layout, Promise


def select(layout: Layout, names: Sequence[str]) -> np.ndarray:
    """(D, w) matrix reading the concatenation of slots ``names`` from a residual row."""
    w = sum(layout[n].width for n in names)
    M = np.zeros((layout.width, w))
    col = 0
    for n in names:
        s = layout[n]
        M[s.start:s.stop, col:col + s.width] = np.eye(s.width)
        col += s.width
    return M


def place(layout: Layout, names: Sequence[str]) -> np.ndarray:
    """(w, D) matrix writing a concatenated vector into slots ``names`` (transpose of select)."""
    return select(layout, names).T.copy()


def temperature(margin: float, N: int, v_max: float, accuracy: float) -> float:
    """Lemma A.2 rule [R]: softmax at this temperature puts mass < ``accuracy``/2 off the argmax
    when scores have gap ``margin`` and values are bounded by ``v_max``."""
    p_out = max(1, math.ceil(math.log2(1.0 / accuracy)))
    return (math.log(4.0 * max(N, 2) * max(v_max, 1.0)) + (p_out + 1) * math.log(2.0)) / margin


def lookup_head(layout: Layout, *, query: str, key: str, values: Sequence[str],
                writes: Sequence[str], margin: float, temp: float) -> Head:
    """lookUp (Lemma D.1): attend to the position whose code equals the query's pointer code."""
    return Head(W_Q=select(layout, [query]), W_K=select(layout, [key]),
                W_V=select(layout, values), W_O=place(layout, writes), temperature=temp,
                promise=Promise("lookup", query, key, tuple(values), tuple(writes), margin))


def recency_constants(gap: float, N: int) -> tuple[float, float, float]:
    """(lam, s0, xi) of the recency-channel lastOccurrence head."""
    lam = gap / (3.0 * N)
    s0 = 0.5 * ((1.0 - gap + lam * N) + (1.0 + lam))
    return lam, s0, lam


def last_occurrence_head(layout: Layout, *, query: str, key: str, recency: str, one: str,
                         start_flag: str, values: Sequence[str], writes: Sequence[str],
                         gap: float, N: int, temp: float) -> Head:
    """lastOccurrence with a separate recency channel (variant (b), [R], verified)."""
    lam, s0, xi = recency_constants(gap, N)
    w = layout[query].width
    D = layout.width
    WQ = np.zeros((D, w + 2))
    WK = np.zeros((D, w + 2))
    WQ[:, :w] = select(layout, [query])
    WK[:, :w] = select(layout, [key])
    WQ[layout[one].start, w] = lam
    WQ[layout[one].start, w + 1] = 1.0
    WK[layout[recency].start, w] = 1.0
    WK[layout[start_flag].start, w + 1] = s0
    return Head(W_Q=WQ, W_K=WK, W_V=select(layout, values), W_O=place(layout, writes),
                temperature=temp,
                promise=Promise("last_occurrence", query, key, tuple(values), tuple(writes), xi))


def _rotation(angle: float) -> np.ndarray:
    """2x2 matrix R with (cos a, sin a) @ R = (cos(a + angle), sin(a + angle))."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [-s, c]])


def last_occurrence_paper(layout: Layout, *, query: str, key: str, one: str, start_flag: str,
                          values: Sequence[str], writes: Sequence[str], N: int, V: int,
                          temp: float) -> Head:
    """lastOccurrence exactly as Lemma D.2 is printed (index-specific rotations, N' = N|Sigma|).

    The token slots hold ``(cos, sin)(2 pi mu / |Sigma|)``; rotating the query at position i by
    ``2 pi i / N'`` gives angle ``theta_i`` and the key at j by ``2 pi j / N'`` gives ``phi_j``."""
    Np = N * V
    T, D = N + 1, layout.width
    q, k = layout[query], layout[key]
    WQ = np.zeros((T, D, 3))
    WK = np.zeros((T, D, 3))
    for t in range(T):
        WQ[t, q.start:q.stop, :2] = _rotation(2 * math.pi * t / Np)
        WK[t, k.start:k.stop, :2] = _rotation(2 * math.pi * t / Np)
        WQ[t, layout[one].start, 2] = 1.0
        WK[t, layout[start_flag].start, 2] = math.cos(2 * math.pi * (N - 0.5) / Np)
    margin = 1.0 - math.cos(2 * math.pi / Np)     # the margin the paper claims
    return Head(W_Q=WQ, W_K=WK, W_V=select(layout, values), W_O=place(layout, writes),
                temperature=temp,
                promise=Promise("last_occurrence", query, key, tuple(values), tuple(writes), margin))

"""Translation structure of lookUp scores, proved from the numbers (the O(T) lookUp check).

Shape glossary: T = N + 1 positions, A pointer values, k = 2 the query/key width.

Sinusoidal position codes make a lookUp's score depend on the offset between key and pointer
only: if every key is a rotation ``K_j ~ R^j K_0`` and every query for pointer p is
``Q(p) ~ R^p Q_0`` with R a rotation by an angle theta, then
``<R^p Q_0, R^j K_0> = <Q_0, R^(j-p) K_0> =: g(j - p)``.  This module proves that structure
on the stored bounds themselves:

* eps_K = max_j (|centre(K_j) - R^j K_0|_2 + |radius(K_j)|_2), likewise eps_Q over every
  (position, pointer) query the certificate must cover, with R^j computed as the rotation by
  j * theta directly (no powers, so no error growth);
* every true score then lies within ``delta = eps_Q |K_0| + |Q_0| eps_K + eps_Q eps_K`` (plus a
  float64 bound) of g(j - p), by Cauchy-Schwarz, whatever theta was chosen.

The angle is a guess, not a hypothesis: candidates are the angle between the first two keys
and the nearest multiples of 2 pi / M for M = T - 1 and T; the one with the smallest
eps is used, and a bad guess only makes delta too large for the proof, never unsound.
"""
from __future__ import annotations

import math

import numpy as np

from attncheck.verifiers.abstract import EPS64, Proj


def _rot(phi: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(n, 2): v (2,) rotated by each angle phi (n,)."""
    c, s = np.cos(phi), np.sin(phi)
    return np.stack([c * v[0] - s * v[1], s * v[0] + c * v[1]], axis=1)


def _candidates(K0: np.ndarray, K1: np.ndarray, T: int) -> list[float]:
    est = math.atan2(K0[0] * K1[1] - K0[1] * K1[0], K0[0] * K1[0] + K0[1] * K1[1])
    out = [est]
    for M in (T - 1, T):
        if M >= 2:
            m = round(est * M / (2 * math.pi))
            out.append(2 * math.pi * m / M)
    return out


def _deviation(idx: np.ndarray, centre: np.ndarray, radius: np.ndarray, ref: np.ndarray,
               theta: float) -> float:
    """max over rows of |centre - R^idx ref|_2 + |radius|_2 (float64 error included)."""
    ideal = _rot(idx * theta, ref)
    dev = np.linalg.norm(centre - ideal, axis=1) + np.linalg.norm(radius, axis=1)
    scale = np.linalg.norm(centre, axis=1) + np.linalg.norm(ref)
    return float(np.max(dev + 64 * EPS64 * (1.0 + scale)))


def offset_scores(Q: Proj, K: Proj, T: int, ptr_of_position: np.ndarray | None):
    """If queries and keys are proved rotations (module docstring), return ``(offsets, g,
    delta)``: every offset d = key - pointer in -(T-1)..T-1, the ideal score g(d) (unscaled by
    the temperature), and the bound delta on |true score - g(d)|.  None when the structure is
    not there (k != 2, a zero reference, or a deviation too large to be useful).

    ``Q``: the query bounds, either per position with one pointer each (``ptr_of_position``
    (T,) names it) or compact with one row per pointer value (``Q.rows[1]`` names them).
    ``K``: the key bounds per position (a table slot)."""
    (qlo, qhi), (klo, khi) = Q.bounds(), K.bounds()
    if qlo.shape[-1] != 2 or klo.shape[-1] != 2 or K.compact or K.rows.shape[1] != 1:
        return None
    km = 0.5 * (klo[:, 0, :] + khi[:, 0, :])                          # (T, 2)
    kr = 0.5 * (khi[:, 0, :] - klo[:, 0, :])
    if Q.compact:
        ptr = Q.rows[1].astype(float)                                  # (A,)
        qm = 0.5 * (qlo[1] + qhi[1])
        qr = 0.5 * (qhi[1] - qlo[1])
    else:
        if ptr_of_position is None or Q.rows.shape[1] != 1:
            return None
        ptr = ptr_of_position[1:].astype(float)
        qm = 0.5 * (qlo[1:, 0, :] + qhi[1:, 0, :])
        qr = 0.5 * (qhi[1:, 0, :] - qlo[1:, 0, :])
    if np.any(ptr < 0) or not np.linalg.norm(km[0]) > 0:
        return None
    j = np.arange(T, dtype=float)
    best = None
    for theta in _candidates(km[0], km[1], T):
        K0 = km[0]
        eps_k = _deviation(j, km, kr, K0, theta)
        r = int(np.argmin(ptr))
        Q0 = _rot(np.array([-ptr[r] * theta]), qm[r])[0]
        eps_q = _deviation(ptr, qm, qr, Q0, theta)
        delta = eps_q * np.linalg.norm(K0) + np.linalg.norm(Q0) * eps_k + eps_q * eps_k
        if best is None or delta < best[0]:
            best = (delta, theta, Q0, K0)
    delta, theta, Q0, K0 = best
    offsets = np.arange(-(T - 1), T)
    g = _rot(offsets * theta, K0) @ Q0
    delta += 64 * EPS64 * (1.0 + float(np.linalg.norm(Q0) * np.linalg.norm(K0)))
    if not np.isfinite(delta) or delta >= 0.5 * float(np.max(g) - np.min(g) + 1.0):
        return None
    return offsets, g, float(delta)


def min_code_distance(book: np.ndarray) -> float | None:
    """A proved lower bound on ``min_{a != b} |c_a - c_b|_2`` for a codebook whose rows are
    rotations ``c_j ~ R^j c_0`` (2-D codes), in O(nb): with eps the largest deviation from the
    ideal rotation and theta its angle, ``|c_a - c_b| >= 2 |c_0| |sin((a-b) theta / 2)| - 2 eps``,
    minimised over the offsets 1..nb-1.  None when the codes are not such rotations."""
    nb = len(book)
    if book.ndim != 2 or book.shape[1] != 2 or nb < 2 or not np.linalg.norm(book[0]) > 0:
        return None
    j = np.arange(nb, dtype=float)
    best = None
    for theta in _candidates(book[0], book[1], nb + 1):
        eps = _deviation(j, book, np.zeros_like(book), book[0], theta)
        d = np.arange(1, nb, dtype=float)
        chord = 2.0 * np.linalg.norm(book[0]) * np.abs(np.sin(d * theta / 2.0))
        lower = float(chord.min()) - 2.0 * eps - 64 * EPS64
        best = lower if best is None else max(best, lower)
    return best if best is not None and best > 0 else None

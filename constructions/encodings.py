"""Codebooks for positions and tokens: sinusoidal (angle), random sign, one-hot.

A codebook is an (n, w) array whose rows are the codes of n discrete values.  Conventions:

* position codebooks have n = N + 1 rows for positions 0..N (0 = the start token);
* token codebooks have n = |Sigma| + 1 rows: row 0 is the *none* code (bottom / no token),
  rows 1..|Sigma| the symbols 0..|Sigma|-1.

What every head needs from a codebook is its *gap*: ``1 - max_{a != b} <c_a, c_b>`` for unit
codes (the score margin of a lookup by inner product), and for decoding the minimum distance.

* sinusoidal (SHT24a Lemmas D.1/D.2): ``(cos, sin)(2 pi t / M)``; width 2, gap
  ``1 - cos(2 pi / M)`` ~ 2 pi^2 / M^2, so precision must grow like log M.  Positions use
  ``M = N + 1`` (corrected; ``M = N`` aliases the start token with position N -- docs/theorems.md
  section 11 item 3), tokens ``M = |Sigma| + 1`` with code 0 reserved for none.
* random (Bietti et al. style): i.i.d. signs ``{+-1/sqrt(D)}^D`` from a seeded generator; width D
  = O(log n), gap bounded away from 0 w.h.p. once D >~ 8 ln n.  A draw whose codes collide or
  whose gap is below :data:`MIN_RANDOM_GAP` is refused (D too small).
* onehot: the identity; width n, gap 1 (the compiled-program baseline).
"""
from __future__ import annotations

import math

import numpy as np

from attncheck.constructions.verdict import BadInput

#: Smallest acceptable gap for random sign codes (below it the temperature explodes).
MIN_RANDOM_GAP = 0.125


def angles(n: int, modulus: int) -> np.ndarray:
    """(n, 2): ``(cos, sin)(2 pi t / modulus)`` for t = 0..n-1."""
    t = np.arange(n) * (2.0 * math.pi / modulus)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def random_signs(n: int, D: int, seed: int, what: str) -> np.ndarray:
    """(n, D) seeded random sign codes with unit norm; refuses draws with a gap < MIN_RANDOM_GAP."""
    if D < 1:
        raise BadInput(f"--D must be >= 1, got {D}")
    rng = np.random.default_rng(seed)
    codes = rng.choice([-1.0, 1.0], size=(n, D)) / math.sqrt(D)
    g = gap(codes)
    if g < MIN_RANDOM_GAP:
        raise BadInput(f"--D {D} is too small for random codes of {n} {what}: the seeded draw has"
                       f" gap {g:.3f} < {MIN_RANDOM_GAP} (try --D {default_random_width(n)})")
    return codes


def default_random_width(n: int) -> int:
    """A width at which n random sign codes have a comfortable gap: ~8 ln n, at least 8."""
    return max(8, int(math.ceil(8 * math.log(max(n, 2)))))


def onehot(n: int) -> np.ndarray:
    return np.eye(n)


GAP_CHUNK = 1 << 22      # Gram-matrix entries per chunk


def angle_modulus(codes: np.ndarray) -> int | None:
    """M when ``codes`` are exactly :func:`angles` (n, M) with n <= M (bit for bit), else None."""
    n = len(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        return None
    for M in (n, n - 1, n + 1):
        if M >= max(n, 2) and np.array_equal(codes, angles(n, M)):
            return M
    return None


def gap(codes: np.ndarray) -> float:
    """``1 - max_{a != b} <c_a, c_b>`` (codes assumed unit norm); 1.0 for a single code.

    Angle codes (:func:`angles`, n <= M distinct angles) have the closed form
    ``1 - cos(2 pi / M)`` (neighbours on the circle are one step apart); any other codebook is
    scanned in chunks of its Gram matrix (memory O(chunk), not O(n^2))."""
    n = len(codes)
    if n < 2:
        return 1.0
    M = angle_modulus(codes)
    if M is not None:
        return 1.0 - math.cos(2.0 * math.pi / M)
    best = -np.inf
    step = max(1, GAP_CHUNK // n)
    for a in range(0, n, step):
        g = codes[a:a + step] @ codes.T
        g[np.arange(len(g)), np.arange(a, a + len(g))] = -np.inf
        best = max(best, float(g.max()))
    return float(1.0 - best)


def min_distance(codes: np.ndarray) -> float:
    """Smallest L2 distance between two rows."""
    d2 = np.sum((codes[:, None, :] - codes[None, :, :]) ** 2, axis=2)
    np.fill_diagonal(d2, np.inf)
    return float(np.sqrt(d2.min()))


def position_codes(encoding: str, N: int, *, modulus: int | None = None, D: int | None = None,
                   seed: int = 0) -> np.ndarray:
    """Position codebook (N + 1, w) for positions 0..N."""
    if encoding == "sinusoidal":
        return angles(N + 1, N + 1 if modulus is None else modulus)
    if encoding == "random":
        return random_signs(N + 1, D if D is not None else default_random_width(N + 1), seed, "positions")
    if encoding == "onehot":
        return onehot(N + 1)
    raise BadInput(f"unknown encoding {encoding!r} (sinusoidal, random, onehot)")


def token_codes(encoding: str, V: int, *, D: int | None = None, seed: int = 0) -> np.ndarray:
    """Token codebook (V + 1, w): row 0 = none, rows 1..V = symbols 0..V-1."""
    if encoding == "sinusoidal":
        return angles(V + 1, V + 1)
    if encoding == "random":
        return random_signs(V + 1, D if D is not None else default_random_width(V + 1),
                            seed + 7919, "tokens")
    if encoding == "onehot":
        return onehot(V + 1)
    raise BadInput(f"unknown encoding {encoding!r} (sinusoidal, random, onehot)")

"""Running the Match heads (``sht23.match2_ub``, ``sht23.match3_variants``).

Shape glossary: B batch, N positions, T rows of the residual (start token first), D residual
width, M modulus; tokens are residues ``x in {0..M-1}``.

Match2 is a :class:`~attncheck.constructions.spec.Construction` whose mask kind says which rows
see which (``full+start`` / ``full+start-self``): :func:`forward_match2` is the one emulator's
:func:`~attncheck.verifiers.emulator.forward`, nothing else.

Match3 is third-order attention: token i scores *pairs* (j1, j2), so the residual gets N^2 extra
pair rows holding ``e(x_j1) (x) e(x_j2)`` (T = 1 + N + N^2) and token rows attend over the start
row and the admissible pairs (:func:`match3_mask`).  The head runs through
:func:`~attncheck.verifiers.emulator.attend`, so every stored quantity is rounded exactly as in
the emulator (:mod:`attncheck.constructions.precision`); the output is the nearest bit code.
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions import encodings as enc
from attncheck.constructions.match import BIT_CODES, Match3Construction
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.spec import Construction
from attncheck.verifiers.emulator import attend, forward, nearest_rows


def forward_match2(c: Construction, tokens, fmt: Format = EXACT, attention: str = "softmax"):
    """tokens (B, N) -> (outputs (B, N) in {0, 1}, weights (B, T, T)), by ``emulator.forward``."""
    tr = forward(c, tokens, fmt, attention, keep=True)
    return tr.outputs, tr.attention[0][:, 0]


def match3_mask(N: int, allow_self: bool, allow_repeat: bool) -> np.ndarray:
    """(1, T, T) with rows [start, tokens 1..N, pairs (j1, j2)]: token i sees the start row and
    the admissible pairs; every other row sees the start row only."""
    T = 1 + N + N * N
    mask = np.zeros((T, T), dtype=bool)
    mask[:, 0] = True
    j1, j2 = np.divmod(np.arange(N * N), N)
    for i in range(N):
        ok = np.ones(N * N, dtype=bool)
        if not allow_self:
            ok &= (j1 != i) & (j2 != i)
        if not allow_repeat:
            ok &= j1 != j2
        mask[1 + i, 1 + N:] = ok
    return mask[None]


def embed_match3(c: Match3Construction, tokens: np.ndarray, fmt: Format) -> np.ndarray:
    """tokens (B, N) -> residual (B, 1 + N + N^2, D); pair rows hold ``e(x_j1) (x) e(x_j2)``."""
    B, N = tokens.shape
    L = c.layout
    e = enc.angles(c.M, c.M)[tokens]                                 # (B, N, 2)
    X = np.zeros((B, 1 + N + N * N, L.width))
    X[:, 0, L["start"].start] = 1.0
    X[:, 1:, L["one"].start] = 1.0
    X[:, 1:N + 1, L["ang"].sl] = e
    X[:, N + 1:, L["pair"].sl] = np.einsum("bja,bkc->bjkac", e, e).reshape(B, N * N, 4)
    return fmt.quantize(X, "embedding")


def forward_match3(c: Match3Construction, tokens, fmt: Format = EXACT, attention: str = "softmax"):
    """tokens (B, N) -> (outputs (B, N) in {0, 1}, weights (B, T, T))."""
    tokens = np.atleast_2d(np.asarray(tokens, dtype=np.int64))
    X = embed_match3(c, tokens, fmt)
    y, w = attend(c.head, X, fmt, attention, match3_mask(c.N, c.allow_self, c.allow_repeat))
    X = fmt.quantize(X + y, "residual")
    return nearest_rows(X[:, 1:c.N + 1, c.layout["out"].sl], BIT_CODES), w

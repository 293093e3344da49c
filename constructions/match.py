"""Pair and triple matching in one head (``sht23.match2_ub`` [S/R], ``sht23.match3_variants`` [P-abs/S/R]).

Shape glossary: B batch, N positions, T rows of the residual (start token first), D residual
width, M modulus; tokens are residues ``x in {0..M-1}``.

Tasks (``task.match2``, ``task.match3``; both index conventions are flags):
``Match2(X)_i = 1{exists j: x_i + x_j = 0 mod M}`` (``allow_self``: j may equal i);
``Match3(X)_i = 1{exists j1, j2: x_i + x_j1 + x_j2 = 0 mod M}`` (``allow_self``: j1, j2 may
equal i; ``allow_repeat``: j1 may equal j2).

Match2, one head of width 3 [R recipe]: with ``e(x) = (cos, sin)(2 pi x / M)``,
``Q(x) = (cos, sin, cos(pi/M))``, ``K(x) = (cos, -sin, 0)``, start key ``(0, 0, 1)``:
``q_i . k_j = cos(2 pi (x_i + x_j)/M)`` is 1 exactly on matches and ``<= cos(2 pi/M)`` otherwise;
the start score ``cos(pi/M)`` sits strictly between.  Values are 1 on real tokens, 0 on the
start token, so the head outputs ~1 iff a match exists.  Margin
``min(1 - cos(pi/M), cos(pi/M) - cos(2 pi/M)) = Theta(1/M^2)``.

Match3, third-order attention [R recipe]: position i attends over *pairs* (j1, j2) with the
trilinear score ``Re(e^{2 pi i x_i/M} e^{2 pi i x_j1/M} e^{2 pi i x_j2/M}) = cos(2 pi (x_i+x_j1+x_j2)/M)``,
written as ``q_i . (e(x_j1) (x) e(x_j2))`` with ``q_i = (c, -s, -s, -c)`` (the 2x2 matrix of
multiplication by e(x_i), real part) -- the same start threshold as Match2.  Pair rows are extra
residual rows whose features are the tensor products; their number makes the cost O(N^3).

Variant ``no-threshold`` drops the start-token coordinate (a 2-dim Match2 head, a 4-dim Match3
head): with no default to fall back on, inputs without a match still attend to near-misses
(value 1), so the head says "match" -- ``verify`` refutes it.

This module holds the data: Match2 is a :class:`~attncheck.constructions.spec.Construction` of
mask kind ``full+start`` (``full+start-self`` without self pairs) that the one emulator runs
(``verifiers.emulator.forward``); Match3 is a :class:`Match3Construction` (a head over token and
pair rows) whose third-order runtime is :mod:`attncheck.verifiers.match_run`, on the emulator's
arithmetic.  The checks are :mod:`attncheck.verifiers.match_check`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions import encodings as enc
from attncheck.constructions.induction import declared_format
from attncheck.constructions.primitives import place, select, temperature
from attncheck.constructions.spec import (Construction, Decoder, Head, Label, Layer, Layout,
                                          LayoutBuilder)
from attncheck.constructions.precision import Format
from attncheck.constructions.verdict import BadInput

THM_MATCH2 = "sht23.match2_ub"
THM_MATCH3 = "sht23.match3_variants"
STATUS2 = "[S] one head, m = 3, trigonometric embeddings; [R] recipe and start threshold"
STATUS3 = "[P-abs/S] third-order attention solves Match3; [R] trilinear recipe"
VARIANTS = ("corrected", "no-threshold")
BIT_CODES = np.array([[0.0], [1.0]])
MAX_N, MAX_M = 64, 1 << 12


def validate(N: int, M: int, variant: str) -> None:
    if not isinstance(N, int) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N}")
    if N > MAX_N:
        raise BadInput(f"--N {N} exceeds the supported maximum {MAX_N}")
    if not isinstance(M, int) or M < 2:
        raise BadInput(f"--alphabet must be an integer >= 2, got {M}")
    if M > MAX_M:
        raise BadInput(f"--alphabet {M} exceeds the supported maximum {MAX_M}")
    if variant not in VARIANTS:
        raise BadInput(f"unknown variant {variant!r} ({', '.join(VARIANTS)})")


def margin(M: int) -> float:
    """Score gap of the threshold: ``min(1 - cos(pi/M), cos(pi/M) - cos(2 pi/M))``."""
    a, b = math.cos(math.pi / M), math.cos(2 * math.pi / M)
    return min(1.0 - a, a - b)


def _layout(pair: bool) -> Layout:
    b = LayoutBuilder()
    b.add("one", 1, "const")
    b.add("start", 1, "const")
    b.add("ang", 2, "token", "ang", Label("X"))
    if pair:
        b.add("pair", 4, "token")
    b.add("out", 1, "written", "bit")
    return b.build()


def _threshold_weights(layout: Layout, WQ: np.ndarray, WK: np.ndarray, M: int, variant: str):
    """Append the start-threshold coordinate: query ``one -> cos(pi/M)``, key ``start -> 1``."""
    if variant == "no-threshold":
        return WQ, WK
    col_q, col_k = np.zeros((layout.width, 1)), np.zeros((layout.width, 1))
    col_q[layout["one"].start, 0] = math.cos(math.pi / M)
    col_k[layout["start"].start, 0] = 1.0
    return np.hstack([WQ, col_q]), np.hstack([WK, col_k])


def _format(c: float, M: int, keys: int) -> Format:
    return declared_format(max(c, keys + 1.0), [margin(M)], 4.0, 1.0 / 8)


def build_match2(N: int, M: int, allow_self: bool = True, variant: str = "corrected") -> Construction:
    """One head of query/key width 3 (2 without the threshold) computing Match2; token rows see
    the start row and every token (mask kind ``full+start``), minus themselves unless
    ``allow_self`` (``full+start-self``)."""
    validate(N, M, variant)
    layout = _layout(pair=False)
    a = layout["ang"]
    WQ, WK = np.zeros((layout.width, 2)), np.zeros((layout.width, 2))
    WQ[a.start:a.stop] = np.eye(2)                                   # (cos, sin)
    WK[a.start:a.stop] = np.diag([1.0, -1.0])                        # (cos, -sin)
    WQ, WK = _threshold_weights(layout, WQ, WK, M, variant)
    c = temperature(margin(M), N + 1, 1.0, 1.0 / 8)
    head = Head(W_Q=WQ, W_K=WK, W_V=select(layout, ["one"]), W_O=place(layout, ["out"]), temperature=c)
    ang = enc.angles(M, M)
    tok = np.zeros((M, layout.width))
    tok[:, a.sl] = ang
    pos = np.zeros((N + 1, layout.width))
    pos[1:, layout["one"].start] = 1.0
    start = np.zeros(layout.width)
    start[layout["start"].start] = 1.0
    notes = ("self pairs j = i allowed" if allow_self else "self pairs j = i masked out",)
    if variant == "no-threshold":
        notes += ("no start threshold: expected to be refuted",)
    return Construction(
        name="match2", task="match2", theorem=THM_MATCH2, status=STATUS2,
        params={"N": N, "M": M, "allow_self": allow_self, "variant": variant},
        layout=layout, codebooks={"ang": ang, "bit": BIT_CODES}, tok_embed=tok, pos_embed=pos,
        start_row=start, layers=(Layer((head,)),), decoder=Decoder("out", "bit", (0, 1)),
        fmt=_format(c, M, N), target=Label("match2"), notes=notes,
        mask="full+start" if allow_self else "full+start-self")


@dataclass(frozen=True, eq=False)
class Match3Construction:
    """Third-order attention for Match3: ``head`` reads token rows (queries) and pair rows
    (keys ``e(x_j1) (x) e(x_j2)``); ``layout`` names the residual slots of both kinds of row."""

    N: int
    M: int
    allow_self: bool
    allow_repeat: bool
    variant: str
    layout: Layout
    head: Head
    fmt: Format
    theorem: str = THM_MATCH3
    status: str = STATUS3

    def size(self) -> dict:
        return {"layers": 1, "heads": 1, "order": 3, "m": int(self.head.W_Q.shape[1]),
                "width": self.layout.width, "bits": self.fmt.bits, "format": str(self.fmt),
                "parameters": self.head.n_params, "score_entries": self.N ** 3}

    def to_json(self) -> dict:
        return {"name": "match3", "task": "match3", "theorem": self.theorem, "status": self.status,
                "params": {"N": self.N, "M": self.M, "allow_self": self.allow_self,
                           "allow_repeat": self.allow_repeat, "variant": self.variant},
                **self.size(), "temperature": self.head.temperature, "layout": self.layout.to_json()}


def build_match3(N: int, M: int, allow_self: bool = True, allow_repeat: bool = True,
                 variant: str = "corrected") -> Match3Construction:
    """Third-order head of query/key width 5 (4 without the threshold)."""
    validate(N, M, variant)
    layout = _layout(pair=True)
    a, p = layout["ang"], layout["pair"]
    WQ, WK = np.zeros((layout.width, 4)), np.zeros((layout.width, 4))
    WQ[a.start] = [1.0, 0.0, 0.0, -1.0]                              # cos(x_i) part of Re(e_i .)
    WQ[a.start + 1] = [0.0, -1.0, -1.0, 0.0]                         # sin(x_i) part
    WK[p.start:p.stop] = np.eye(4)
    WQ, WK = _threshold_weights(layout, WQ, WK, M, variant)
    c = temperature(margin(M), N * N + 1, 1.0, 1.0 / 8)
    head = Head(W_Q=WQ, W_K=WK, W_V=select(layout, ["one"]), W_O=place(layout, ["out"]), temperature=c)
    return Match3Construction(N, M, allow_self, allow_repeat, variant, layout, head,
                              _format(c, M, N * N))


def head_of(c) -> Head:
    """The one head of a Match2 or Match3 construction."""
    return c.head if isinstance(c, Match3Construction) else c.layers[0].heads[0]

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

Both runners use :func:`attncheck.verifiers.emulator.attend` (the shared arithmetic); only the
mask differs from the causal ``emulator.forward``: every position sees every other.
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
from attncheck.constructions.precision import EXACT, Format
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
        raise BadInput(f"--M must be an integer >= 2, got {M}")
    if M > MAX_M:
        raise BadInput(f"--M {M} exceeds the supported maximum {MAX_M}")
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
    """One head of query/key width 3 (2 without the threshold) computing Match2."""
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
        fmt=_format(c, M, N), target=Label("match2"), notes=notes)


def _attend_rows(head: Head, X: np.ndarray, mask: np.ndarray, fmt: Format, attention: str):
    """One head with an explicit mask; residual update in ``fmt``.  -> (X', weights)."""
    from attncheck.verifiers.emulator import attend
    y, w = attend(head, X, fmt, attention, mask)
    return fmt.quantize(X + y, "residual"), w


def match2_mask(N: int, allow_self: bool) -> np.ndarray:
    """(1, T, T): token rows see the start row and every token (minus themselves unless
    ``allow_self``); the start row sees itself only."""
    mask = np.ones((N + 1, N + 1), dtype=bool)
    if not allow_self:
        np.fill_diagonal(mask[1:, 1:], False)
    mask[0, 1:] = False
    return mask[None]


def forward_match2(c: Construction, tokens, fmt: Format = EXACT, attention: str = "softmax"):
    """tokens (B, N) -> (outputs (B, N) in {0, 1}, weights (B, T, T))."""
    from attncheck.verifiers.emulator import decode, embed
    X = embed(c, np.atleast_2d(np.asarray(tokens, dtype=np.int64)), fmt)
    X, w = _attend_rows(c.layers[0].heads[0], X, match2_mask(c.n, c.params["allow_self"]), fmt, attention)
    return decode(c, X)[1], w


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
    from attncheck.verifiers.emulator import nearest_rows
    tokens = np.atleast_2d(np.asarray(tokens, dtype=np.int64))
    X = embed_match3(c, tokens, fmt)
    X, w = _attend_rows(c.head, X, match3_mask(c.N, c.allow_self, c.allow_repeat), fmt, attention)
    return nearest_rows(X[:, 1:c.N + 1, c.layout["out"].sl], BIT_CODES), w


# --- verdicts -------------------------------------------------------------------------------------
MAX_INPUTS = 1 << 22           # refuse larger [M]^N enumerations up front
ELEMS_PER_CHUNK = 1_500_000    # B * T * T per batch


def spec_of(c) -> dict:
    """The parts of a Match2/Match3 construction the checker needs, by kind."""
    if isinstance(c, Match3Construction):
        from attncheck.constructions.tasks import match3
        return {"N": c.N, "M": c.M, "T": 1 + c.N + c.N * c.N, "forward": forward_match3,
                "truth": lambda x: match3(x, c.M, c.allow_self, c.allow_repeat),
                "task": "match3", "conventions": f"allow_self={c.allow_self}, allow_repeat={c.allow_repeat}"}
    from attncheck.constructions.tasks import match2
    p = c.params
    return {"N": p["N"], "M": p["M"], "T": p["N"] + 1, "forward": forward_match2,
            "truth": lambda x: match2(x, p["M"], p["allow_self"]), "task": "match2",
            "conventions": f"allow_self={p['allow_self']}"}


def resolve_mode(what: str, mode: str, total: int, limit: int, samples: int) -> str:
    """``auto`` -> exhaustive when the finite family fits ``limit``, else sample; refuse what
    cannot be honoured (one line naming the value).  Shared by the Match and RNN checkers."""
    if mode == "certificate":
        raise BadInput(f"{what} has no certificate mode; use --mode exhaustive or sample")
    if mode == "exhaustive" and total > limit:
        raise BadInput(f"exhaustive {what} has {total} inputs, over the limit {limit};"
                       f" use smaller sizes or --mode sample")
    if mode == "sample" and samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    return ("exhaustive" if total <= limit else "sample") if mode == "auto" else mode


def compare_family(claim: str, total: int, mode: str, samples: int, seed: int, step: int,
                   draw, compare, explain, budget=None, advance=None, evidence=None,
                   show=lambda x: x.tolist()):
    """Enumerate (exhaustive: members 0..total-1 via ``draw(start, stop, None)``) or sample
    (``draw(0, B, rng)``) inputs in chunks of ``step``; ``compare(X) -> (got, want)`` (B, N);
    the first disagreement becomes ``explain(x, got_row, want_row)`` -> Counterexample.
    Exhaustive agreement is VERIFIED; a sample or a spent budget is at most UNKNOWN."""
    from attncheck.constructions.verdict import BudgetExceeded, Method, Status, Verdict
    exhaustive = mode == "exhaustive"
    meth = Method.EXHAUSTIVE if exhaustive else Method.SAMPLE
    count = total if exhaustive else samples
    rng = None if exhaustive else np.random.default_rng(seed)
    extra = (evidence or (lambda: {}))
    seeded = {} if exhaustive else {"seed": seed}
    done = 0
    try:
        while done < count:
            if budget is not None:
                budget.check(inputs_checked=done, of=count)
            B = min(step, count - done)
            X = draw(done, done + B, rng)
            got, want = compare(X)
            bad = np.flatnonzero(np.any(got != want, axis=1))
            if bad.size:
                b = int(bad[0])
                ce = explain(X[b], got[b], want[b])
                return Verdict(Status.REFUTED, meth, claim, done + b + 1, counterexample=ce,
                               reason=f"input {show(X[b])} is wrong at position {ce.position}"
                                      f" (expected {ce.expected}, got {ce.got})", evidence={**seeded, **extra()})
            done += B
            if advance:
                advance(B)
    except BudgetExceeded as e:
        return Verdict(Status.UNKNOWN, meth, claim, done, evidence={**seeded, **extra()},
                       reason=f"{e}: {done} of {count} inputs, none wrong")
    if exhaustive:
        return Verdict(Status.VERIFIED, meth, claim, total, evidence=extra(),
                       reason=f"all {total} inputs agree")
    return Verdict(Status.UNKNOWN, meth, claim, samples, evidence={**seeded, **extra()},
                   reason=f"no counterexample in {samples} seeded samples (sampling never verifies)")


def check_match(c, mode: str = "auto", fmt: Format = EXACT, attention: str = "softmax",
                samples: int = 1000, seed: int = 0, budget=None, advance=None):
    """Compare the head with the plain-Python task on every input of [M]^N (exhaustive) or on
    seeded random inputs (sample; never verifies)."""
    from attncheck.verifiers.checkloop import enumerate_sequences as enumerate_inputs
    s = spec_of(c)
    N, M = s["N"], s["M"]
    total = M ** N
    mode = resolve_mode(f"{s['task']} over [{M}]^{N}", mode, total, MAX_INPUTS, samples)
    family = f"all {M}^{N} = {total} inputs" if mode == "exhaustive" else f"{samples} random inputs (seed {seed})"
    claim = (f"{c.theorem} {c.status.split(';')[0]}: one {attention} head computes {s['task']}"
             f" ({s['conventions']}) in {fmt} at every position, {family}")

    def draw(start, stop, rng):
        return enumerate_inputs(M, N, start, stop) if rng is None else rng.integers(0, M, size=(stop - start, N))

    def compare(X):
        got, _ = s["forward"](c, X, fmt, attention)
        return got, np.array([s["truth"](row) for row in X.tolist()], dtype=np.int64)

    return compare_family(claim, total, mode, samples, seed, max(1, ELEMS_PER_CHUNK // (s["T"] * s["T"])),
                          draw, compare, lambda x, g, w: _counterexample(c, s, x, g, w, fmt, attention),
                          budget, advance, lambda: {"margin": margin(M), "temperature": head_of(c).temperature})


def head_of(c) -> Head:
    """The one head of a Match2 or Match3 construction."""
    return c.head if isinstance(c, Match3Construction) else c.layers[0].heads[0]


def _counterexample(c, s: dict, x: np.ndarray, got: np.ndarray, want: np.ndarray, fmt: Format,
                    attention: str):
    """Replay input x alone; report where the wrong position puts its attention."""
    from attncheck.constructions.verdict import Counterexample
    out, w = s["forward"](c, x[None], fmt, attention)
    pos = int(np.flatnonzero(got != want)[0])
    if int(out[0, pos]) != int(got[pos]):
        raise RuntimeError(f"counterexample replay disagrees at position {pos + 1}")
    row = w[0, 1 + pos]                                               # token row i (start is row 0)
    j = int(np.argmax(row))
    N = s["N"]
    target = "start" if j == 0 else (j if j <= N else list(np.add(divmod(j - 1 - N, N), 1)))
    return Counterexample(tuple(int(t) for t in x), pos + 1, int(want[pos]), int(got[pos]),
                          {"replayed": True, "weight_on_start": float(row[0]), "argmax": target,
                           "argmax_weight": float(row[j]), "format": str(fmt), "attention": attention})

"""q-sparse averaging in one attention layer (``sht23.thm2`` [S], ``sht23.thm3`` [S/M]).

Shape glossary: B batch, N positions, q pointer-set size, m query/key width, d' value width
(``d_prime``), D residual width (= 2 d' + 2 m), S a batch of q-subsets.

Task (``task.qsa``): row i holds ``(z_i, y_i, i)`` with ``||z_i||_2 <= 1`` and a q-set
``y_i`` of positions; ``qSA(X)_i = (1/q) sum_{j in y_i} z_j``.

Construction (one head, arbitrary element-wise input MLP, THEOREMS.md ``sht23.thm2`` recipe):

* key   ``K(x_j) = u_j``          -- a position code,
* query ``Q(x_i) = w_{y_i}``      -- a *certificate* for the set ``y_i`` (the input MLP may
  compute any function of ``(z_i, y_i, i)``, so embedding the q-set is allowed),
* value ``V(x_j) = z_j``, temperature ``c``.

A certificate for S satisfies ``u_j . w_S = 1`` for j in S and ``<= theta`` for j not in S.
Then the off-set softmax mass is at most ``(N-q)/q e^{-c(1-theta)}`` and, because the output is
linear in z and ``||z_j|| <= 1``, the worst error over all z is exactly the l1 distance between
the attention row and the uniform distribution on S (attained at ``z_j = sign(.) e_1``), which
is at most twice that mass.  Hence ``c = ln(2(N-q)/(q eps'))/(1-theta)`` gives error ``eps'``.

Two code families:

* ``random`` (thm2): ``u_j`` i.i.d. signs ``{+-1/sqrt(m)}^m`` (seeded); ``w_S`` the least-squares
  certificate ``U_S (U_S^T U_S)^{-1} 1_q`` [R] -- exactly 1 on S; off S it is small only when m
  is about ``q log N`` times a constant (``attncheck search width qsa`` measures it); theta=1/2.
* ``moment`` (thm3, real arithmetic): ``u_j = (1, t_j, ..., t_j^{2q})`` on the moment curve at
  integers ``t_j`` (cyclic polytope: every q-subset is a face), ``w_S`` the coefficients of
  ``p_S(t) = 1 - prod_{s in S}(t - t_s)^2``.  Scores are 1 on S and ``<= 0`` off S (margin >= 1)
  with width ``m = 2q + 1`` independent of N -- but the integer coefficients reach about
  ``(N/2)^{2q}``, i.e. ~``2q log2 N`` bits: the width saved is paid in precision.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from attncheck.constructions.primitives import place, select
from attncheck.constructions.spec import Head, Layout, LayoutBuilder
from attncheck.verifiers.precision import EXACT, Format, fixed, int_bits_for
from attncheck.verifiers.verdict import (BadInput, BudgetExceeded, Counterexample, Method, Status,
                                         Verdict)

THM_RANDOM = "sht23.thm2"
THM_MOMENT = "sht23.thm3"
STATUS = {"random": "[S] statement; [P via SHT24a F.2 + R] recipe; [R] least-squares certificates",
          "moment": "[S/M] statement; [R] moment-curve certificates 1 - prod (t - t_s)^2"}
THETA_RANDOM = 0.5          # designed off-set score bound of the thm2 recipe
MAX_N = 4096


def n_subsets(N: int, q: int) -> int:
    return math.comb(N, q)


def subset_chunks(N: int, q: int, size: int) -> Iterator[np.ndarray]:
    """All q-subsets of {0..N-1} in lexicographic order, as int arrays (<= size, q)."""
    it = itertools.combinations(range(N), q)
    while True:
        chunk = list(itertools.islice(it, size))
        if not chunk:
            return
        yield np.array(chunk, dtype=np.int64).reshape(len(chunk), q)


def random_keys(N: int, m: int, seed: int) -> np.ndarray:
    """(N, m) seeded sign codes ``{+-1/sqrt(m)}^m`` (unit norm)."""
    rng = np.random.default_rng([seed, m])
    return rng.choice([-1.0, 1.0], size=(N, m)) / math.sqrt(m)


def moment_points(N: int) -> np.ndarray:
    """Integer moment-curve parameters t_j = j - ceil((N+1)/2), centred to keep powers small."""
    return np.arange(1, N + 1, dtype=np.int64) - (N + 2) // 2


def moment_keys(N: int, q: int) -> np.ndarray:
    """(N, 2q+1) keys ``(1, t, t^2, ..., t^{2q})`` (exact integers held in float64)."""
    t = moment_points(N).astype(np.float64)
    return t[:, None] ** np.arange(2 * q + 1)[None, :]


def least_squares_certificates(U: np.ndarray, S: np.ndarray) -> np.ndarray:
    """(S, m): ``w = U_S (U_S^T U_S)^{-1} 1_q`` per subset (pseudo-inverse when singular)."""
    US = U[S]                                                        # (S, q, m)
    G = US @ np.swapaxes(US, 1, 2)                                   # (S, q, q)
    ones = np.ones(S.shape + (1,))                                   # (S, q, 1)
    try:
        coef = np.linalg.solve(G, ones)[..., 0]                      # (S, q)
    except np.linalg.LinAlgError:
        coef = (np.linalg.pinv(G) @ ones)[..., 0]
    return np.einsum("sq,sqm->sm", coef, US)


def moment_certificates(N: int, q: int, S: np.ndarray) -> np.ndarray:
    """(S, 2q+1) coefficients (low degree first) of ``1 - prod_{s in S} (t - t_s)^2``, exact
    integers computed in int64 (|coefficient| <= prod (1 + |t_s|)^2)."""
    t = moment_points(N)[S]                                          # (S, q)
    poly = np.zeros((len(S), 2 * q + 1), dtype=np.int64)
    poly[:, 0] = 1
    for r in range(q):                                               # multiply by (t - t_r)^2
        a, b = t[:, r:r + 1] ** 2, -2 * t[:, r:r + 1]
        new = a * poly
        new[:, 1:] += b * poly[:, :-1]
        new[:, 2:] += poly[:, :-2]
        poly = new
    poly = -poly
    poly[:, 0] += 1
    return poly.astype(np.float64)


def moment_scores_exact(N: int, q: int, S: np.ndarray) -> np.ndarray:
    """(S, N) exact scores ``p_S(t_j) = 1 - prod_s (t_j - t_s)^2`` from the product form
    (independent of the coefficient expansion; int64, no cancellation)."""
    t = moment_points(N)
    diff = t[None, :, None] - t[S][:, None, :]                       # (S, N, q)
    return 1 - np.prod(diff * diff, axis=2)


@dataclass(frozen=True, eq=False)
class QSAConstruction:
    """One softmax head for qSA.  ``keys`` (N, m) are the position codes; the query of a row
    is :meth:`query_codes` of its pointer set (computed by the input MLP); ``head`` reads the
    residual slots of ``layout`` (``z``, ``qry``, ``key``) and writes ``out``.  ``theta`` is
    the designed bound on off-set scores, ``eps`` the target accuracy."""

    N: int
    q: int
    d_prime: int
    codes: str
    seed: int
    eps: float
    theta: float
    keys: np.ndarray
    layout: Layout
    head: Head
    fmt: Format
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        k = np.array(self.keys, dtype=np.float64, copy=True)
        k.setflags(write=False)
        object.__setattr__(self, "keys", k)

    @property
    def m(self) -> int:
        return self.keys.shape[1]

    @property
    def theorem(self) -> str:
        return THM_RANDOM if self.codes == "random" else THM_MOMENT

    @property
    def status(self) -> str:
        return STATUS[self.codes]

    def query_codes(self, S: np.ndarray) -> np.ndarray:
        """(S, q) 0-indexed subsets -> (S, m) certificates w_S."""
        S = np.asarray(S, dtype=np.int64)
        if self.codes == "random":
            return least_squares_certificates(self.keys, S)
        return moment_certificates(self.N, self.q, S)

    def size(self) -> dict:
        """Sizes in the keys every bound table prints; ``m`` = query/key width, ``width`` =
        the SHT23 embedding dimension m + d' (queries/keys plus values)."""
        return {"layers": 1, "heads": 1, "m": self.m, "width": self.m + self.d_prime,
                "residual": self.layout.width, "bits": self.fmt.bits, "format": str(self.fmt),
                "parameters": self.head.n_params, "key_magnitude": float(np.abs(self.keys).max())}

    def to_json(self) -> dict:
        return {"name": "qsa", "task": "qsa", "theorem": self.theorem, "status": self.status,
                "params": {"N": self.N, "q": self.q, "d_prime": self.d_prime, "codes": self.codes,
                           "seed": self.seed, "eps": self.eps},
                **self.size(), "theta": self.theta, "temperature": self.head.temperature,
                "layout": self.layout.to_json(), "notes": list(self.notes)}


def validate(N: int, q: int, d_prime: int, m: int | None, codes: str, eps: float | None) -> None:
    """Refuse bad parameters (one line naming the value) before anything is computed from them;
    ``eps=None`` stands for the default 1/(2q), valid once q is."""
    if not isinstance(N, int) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N}")
    if N > MAX_N:
        raise BadInput(f"--N {N} exceeds the supported maximum {MAX_N}")
    if not isinstance(q, int) or not 1 <= q < N:
        raise BadInput(f"--q must satisfy 1 <= q < N = {N}, got {q}")
    if not isinstance(d_prime, int) or d_prime < 1:
        raise BadInput(f"--d-prime must be >= 1, got {d_prime}")
    if codes not in ("random", "moment"):
        raise BadInput(f"unknown codes {codes!r} (random, moment)")
    if eps is not None and not 0 < eps < 1:
        raise BadInput(f"--eps must lie in (0, 1), got {eps}")
    if m is not None and m < 1:
        raise BadInput(f"--m must be >= 1, got {m}")
    if codes == "moment" and m is not None and m != 2 * q + 1:
        raise BadInput(f"--codes moment has width m = 2q + 1 = {2 * q + 1}; got --m {m}")
    if codes == "moment" and 2 * q * math.log2(N) > 60:
        raise BadInput(f"--codes moment at N = {N}, q = {q} needs integers of about"
                       f" {2 * q * math.log2(N):.0f} bits (> 60, beyond int64)")
    width = m if m is not None else 2 * q + 1 if codes == "moment" else default_width(N, q)
    check_footprint(N, q, width, d_prime, "--m" if m is not None else "the default width m")


#: float64 entries one construction and one checking batch may hold (1 GiB); beyond, refused.
MAX_ENTRIES = 1 << 27


def batch_rows(N: int) -> int:
    """Most rows (inputs x N) one emulator or sampling batch embeds: see :func:`sweep`."""
    return max(1, 200_000 // (N * N)) * N


def footprint(N: int, q: int, m: int, d_prime: int, rows: int | None = None) -> int:
    """float64 entries of the largest arrays, exactly in integers: keys (N, m); the head's
    W_Q, W_K (D, m), W_V (D, d'), W_O (d', D) with D = 2(m + d'); and one batch of ``rows``
    embedded rows (default :func:`batch_rows`; 0 for the Gram-matrix sweeps of a width search):
    their key blocks U_S (rows, q, m), Gram matrices (rows, q, q) and residual (rows, D)."""
    D = 2 * (m + d_prime)
    rows = batch_rows(N) if rows is None else rows
    return N * m + 2 * D * (m + d_prime) + rows * (q * m + q * q + D)


def check_footprint(N: int, q: int, m: int, d_prime: int, what: str = "--m", rows: int | None = None) -> None:
    """Refuse a width / value dimension whose arrays exceed :data:`MAX_ENTRIES` (before any is built)."""
    need = footprint(N, q, m, d_prime, rows)
    if need > MAX_ENTRIES:
        raise BadInput(f"{what} = {m} with --d-prime {d_prime} at N = {N}, q = {q} needs about"
                       f" {sci_count(need)} float64 entries ({sci_count(8 * need)} bytes), over the limit of"
                       f" {MAX_ENTRIES:,}; use a smaller --m, --d-prime, --q or --N")


def sci_count(x: int) -> str:
    """A count as ``1.2e+1236``: from its base-10 logarithm, so no float overflow and no int->str
    digit limit however large the exact integer is."""
    if x < 10 ** 15:
        return f"{x:.3g}"
    lg = math.log10(x)
    e = math.floor(lg)
    mant = 10 ** (lg - e)
    if mant >= 9.95:
        mant, e = 1.0, e + 1
    return f"{mant:.2g}e+{e}"


def default_width(N: int, q: int) -> int:
    """Default m for random codes [R]: ``8 q ln(N C(N,q))``.  For j not in S, ``u_j . w_S`` is
    sub-Gaussian with variance ``||w_S||^2/m ~ q/m``; keeping all ``N C(N,q)`` of them below 1/2
    needs ``m ~ 8 q ln(N C(N,q)) ~ 8 q (q+1) ln N`` -- a factor q above the ``q log N`` of
    ``sht23.thm2`` for least-squares certificates (docs/sht23.md has the measured least widths)."""
    return int(math.ceil(8 * q * math.log(N * math.comb(N, q))))


def temperature(N: int, q: int, theta: float, eps: float) -> float:
    """``c = ln(2 (N - q) / (q eps)) / (1 - theta)``: off-set mass <= eps/2 at margin 1 - theta."""
    return math.log(2.0 * max(N - q, 1) / (q * eps)) / (1.0 - theta)


def declared_format(c: float, m: int, q: int, N: int, d_prime: int, eps: float) -> Format:
    """Fixed point for random codes [R]: integer bits for scores ``c |w.u| <= 2c sqrt(q)`` and
    sums up to N; fraction bits so that rounding q, k and scores moves the scaled scores by
    <= eps/16 and the output roundings stay <= eps/4.  ``verify qsa`` checks it."""
    I = int_bits_for(max(2.0 * c * math.sqrt(q), 2.0 * N))
    sens = c * math.sqrt(m) * (1.0 + 2.0 * math.sqrt(q)) + 1.0
    F = max(math.ceil(math.log2(16.0 * sens / eps)), math.ceil(math.log2(8.0 * math.sqrt(d_prime) / eps)))
    return fixed(I, F)


def build_qsa(N: int, q: int, d_prime: int = 1, m: int | None = None, seed: int = 0,
              codes: str = "random", eps: float | None = None) -> QSAConstruction:
    """The one-layer qSA head.  ``eps`` defaults to ``1/(2q)``, the accuracy at which the
    ``sht23.thm4`` lower bound applies."""
    validate(N, q, d_prime, m, codes, eps)
    eps = 1.0 / (2 * q) if eps is None else eps
    notes = []
    if codes == "random":
        m = default_width(N, q) if m is None else m
        keys, theta = random_keys(N, m, seed), THETA_RANDOM
        c = temperature(N, q, theta, eps / 2)
        fmt = declared_format(c, m, q, N, d_prime, eps)
    else:
        keys, theta = moment_keys(N, q), 0.0
        m = keys.shape[1]
        c = temperature(N, q, theta, eps / 2)
        fmt = EXACT
        key_bits = int_bits_for(float(np.abs(keys).max()))
        notes.append(f"real-arithmetic construction (sht23.thm3): keys reach {np.abs(keys).max():.3g},"
                     f" {key_bits} integer bits; float64 is exact only while coefficient x key"
                     f" products stay below 2^53")
    b = LayoutBuilder()
    b.add("z", d_prime, "token")
    b.add("qry", m, "token")
    b.add("key", m, "const")
    b.add("out", d_prime, "written")
    layout = b.build()
    head = Head(W_Q=select(layout, ["qry"]), W_K=select(layout, ["key"]),
                W_V=select(layout, ["z"]), W_O=place(layout, ["out"]), temperature=c)
    return QSAConstruction(N=N, q=q, d_prime=d_prime, codes=codes, seed=seed, eps=eps, theta=theta,
                           keys=keys, layout=layout, head=head, fmt=fmt, notes=tuple(notes))


# --- forward pass (one bidirectional head through the shared emulator arithmetic) ---------------
def embed(c: QSAConstruction, z: np.ndarray, y: np.ndarray, fmt: Format = EXACT) -> np.ndarray:
    """z (B, N, d'), y (B, N, q) 0-indexed pointer sets -> residual (B, N, D)."""
    B, N = y.shape[:2]
    X = np.zeros((B, N, c.layout.width))
    X[..., c.layout["z"].sl] = z
    X[..., c.layout["qry"].sl] = c.query_codes(y.reshape(B * N, c.q)).reshape(B, N, c.m)
    X[..., c.layout["key"].sl] = c.keys[None]
    return fmt.quantize(X, "embedding")


def forward(c: QSAConstruction, z, y, fmt: Format = EXACT, attention: str = "softmax"):
    """Run the head with full (non-causal) attention: every row sees every position.

    Returns (outputs (B, N, d'), attention weights (B, N, N)).  The arithmetic is
    :func:`attncheck.verifiers.emulator.attend` (same quantisation points as every construction);
    only the mask differs from ``emulator.forward``, whose mask is causal."""
    from attncheck.verifiers.emulator import attend
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    X = embed(c, z, y, fmt)
    mask = np.ones((1, c.N, c.N), dtype=bool)                        # (1, N, N)
    contrib, weights = attend(c.head, X, fmt, attention, mask)
    X = fmt.quantize(X + contrib, "residual")
    return X[..., c.layout["out"].sl], weights


def uniform_on(y: np.ndarray, N: int) -> np.ndarray:
    """y (..., q) -> (..., N): the target attention 1/q on the set."""
    beta = np.zeros(y.shape[:-1] + (N,))
    np.put_along_axis(beta, y, 1.0 / y.shape[-1], axis=-1)
    return beta


def rounding_slack(fmt: Format, d_prime: int) -> float:
    """Sound bound on what rounding values, numerator, division and output adds to the l2 error
    for ANY z in the unit ball, given the quantised weights e/D (D >= 1): sqrt(d') ulp (1 + ulp)."""
    u = fmt.ulp
    return math.sqrt(d_prime) * u * (1.0 + u) if u else 0.0


def certificate_scores(c: QSAConstruction, S: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(S, N) scores ``u_j . w_S`` before the temperature, and the norms ``||w_S||`` (random codes).

    Random codes go through the Gram matrix ``G = U U^T`` -- ``u_j . w_S = sum_s a_s G_js`` with
    ``G_SS a = 1`` and ``||w_S||^2 = a . 1`` -- so the cost is independent of m and the path is
    not the one the emulator takes (explicit w_S, then q . k).  Moment codes use the exact
    integer product form."""
    if c.codes == "moment":
        return moment_scores_exact(c.N, c.q, S).astype(np.float64), None
    G = c.keys @ c.keys.T                                            # (N, N)
    GS = G[S]                                                        # (S, q, N)
    GSS = np.take_along_axis(GS, S[:, None, :], axis=2)              # (S, q, q)
    ones = np.ones(S.shape + (1,))
    try:
        a = np.linalg.solve(GSS, ones)[..., 0]                       # (S, q)
    except np.linalg.LinAlgError:
        a = (np.linalg.pinv(GSS) @ ones)[..., 0]
    return np.einsum("sq,sqn->sn", a, GS), np.sqrt(np.maximum(a.sum(axis=1), 0.0))


@dataclass(frozen=True)
class Sweep:
    """Result of a pass over q-subsets.  ``worst`` maximises ``value`` (the l1 deviation for the
    emulator sweep, the leakage bound for the certificate sweep, the off-set score for a width
    search); ``row`` is the attention row (emulator) or score row (certificate) of ``worst``."""

    subsets: int
    value: float
    worst: tuple[int, ...]
    row: tuple[float, ...]
    min_margin: float
    max_norm: float
    complete: bool


def sweep(c: QSAConstruction, method: str, fmt: Format = EXACT, attention: str = "softmax",
          stop_above: float | None = None, budget=None, advance=None) -> Sweep:
    """Every q-subset S, by ``method``:

    * ``"emulator"``: run the head (in ``fmt``) with y_i = S and record the l1 distance between
      the attention row and uniform-on-S -- the exact worst error over all ||z_j|| <= 1 in real
      arithmetic (output linear in z; a vertex of the z-cube attains it);
    * ``"certificate"``: no softmax at all; from the scores, in-set range [lo, hi] and off-set
      maximum o give the leakage bound ``2 (N-q)/q e^{-c (lo - o)} + (e^{c (hi - lo)} - 1)``;
    * ``"margin"``: the largest off-set score (a width search; stops early past ``stop_above``).
    """
    N, q = c.N, c.q
    per = max(1, 200_000 // (N * N)) * N if method == "emulator" else max(1, 1_000_000 // (N * q + q * q * q))
    best = (-math.inf, (), ())
    min_margin, max_norm, done = math.inf, 0.0, 0
    total = n_subsets(N, q)
    for S in subset_chunks(N, q, per):
        if budget is not None:
            budget.check(subsets_checked=done, of=total)
        if method == "emulator":
            k = len(S)
            pad = np.concatenate([S, np.repeat(S[-1:], (-k) % N, axis=0)])  # (B*N, q)
            y = pad.reshape(-1, N, q)
            _, w = forward(c, np.zeros(y.shape[:2] + (c.d_prime,)), y, fmt, attention)
            rows = w.reshape(-1, N)[:k]                                    # (k, N)
            vals = np.abs(rows - uniform_on(S, N)).sum(axis=1)
        else:
            rows, norms = certificate_scores(c, S)                         # (k, N), (k,)
            inset = uniform_on(S, N) > 0
            lo = np.where(inset, rows, np.inf).min(axis=1)
            hi = np.where(inset, rows, -np.inf).max(axis=1)
            off = np.where(inset, -np.inf, rows).max(axis=1)
            min_margin = min(min_margin, float((lo - off).min()))
            if norms is not None:
                max_norm = max(max_norm, float(norms.max()))
            if method == "margin":                                     # a certificate needs 1 on S
                vals = np.where((np.abs(lo - 1) <= 1e-9) & (np.abs(hi - 1) <= 1e-9), off, np.inf)
            else:
                T = c.head.temperature
                with np.errstate(over="ignore"):
                    vals = 2.0 * (N - q) / q * np.exp(-T * (lo - off)) + np.expm1(T * (hi - lo))
        i = int(np.argmax(vals))
        if vals[i] > best[0]:
            best = (float(vals[i]), tuple(int(s) for s in S[i]), tuple(float(v) for v in rows[i]))
        done += len(S)
        if advance:
            advance(len(S))
        if stop_above is not None and best[0] > stop_above:
            return Sweep(done, best[0], best[1], best[2], min_margin, max_norm, False)
    return Sweep(done, best[0], best[1], best[2], min_margin, max_norm, True)


def worst_case_input(c: QSAConstruction, S: tuple[int, ...], row) -> tuple[np.ndarray, np.ndarray]:
    """The z that attains the l1 deviation of attention ``row`` from uniform-on-S:
    ``z_j = sign(row_j - 1/q [j in S]) e_1``; every row points at S.  -> (z (N, d'), y (N, q))."""
    beta = uniform_on(np.array(S), c.N)
    z = np.zeros((c.N, c.d_prime))
    z[:, 0] = np.where(np.asarray(row) >= beta, 1.0, -1.0)
    return z, np.tile(np.array(S, dtype=np.int64), (c.N, 1))


def smallest_width(N: int, q: int, theta: float = THETA_RANDOM, seed: int = 0, tries: int = 1,
                   m_max: int | None = None, budget=None, advance=None) -> dict:
    """Smallest m (random codes) whose least-squares certificates put every off-set score
    <= theta for EVERY q-subset, for one of ``tries`` seeds.  Doubling from m = q, then
    bisection; the answer's m - 1 is checked and fails (widths are not monotone in general,
    so this is the least m on the search path, reported as such)."""
    m_max = m_max or 4 * default_width(N, q)
    cache: dict[int, tuple[bool, int, float]] = {}

    def works(m: int) -> bool:
        if m not in cache:
            ok, s_ok, worst = False, None, math.inf
            for s in range(seed, seed + tries):
                c = build_qsa(N, q, m=m, seed=s, codes="random")
                r = sweep(c, "margin", stop_above=theta, budget=budget, advance=advance)
                worst = min(worst, r.value)
                if r.complete and r.value <= theta:
                    ok, s_ok = True, s
                    break
            cache[m] = (ok, s_ok, worst)
        return cache[m][0]

    def report(**out) -> dict:
        return {**out, "m_max": m_max,
                "checked": {m: {"ok": v[0], "worst_off_score": v[2]} for m, v in sorted(cache.items())}}

    lo, hi = q - 1, q                      # invariant: lo fails (or is < q), hi is being tried
    while not works(hi):
        lo = hi
        if hi >= m_max:
            return report(found=False, m=None)
        hi = min(2 * hi, m_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    prev_fails = hi == 1 or not works(hi - 1)
    return report(found=True, m=hi, seed=cache[hi][1], m_minus_1_fails=prev_fails)


# --- verdicts -------------------------------------------------------------------------------------
MAX_WORK = 10 ** 10            # multiply-adds an exhaustive or certificate pass may take


def work(c: QSAConstruction) -> int:
    """Multiply-adds of one pass over all q-subsets (one N-row of m-dim scores per subset)."""
    return n_subsets(c.N, c.q) * c.N * (c.m + c.d_prime)


def input_work(N: int, q: int, m: int, d_prime: int) -> int:
    """Multiply-adds of ONE sampled input (N rows: the smallest unit between two budget checks),
    in exact integers: per row the certificate (Gram q x q x m, the solve, q m to combine) and the
    projections (D x (2m + 2d')), plus scores and values (N x (m + d')).  Batched q x q solves run
    about 10x slower than BLAS products here, and a singular Gram (m < q) adds an SVD
    pseudo-inverse, so the solve counts 10 q^3 (30 q^3 when m < q)."""
    D = 2 * (m + d_prime)
    solve = q ** 3 * (10 if m >= q else 30)
    return N * (q * q * m + solve + q * m + D * (2 * m + 2 * d_prime) + N * (m + d_prime))


def pick_mode(c: QSAConstruction, mode: str, fmt: Format, attention: str) -> str:
    """Resolve ``auto`` and refuse what cannot be honoured (one line, with the estimate)."""
    if mode == "certificate" and (not fmt.is_exact or attention != "softmax"):
        raise BadInput("--mode certificate bounds softmax leakage in real arithmetic; use"
                       " --precision exact --attention softmax, or --mode exhaustive")
    if mode in ("exhaustive", "certificate") and work(c) > MAX_WORK:
        raise BadInput(f"{mode} over all C({c.N},{c.q}) = {sci_count(n_subsets(c.N, c.q))} pointer sets needs"
                       f" ~{sci_count(work(c))} multiply-adds (limit {MAX_WORK:.0e}); use --mode sample")
    if mode == "auto":
        mode = "exhaustive" if work(c) <= MAX_WORK else "sample"
    one = input_work(c.N, c.q, c.m, c.d_prime)
    if mode == "sample" and one > MAX_WORK:
        raise BadInput(f"--mode sample: one input at N = {c.N}, q = {c.q}, m = {c.m} needs ~{sci_count(one)}"
                       f" multiply-adds (limit {MAX_WORK:.0e} per input, the unit between budget checks);"
                       f" use a smaller --N, --q or --m")
    return mode


def _claim(c: QSAConstruction, fmt: Format, attention: str, family: str) -> str:
    return (f"{c.theorem} {c.status.split(';')[0]}: one {attention} head, m = {c.m} ({c.codes} codes),"
            f" {c.eps:g}-approximates qSA at N = {c.N}, q = {c.q}, d' = {c.d_prime} in {fmt}: {family}")


def _counterexample(c: QSAConstruction, z, y, fmt: Format, attention: str, row: int) -> tuple[float, Counterexample]:
    """Replay one input through the head and the plain-Python ground truth."""
    from attncheck.constructions.tasks import qsa as qsa_truth
    out, w = forward(c, z[None], y[None], fmt, attention)
    want = np.array(qsa_truth(z.tolist(), y.tolist())[row])
    got = out[0, row]
    err = float(np.linalg.norm(got - want))
    S = [int(j) + 1 for j in y[row]]
    return err, Counterexample(tuple(S), row + 1, [round(float(v), 12) for v in want],
                               [round(float(v), 12) for v in got],
                               {"pointer_set": S, "z_first_coordinate": [float(v) for v in z[:, 0]],
                                "error": err, "eps": c.eps, "replayed": True, "format": str(fmt),
                                "attention": attention,
                                "mass_on_set": float(w[0, row, y[row]].sum())})


def check_qsa(c: QSAConstruction, mode: str = "auto", fmt: Format = EXACT, attention: str = "softmax",
              samples: int = 1000, seed: int = 0, budget=None, advance=None) -> Verdict:
    """Verify ``max_i ||f(X)_i - qSA(X)_i||_2 <= eps`` (``task.qsa``) for the head ``c``."""
    mode = pick_mode(c, mode, fmt, attention)
    total = n_subsets(c.N, c.q)
    if mode == "sample":
        return _check_sample(c, fmt, attention, samples, seed, budget, advance)
    method = "emulator" if mode == "exhaustive" else "certificate"
    family = (f"all C({c.N},{c.q}) = {total} pointer sets x all z with ||z_j|| <= 1"
              + (" (symbolic: output linear in z)" if fmt.is_exact else " (sound rounding bound)"))
    claim = _claim(c, fmt, attention, family)
    try:
        r = sweep(c, method, fmt, attention, budget=budget, advance=advance)
    except BudgetExceeded as e:
        return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE if method == "emulator" else Method.CERTIFICATE,
                       claim, e.progress.get("subsets_checked", 0), reason=f"{e}; no violation so far")
    slack = rounding_slack(fmt, c.d_prime) if method == "emulator" else 0.0
    bound = r.value + slack
    ev = {"worst_error_bound": bound, "rounding_slack": slack, "worst_pointer_set": [s + 1 for s in r.worst],
          "temperature": c.head.temperature, "theta": c.theta, "eps": c.eps}
    if method == "certificate":
        ev.update(min_margin=r.min_margin, max_certificate_norm=r.max_norm or None)
    meth = Method.EXHAUSTIVE if method == "emulator" else Method.CERTIFICATE
    if bound <= c.eps:
        what = "l1 deviation of attention from uniform-on-S" if method == "emulator" else "leakage bound from score margins"
        return Verdict(Status.VERIFIED, meth, claim, total, evidence=ev,
                       reason=f"worst error {bound:.3g} <= eps = {c.eps:g} ({what}, all {total} sets)")
    if method == "certificate":
        return Verdict(Status.UNKNOWN, meth, claim, total, evidence=ev,
                       reason=f"certificate bound {bound:.3g} > eps = {c.eps:g}; run --mode exhaustive")
    z, y = worst_case_input(c, r.worst, r.row)
    err, ce = _counterexample(c, z, y, fmt, attention, 0)
    ev["replayed_error"] = err
    if err > c.eps:
        return Verdict(Status.REFUTED, meth, claim, total, counterexample=ce, evidence=ev,
                       reason=f"pointer set {[s + 1 for s in r.worst]} with z_j = +-e_1 gives error"
                              f" {err:.3g} > eps = {c.eps:g}")
    return Verdict(Status.UNKNOWN, meth, claim, total, evidence=ev,
                   reason=f"bound {bound:.3g} > eps but the worst-case z replays to {err:.3g} <= eps")


def _check_sample(c, fmt, attention, samples, seed, budget, advance) -> Verdict:
    """Seeded random pointer sets and z in the unit ball; an input row "disagrees" when its error
    exceeds eps.  Inputs travel packed as (B, N, d' + q) = [z | y]."""
    from attncheck.constructions.match import compare_family, resolve_mode
    from attncheck.constructions.tasks import qsa as qsa_truth
    resolve_mode("qSA", "sample", 0, 0, samples)
    d = c.d_prime
    unpack = lambda X: (X[..., :d], X[..., d:].astype(np.int64))

    def draw(start, stop, rng):
        B = stop - start
        y = np.sort(rng.random((B, c.N, c.N)).argsort(axis=2)[..., :c.q], axis=2)
        z = rng.normal(size=(B, c.N, d))
        z *= (rng.random((B, c.N, 1)) ** (1.0 / d)) / np.linalg.norm(z, axis=2, keepdims=True)
        return np.concatenate([z, y.astype(np.float64)], axis=2)

    def compare(X):
        z, y = unpack(X)
        out, _ = forward(c, z, y, fmt, attention)
        want = np.array([qsa_truth(zb.tolist(), yb.tolist()) for zb, yb in zip(z, y)])
        return (np.linalg.norm(out - want, axis=2) > c.eps).astype(np.int64), np.zeros(y.shape[:2], np.int64)

    def explain(x, got, want):
        z, y = unpack(x)
        return _counterexample(c, z, y, fmt, attention, int(np.argmax(got)))[1]

    claim = _claim(c, fmt, attention, f"{samples} random inputs (seed {seed})")
    return compare_family(claim, 0, "sample", samples, seed, max(1, 100_000 // (c.N * c.N)), draw, compare,
                          explain, budget, advance, show=lambda x: f"with pointer sets {(unpack(x)[1] + 1).tolist()}")

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

This module builds the head, runs it and sweeps the q-subsets; what the weights provably do is
:mod:`attncheck.constructions.qsa_proof`, the verdicts are :mod:`attncheck.constructions.qsa_check`.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from attncheck.constructions.primitives import place, select
from attncheck.constructions.spec import Head, Layout, LayoutBuilder
from attncheck.constructions.precision import EXACT, Format, fixed, int_bits_for
from attncheck.constructions.verdict import BadInput

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


def least_squares_coefficients(U: np.ndarray, S: np.ndarray) -> np.ndarray:
    """(S, q): ``a = (U_S U_S^T)^{-1} 1_q`` per subset, so that ``w_S = sum_s a_s u_s``.  A subset
    whose Gram matrix is singular gets the pseudo-inverse *alone*: a subset's coefficients never
    depend on which other subsets share its batch (the input MLP is a function of y_i)."""
    US = U[S]                                                        # (S, q, m)
    G = US @ np.swapaxes(US, 1, 2)                                   # (S, q, q)
    ones = np.ones(S.shape + (1,))                                   # (S, q, 1)
    try:
        return np.linalg.solve(G, ones)[..., 0]                      # (S, q)
    except np.linalg.LinAlgError:
        out = np.empty(S.shape, dtype=np.float64)
        for i, g in enumerate(G):
            try:
                out[i] = np.linalg.solve(g, ones[i])[:, 0]
            except np.linalg.LinAlgError:
                out[i] = (np.linalg.pinv(g) @ ones[i])[:, 0]
        return out


def least_squares_certificates(U: np.ndarray, S: np.ndarray) -> np.ndarray:
    """(S, m): ``w = U_S (U_S^T U_S)^{-1} 1_q = sum_s a_s u_s`` per subset
    (:func:`least_squares_coefficients`)."""
    return np.einsum("sq,sqm->sm", least_squares_coefficients(U, S), U[S])


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


def code_scores(c: QSAConstruction, S: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(S, N) code scores ``u_j . w_S`` and the norms ``||w_S||`` (random codes) -- the *codes*
    alone, for the width search (``sweep(..., "margin")``); no weight is read, so nothing here
    backs a verdict (the certificate uses :func:`certificate_scores`).

    Random codes go through the Gram matrix ``G = U U^T`` -- ``u_j . w_S = sum_s a_s G_js`` with
    ``G_SS a = 1`` and ``||w_S||^2 = a . 1`` -- so the cost is independent of m.  Moment codes use
    the exact integer product form."""
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


def certificate_scores(c: QSAConstruction, facts, S: np.ndarray, gram: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled scores ``T q_i . k_j`` of a row pointing at each subset, read from the weights
    (``facts`` from :func:`attncheck.constructions.qsa_proof.prove_head`), with a sound bound on
    their distance to real arithmetic.  -> (scores (S, N), slack (S, N), norms ``||w_S||`` (S,)).

    * Moment codes whose exactness is proved (``facts.moment_exact``): the integer product form
      ``1 - prod (t_j - t_s)^2``; slack = the float64 rounding of T p.
    * Random codes with ``W_Q[qry] = W_K[key] = I`` exactly (``facts.gram_path``) and ``gram`` =
      keys keys^T (N, N): the input MLP's own coefficients a (:func:`least_squares_coefficients`)
      and ``q_i . k_j = sum_s a_s G_sj`` -- cost q N per subset, not m N; slack
      ``|T| gamma(2q + m + 4) (sum_s |a_s| ||u_s||) max_j ||u_j||`` covers forming w_S, G and the sum.
    * Otherwise the input MLP's query codes, ``q = w_S A_q``, ``k_j = u_j A_k`` in float64 with slack
      :func:`~attncheck.constructions.qsa_proof.score_slack`."""
    from attncheck.constructions.qsa_proof import U64, gamma, query_rows, score_slack
    T = c.head.temperature
    if facts.moment_exact:
        s = T * moment_scores_exact(c.N, c.q, S).astype(np.float64)   # (S, N)
        return s, 3 * U64 * np.abs(s), np.zeros(len(S))
    if facts.gram_path and gram is not None:
        a = least_squares_coefficients(c.keys, S)                     # (S, q)
        s = T * np.einsum("sq,sqn->sn", a, gram[S])                   # (S, N)
        un = np.linalg.norm(c.keys, axis=1)                           # (N,)
        weight = (np.abs(a) * un[S]).sum(axis=1)                      # (S,) sum_s |a_s| ||u_s||
        slack = abs(T) * gamma(2 * c.q + c.m + 4) * weight * un.max() * (1 + 1e-9)
        slack = slack[:, None] + 2 * U64 * np.abs(s)
        slack[~np.all(np.isfinite(a), axis=1)] = np.inf
        return s, slack, np.sqrt(np.maximum(a.sum(axis=1), 0.0))
    W = c.query_codes(S)                                             # (S, m)
    norms = np.linalg.norm(W, axis=1)                                # (S,)
    s = T * (query_rows(facts, W) @ facts.K.T)                       # (S, N)
    slack = np.broadcast_to(score_slack(c, facts, norms)[:, None], s.shape).copy()   # (S, N)
    slack[~np.all(np.isfinite(W), axis=1)] = np.inf
    return s, slack, norms


@dataclass(frozen=True)
class Sweep:
    """Result of a pass over q-subsets.  ``worst`` maximises ``value`` (the l1 deviation for the
    emulator sweep, the leakage bound for the certificate sweep, the off-set score for a width
    search); ``row`` is the attention row (emulator) or score row (certificate) of ``worst``.
    ``stats`` (emulator): ``sum_a``, ``min_Z``, ``sum_e`` over all rows (see
    :class:`~attncheck.constructions.qsa_proof.ValueStats`), ``max_norm`` (largest ``||w_S||``)
    and ``int_exact`` (every score an exact float64 integer sum, see :func:`_int_exact`)."""

    subsets: int
    value: float
    worst: tuple[int, ...]
    row: tuple[float, ...]
    min_margin: float
    max_norm: float
    complete: bool
    stats: dict = field(default_factory=dict)


def _emulator_chunk(c: QSAConstruction, S: np.ndarray, fmt: Format, attention: str):
    """Run the head with row t of the batch pointing at subset t (rows t mod N of batch t // N).
    -> (l1 deviations (k,), attention rows (k, N))."""
    N, q = c.N, c.q
    k = len(S)
    pad = np.concatenate([S, np.repeat(S[-1:], (-k) % N, axis=0)])  # (B*N, q)
    y = pad.reshape(-1, N, q)
    _, w = forward(c, np.zeros(y.shape[:2] + (c.d_prime,)), y, fmt, attention)
    rows = w.reshape(-1, N)[:k]                                      # (k, N)
    vals = np.abs(rows - uniform_on(S, N)).sum(axis=1)
    return np.where(np.isnan(vals), np.inf, vals), rows              # NaN weights: no bound


def _int_exact(c: QSAConstruction, facts, W: np.ndarray) -> bool:
    """True iff every ``q . k`` of these query codes W (k, m) is a sum of integers whose absolute
    values add up to < 2^51: then float64 forms it exactly in any order, and ``fl(T a)`` keeps
    the order of distinct integers a (hardmax ties are the real ones)."""
    from attncheck.constructions.qsa_proof import EXACT_INT
    mats = (W, c.keys, facts.A_q, facts.A_k)
    if not all(np.array_equal(a, np.round(a)) for a in mats):
        return False
    kabs = float((np.abs(c.keys) @ np.abs(facts.A_k) @ np.abs(facts.A_q).T).max(initial=0.0))
    return bool(np.abs(W).sum(axis=1).max(initial=0.0) * kabs < EXACT_INT)


def _emulator_stats(c: QSAConstruction, facts, S: np.ndarray, rows: np.ndarray, fmt: Format) -> dict:
    """Per-chunk maxima the error bound needs (see :class:`Sweep`).  Z = 1 / max_j weight_j holds
    because the exponential at the maximum is exactly 1 (``z range`` hypothesis)."""
    if not np.all(np.isfinite(rows)) or np.any(rows.max(axis=1) <= 0):
        st = {"sum_a": math.inf, "min_Z": 0.0, "sum_e": math.inf}                  # no bound
    else:
        top = rows.max(axis=1)                                                   # (k,) = 1 / Z
        st = {"sum_a": float(rows.sum(axis=1).max()), "min_Z": float((1.0 / top).min()),
              "sum_e": float((rows.sum(axis=1) / top).max())}
    if fmt.is_exact and facts is not None and facts.K is not None:
        W = c.query_codes(S)
        st["max_norm"] = float(np.linalg.norm(W, axis=1).max())
        st["int_exact"] = _int_exact(c, facts, W)
    return st


def _merge(a: dict, b: dict) -> dict:
    out = dict(b) if not a else {
        "sum_a": max(a["sum_a"], b["sum_a"]), "min_Z": min(a["min_Z"], b["min_Z"]),
        "sum_e": max(a["sum_e"], b["sum_e"])}
    if "max_norm" in b and a:
        out["max_norm"] = max(a["max_norm"], b["max_norm"])
        out["int_exact"] = a["int_exact"] and b["int_exact"]
    return out


def leakage_bound(scores: np.ndarray, slack: np.ndarray, inset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real-arithmetic l1 distance between softmax(scores) and uniform-on-S, per row, from the
    scaled scores widened by ``slack``: in-set range [lo, hi], off-set maximum o give
    ``2 (N-q)/q e^{o - lo} + (e^{hi - lo} - 1)`` (off-set mass M <= (N-q)/q e^{o-lo} counts twice;
    in-set weights within a factor e^{hi-lo} of each other are within e^{hi-lo} - 1 of uniform).
    Valid for any sign of the temperature (the scores are already scaled).  -> (bound, lo - o)."""
    N = scores.shape[1]
    q = int(inset[0].sum())
    lo = np.where(inset, scores - slack, np.inf).min(axis=1)
    hi = np.where(inset, scores + slack, -np.inf).max(axis=1)
    off = np.where(inset, -np.inf, scores + slack).max(axis=1)
    with np.errstate(over="ignore", invalid="ignore"):
        b = 2.0 * (N - q) / q * np.exp(off - lo) + np.expm1(hi - lo)
    return np.where(np.isnan(b), np.inf, b) * (1 + 1e-12), lo - off


def sweep(c: QSAConstruction, method: str, fmt: Format = EXACT, attention: str = "softmax",
          stop_above: float | None = None, budget=None, advance=None, facts=None) -> Sweep:
    """Every q-subset S, by ``method``:

    * ``"emulator"``: run the head (in ``fmt``) with y_i = S and record the l1 distance between
      the attention row and uniform-on-S -- the worst error over all ||z_j|| <= 1 once the
      ``query``/``key``/``value`` hypotheses hold (output linear in z; a vertex of the z-cube
      attains it); ``stats`` feed the rounding bounds;
    * ``"certificate"``: no softmax at all; :func:`leakage_bound` of the scores the weights give
      (:func:`certificate_scores`; needs ``facts``);
    * ``"margin"``: the largest off-set *code* score (a width search; stops early past ``stop_above``).
    """
    N, q = c.N, c.q
    if method == "certificate" and facts is None:
        from attncheck.constructions.qsa_proof import prove_head
        facts = prove_head(c)
    gram = c.keys @ c.keys.T if method == "certificate" and facts.gram_path else None   # (N, N)
    per = max(1, 200_000 // (N * N)) * N if method == "emulator" else max(1, 1_000_000 // (N * q + q * q * q))
    best = (-math.inf, (), ())
    min_margin, max_norm, done, stats = math.inf, 0.0, 0, {}
    total = n_subsets(N, q)
    for S in subset_chunks(N, q, per):
        if budget is not None:
            budget.check(subsets_checked=done, of=total)
        inset = uniform_on(S, N) > 0
        if method == "emulator":
            vals, rows = _emulator_chunk(c, S, fmt, attention)
            stats = _merge(stats, _emulator_stats(c, facts, S, rows, fmt))
        elif method == "certificate":
            rows, slack, norms = certificate_scores(c, facts, S, gram)    # (k, N)
            vals, margins = leakage_bound(rows, slack, inset)
            min_margin = min(min_margin, float(margins.min()))
            max_norm = max(max_norm, float(norms.max()))
        else:
            rows, norms = code_scores(c, S)                                # (k, N), (k,)
            lo = np.where(inset, rows, np.inf).min(axis=1)
            hi = np.where(inset, rows, -np.inf).max(axis=1)
            off = np.where(inset, -np.inf, rows).max(axis=1)
            min_margin = min(min_margin, float((lo - off).min()))
            if norms is not None:
                max_norm = max(max_norm, float(norms.max()))
            vals = np.where((np.abs(lo - 1) <= 1e-9) & (np.abs(hi - 1) <= 1e-9), off, np.inf)
        i = int(np.argmax(vals))
        if vals[i] > best[0]:
            best = (float(vals[i]), tuple(int(s) for s in S[i]), tuple(float(v) for v in rows[i]))
        done += len(S)
        if advance:
            advance(len(S))
        if stop_above is not None and best[0] > stop_above:
            return Sweep(done, best[0], best[1], best[2], min_margin, max_norm, False, stats)
    return Sweep(done, best[0], best[1], best[2], min_margin, max_norm, True, stats)


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

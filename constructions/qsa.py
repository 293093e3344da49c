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

This module builds the head (data: keys, the input MLP's codes, the weights) and exposes it as a
:class:`~attncheck.constructions.spec.Construction` of mask kind ``full`` (:attr:`QSAConstruction.model`).
It runs nothing: the one emulator runs it (:mod:`attncheck.verifiers.qsa_run`), the sweeps and the
width search are :mod:`attncheck.verifiers.qsa_sweep` and :mod:`attncheck.verifiers.qsa_width`, what
the weights provably do is :mod:`attncheck.verifiers.qsa_proof`, the verdicts are
:mod:`attncheck.verifiers.qsa_check`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from attncheck.constructions.primitives import place, select
from attncheck.constructions.spec import Construction, Head, Label, Layer, Layout, LayoutBuilder
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

    @cached_property
    def model(self) -> Construction:
        """The head as the one model type: a :class:`~attncheck.constructions.spec.Construction`
        of mask kind ``full`` (every token row sees every token row, none sees the start row),
        so ``verifiers.emulator.forward_residual`` runs it.  T = N + 1 rows: row 0 a zero start
        row, rows 1..N the positions, whose position embedding holds the key u_j in the ``key``
        slot; the input MLP writes z_i and :meth:`query_codes` of y_i (``verifiers.qsa_run``).
        Derived from ``layout``, ``keys`` and ``head``, so an edited copy runs its own numbers."""
        D = self.layout.width
        pos = np.zeros((self.N + 1, D))                                  # (T, D)
        pos[1:, self.layout["key"].sl] = self.keys
        return Construction(
            name="qsa", task="qsa", theorem=self.theorem, status=self.status,
            params={"N": self.N, "q": self.q, "d_prime": self.d_prime, "codes": self.codes},
            layout=self.layout, codebooks={}, tok_embed=np.zeros((0, D)), pos_embed=pos,
            start_row=np.zeros(D), layers=(Layer((self.head,)),), decoder=None, fmt=self.fmt,
            target=Label("qsa"), notes=self.notes, mask="full")

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
        raise BadInput(f"--accuracy must lie in (0, 1), got {eps}")
    if m is not None and m < 1:
        raise BadInput(f"--head-width must be >= 1, got {m}")
    if codes == "moment" and m is not None and m != 2 * q + 1:
        raise BadInput(f"--codes moment has width m = 2q + 1 = {2 * q + 1}; got --head-width {m}")
    if codes == "moment" and 2 * q * math.log2(N) > 60:
        raise BadInput(f"--codes moment at N = {N}, q = {q} needs integers of about"
                       f" {2 * q * math.log2(N):.0f} bits (> 60, beyond int64)")
    width = m if m is not None else 2 * q + 1 if codes == "moment" else default_width(N, q)
    check_footprint(N, q, width, d_prime, "--head-width" if m is not None else "the default width m")


#: float64 entries one construction and one checking batch may hold (1 GiB); beyond, refused.
MAX_ENTRIES = 1 << 27


def batch_rows(N: int) -> int:
    """Most rows (inputs x N) one emulator or sampling batch embeds: see :mod:`attncheck.verifiers.qsa_sweep`."""
    return max(1, 200_000 // (N * N)) * N


def footprint(N: int, q: int, m: int, d_prime: int, rows: int | None = None) -> int:
    """float64 entries of the largest arrays, exactly in integers: keys (N, m); the head's
    W_Q, W_K (D, m), W_V (D, d'), W_O (d', D) with D = 2(m + d'); and one batch of ``rows``
    embedded rows (default :func:`batch_rows`; 0 for the Gram-matrix sweeps of a width search):
    their key blocks U_S (rows, q, m), Gram matrices (rows, q, q) and residual (rows, D)."""
    D = 2 * (m + d_prime)
    rows = batch_rows(N) if rows is None else rows
    return N * m + 2 * D * (m + d_prime) + rows * (q * m + q * q + D)


def check_footprint(N: int, q: int, m: int, d_prime: int, what: str = "--head-width", rows: int | None = None,
                    lower: str = "--head-width, --d-prime") -> None:
    """Refuse a width / value dimension whose arrays exceed :data:`MAX_ENTRIES` (before any is built).
    ``what`` names the width m in the message; ``lower``: the command's options, besides --q and
    --N, that make the arrays smaller."""
    need = footprint(N, q, m, d_prime, rows)
    if need > MAX_ENTRIES:
        raise BadInput(f"{what} = {m} with d' = {d_prime} at N = {N}, q = {q} needs about"
                       f" {sci_count(need)} float64 entries ({sci_count(8 * need)} bytes), over the limit of"
                       f" {MAX_ENTRIES:,}; use a smaller {lower}, --q or --N")


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

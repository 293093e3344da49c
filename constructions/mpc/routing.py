"""One-layer routing by attention: multiple hashing + sparse propagation (SHT24a Lemma 3.2).

Shape glossary: T tokens (machines and input positions; residual rows 1..T, row 0 = start
token), d packet slots, F = 5 fields per packet, dq query/key width, s words per machine.

``lemma.sht24a.3_2`` [P]: route_{beta,s} maps any valid routing Sent -> Rcvd in one layer.
Recipe as built here [R where noted]:

1. *Multiple hashing* (``fact.sht24a.B2``).  Message ids are ``(src, k)`` -- the k-th word sent by
   token src -- so ``n = q s + (T - q)`` ids [R: SHT24a uses (src, dest) pairs, n = N^2, one message per
   pair].  A sender writes into slot c the sum of packets ``(1, word, src, k, dest)`` of its
   messages x with ``A[x, c] = 1``.  A receiver's senders send at most ``s * s = b`` messages in
   all, so with A covering b-sets each message to it owns a slot no other of them touches.
2. *Sparse propagation* (``prop.sht24a.B1``): one head, query ``Q_j = (u_j, 1)``, key
   ``K_i = (w_{S_i}, 0)`` with S_i the set of i's destinations, start key ``(0, sigma_0)``, value
   = the packet slots.  Codes (``SparseCodes``):

   * ``poly`` [R, moment-curve variant of ``sht23.thm3``]: ``u_j = (1, x_j, ..., x_j^{2s})`` at the
     integer point x_j = j - T/2, ``w_S`` = coefficients of ``-2 prod_{l in S} (x - x_l)^2``, so
     ``u_j . w_S = -2 prod_{l in S} (x_j - x_l)^2`` is 0 if j in S and ``<= -2`` otherwise; the start
     key (0, ..., 0, -1) scores -1; margin 1.  Every code is an integer below 2^53 (exact in the
     float64 residual) and every score an integer sum below 2^62 (exact in int64, the arithmetic
     ``verifiers/mpc_attend.py`` uses for integer codes), so ties are exact up to T ~ 2^(53/(2s)) + 1.
     Hardmax or softmax.
   * ``random`` [P recipe, ``sht23.thm2``]: ``u_j`` random signs / sqrt(m), ``w_S`` the least-squares
     solution of ``U_S^T w = 1``; scores 1 on S, checked ``<= 1/2`` off S; start 3/4; margin 1/4.
     Softmax only (float ties are not exact).

   Receiver j averages the packets of its b_j senders (start token when b_j = 0: all zero).
3. *Decoding* (psi): the smallest positive count field is ``1/b_j`` (some slot is clean), a slot
   is clean iff ``round(alpha b_j) = 1``; its fields times b_j are the packet; keep
   ``dest = j``, deduplicate by (src, k), order by (src, k): that is Rcvd_j.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.covering import bernoulli_matrix, paper_width
from attncheck.constructions.mpc.model import Inbox
from attncheck.constructions.verdict import BadInput

FIELDS = ("count", "word", "src", "k", "dest")
F = len(FIELDS)
EXACT_INT = 2 ** 53            # float64 holds every integer up to this exactly
EXACT_SUM = 2 ** 62            # int64 sums of products stay exact below this


# --- hashing -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Hashing:
    """A: (n_ids, d) 0/1; ``kind`` is onehot | paper | random.  Ids: the k-th word of machine
    src < q is ``src * s + k``; a pad token t >= q (it only sends its input word) is
    ``q s + t - q``, so n_ids = q s + max(0, T - q)."""

    kind: str
    A: np.ndarray
    b: int
    seed: int
    q: int
    s: int

    def id_of(self, src: int, k: int) -> int:
        return src * self.s + k if src < self.q else self.q * self.s + src - self.q

    @property
    def d(self) -> int:
        return self.A.shape[1]

    def to_json(self) -> dict:
        return {"kind": self.kind, "ids": int(self.A.shape[0]), "slots": self.d, "b": self.b,
                "seed": self.seed, "paper_slots": paper_width(max(self.A.shape[0], 2),
                                                              min(self.b, max(self.A.shape[0], 2)))}


def make_hashing(T: int, q: int, s: int, kind: str = "auto", slots: int | None = None,
                 seed: int = 0, max_slots: int = 20000) -> Hashing:
    """``onehot``: A = I (d = T s, every row owns a column: covers every b).  ``paper``: Bernoulli
    with d = ceil(12 b^2 ln n).  ``random``: Bernoulli with ``slots`` columns.  ``auto``: the
    narrower of onehot and paper (both cover every valid routing)."""
    n = q * s + max(0, T - q)
    b = min(s * s, n)                       # a receiver's senders send <= s^2 of the n messages
    pd = paper_width(max(n, 2), b)
    if kind == "auto":
        kind = "onehot" if n <= pd else "paper"
    if kind == "onehot":
        A = np.eye(n, dtype=np.int8)
    elif kind in ("paper", "random"):
        d = pd if kind == "paper" else slots
        if d is None or d < 1:
            raise BadInput(f"--hashing random needs --slots >= 1, got {slots}")
        if d > max_slots:
            raise BadInput(f"{kind} hashing needs d = {d} packet slots (width {F * d} per token);"
                           f" the limit is {max_slots} (use --hashing onehot, d = {n})")
        A = bernoulli_matrix(n, d, b, seed)
    else:
        raise BadInput(f"hashing must be auto, onehot, paper or random, got {kind!r}")
    A.setflags(write=False)
    return Hashing(kind, A, b, seed, q, s)


# --- sparse-propagation codes --------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SparseCodes:
    """Query codes (T, dq) for rows 1..T, the key map S -> (dq,), the start key, the score a
    receiver gives a sender that targets it, the start score and the margin between them
    (``sender_score``, ``start_score``, ``margin`` are labels: the certificate measures scores)."""

    kind: str
    queries: np.ndarray
    start_key: np.ndarray
    sender_score: float
    start_score: float
    margin: float
    max_set: int
    basis: np.ndarray | None = None        # random codes: U (T, m)
    points: tuple[int, ...] = ()           # poly codes: token t sits at the integer point points[t]
    scale: int = -2                        # poly codes: w_S = scale * prod_{l in S} (x - points[l])^2

    @property
    def width(self) -> int:
        return self.queries.shape[1]

    def key(self, S) -> np.ndarray:
        """w_S (dq,), S a set of token indices (0-based machine ids) of size <= max_set."""
        S = sorted(set(S))
        if len(S) > self.max_set:
            raise ValueError(f"sender targets {len(S)} tokens, the codes allow {self.max_set}")
        out = np.zeros(self.width)
        if self.kind == "poly":
            coeffs = poly_key(self.points, self.scale, S)
            out[:len(coeffs)] = coeffs                                  # exact: |coeff| < 2^53
            return out
        if S:
            U = self.basis[S].T                                     # (m, |S|)
            w, *_ = np.linalg.lstsq(U.T, np.ones(len(S)), rcond=None)
            out[:-1] = w
        return out


def poly_key(points, scale: int, S) -> list[int]:
    """Ascending coefficients of ``scale * prod_{l in S} (x - points[l])^2`` in Python integers
    (exact).  Evaluating it at y gives ``scale * prod (y - points[l])^2``: the routing certificate
    relies on this identity (evaluation is multiplicative), not on the enumeration of every S."""
    coeffs = [int(scale)]
    for l in S:
        x = int(points[l])
        f = (x * x, -2 * x, 1)                                          # (x - x_l)^2, ascending
        out = [0] * (len(coeffs) + 2)
        for i, a in enumerate(coeffs):
            for j, b in enumerate(f):
                out[i + j] += a * b
        coeffs = out
    return coeffs


def poly_bounds(points, s: int, scale: int = -2) -> tuple[int, int, int]:
    """(largest query entry |x|^(2s), largest key coefficient, largest sum_e |u_e w_e|) of poly
    codes on ``points`` with sets of size <= s, exact integers: |coeff_e prod (x - x_l)^2| <=
    coeff_e (x + a)^(2s) = C(2s, e) a^(2s-e) with a = max |x_l|, and sum_e |y|^e C(2s, e) a^(2s-e)
    = (|y| + a)^(2s)."""
    a = max((abs(int(x)) for x in points), default=0)
    query = a ** (2 * s)
    key = abs(scale) * max(math.comb(2 * s, e) * a ** (2 * s - e) for e in range(2 * s + 1))
    score = abs(scale) * (2 * a) ** (2 * s) + 1                     # + the start flag's |1 * 1|
    return query, key, score


def make_codes(T: int, s: int, kind: str = "poly", seed: int = 0, width: int | None = None) -> SparseCodes:
    if kind == "poly":
        points = tuple(t - T // 2 for t in range(T))                     # centred integer points
        query, key, score = poly_bounds(points, s)
        if max(query, key) > EXACT_INT or score >= EXACT_SUM:
            top = max(query, key, score)
            raise BadInput(f"poly codes need integers up to ~{float(top):.3g} (2^{top.bit_length() - 1}),"
                           f" beyond exact float64 codes (2^53) and int64 scores (2^62);"
                           f" use --codes random --attention softmax (T = {T}, s = {s})")
        Q = np.array([[float(x ** e) for e in range(2 * s + 1)] + [1.0] for x in points])   # (T, 2s+2)
        start = np.zeros(2 * s + 2)
        start[-1] = -1.0
        return SparseCodes("poly", Q, start, 0.0, -1.0, 1.0, s, points=points, scale=-2)
    if kind == "random":
        m = width or max(16, int(math.ceil(8 * s * math.log(max(T, 2)))))
        rng = np.random.default_rng(seed)
        U = rng.choice([-1.0, 1.0], size=(T, m)) / math.sqrt(m)
        Q = np.concatenate([U, np.ones((T, 1))], axis=1)          # (T, m+1)
        start = np.zeros(m + 1)
        start[-1] = 0.75
        return SparseCodes("random", Q, start, 1.0, 0.75, 0.25, s, basis=U)
    raise BadInput(f"codes must be poly or random, got {kind!r}")


# --- packets -------------------------------------------------------------------------------
def encode(src: int, outbox, hashing: Hashing) -> np.ndarray:
    """Outbox ((dest, word), ...) of token ``src`` -> packet slots (d, F)."""
    P = np.zeros((hashing.d, F))
    for k, (dest, word) in enumerate(outbox):
        cols = np.flatnonzero(hashing.A[hashing.id_of(src, k)])
        P[cols] += (1.0, float(word), float(src), float(k), float(dest))
    return P


def decode(recv: np.ndarray, j: int, s: int, input_src: int | None = None) -> Inbox:
    """Averaged packet slots (d, F) at receiver ``j`` -> Rcvd_j as an inbox.  ``input_src``:
    for the init layer, report every message as coming from machine ``input_src`` (model
    convention) while ordering by the input position."""
    alpha = recv[:, 0]
    live = alpha > 1.0 / (2 * s + 2)
    if not live.any():
        return ()
    b = int(round(1.0 / alpha[live].min()))
    fields = np.rint(recv * b)                                       # (d, F)
    clean = live & (fields[:, 0] == 1) & (fields[:, 4] == j)
    got: dict[tuple[int, int], int] = {}
    for c in np.flatnonzero(clean):
        _, word, src, k, _ = (int(v) for v in fields[c])
        if got.setdefault((src, k), word) != word:
            raise ValueError(f"message ({src}, {k}) decodes to two different words at token {j}")
    order = sorted(got)
    if input_src is not None:
        return tuple((input_src, got[key]) for key in order)
    return tuple((src, got[(src, k)]) for src, k in order)


# --- the same maps on many tokens at once (the runtime's fast path; tests/mpc/test_mpc_batch.py) ---
ERRORS = ("ValueError", "OverflowError")          # what decode raises, by status code 1, 2
ONE_BY_ONE = 3                                    # status: decode this row with decode() itself
INT_SAFE = 2.0 ** 62                              # decoded fields are converted to int64 below this


def decode_batch(recv: np.ndarray, j: np.ndarray, s: int, input_layer: bool = False) -> np.ndarray:
    """:func:`decode` of n receivers at once: recv (n, w, F) averaged packet slots (any subset of
    the d slots, in any order, as long as every slot left out is exactly zero: a zero slot is never
    live), receivers j (n,) -> canonical memories (n, 2 + 2 m) int64: status (0; 1 + the index of
    the error in :data:`ERRORS`; :data:`ONE_BY_ONE` for a row holding a non-finite entry or a clean
    field beyond 2^62, which the caller decodes with :func:`decode` itself), count, then the (src,
    word) pairs in (src, k) order, zero padded (``input_layer``: src is the receiver, as
    ``decode(..., input_src=j)``).  The same numbers as :func:`decode`: live slots, b = round(1 /
    min alpha), ``rint(recv * b)``, clean slots, duplicates dropped, a conflict is a ValueError."""
    n, w, _ = recv.shape
    j = np.asarray(j, dtype=np.int64)
    slow = ~np.isfinite(recv).reshape(n, -1).all(axis=1)                  # (n,)
    R = np.where(slow[:, None, None], 0.0, recv)
    alpha = R[:, :, 0]                                                   # (n, w)
    live = alpha > 1.0 / (2 * s + 2)
    amin = np.where(live, alpha, np.inf).min(axis=1, initial=np.inf)     # (n,)
    with np.errstate(divide="ignore"):
        b = np.where(np.isfinite(amin), np.rint(1.0 / amin), 0.0)        # round(1 / min alpha)
    fields = np.rint(R * b[:, None, None])                               # (n, w, F)
    clean = live & (fields[:, :, 0] == 1) & (fields[:, :, 4] == j[:, None])
    r, c = np.nonzero(clean)
    wsk = fields[r, c, 1:4]                                              # (nnz, 3): word, src, k
    slow[r[np.abs(wsk).max(axis=1, initial=0.0) >= INT_SAFE]] = True
    keep = ~slow[r]
    r, wsk = r[keep], wsk[keep].astype(np.int64)
    word, src, k = wsk[:, 0], wsk[:, 1], wsk[:, 2]
    order = np.lexsort((k, src, r))                                      # by (row, src, k)
    r, word, src, k = r[order], word[order], src[order], k[order]
    same = np.zeros(len(r), dtype=bool)                                  # the same (row, src, k) as before
    same[1:] = (r[1:] == r[:-1]) & (src[1:] == src[:-1]) & (k[1:] == k[:-1])
    differ = np.zeros(len(r), dtype=bool)
    differ[1:] = word[1:] != word[:-1]
    status = np.where(slow, ONE_BY_ONE, 0)
    status[r[same & differ]] = 1                                         # two words: ValueError
    ok = ~same & (status[r] == 0)
    r, word, src = r[ok], word[ok], src[ok]
    count = np.bincount(r, minlength=n)
    out = np.zeros((n, 2 + 2 * int(count.max(initial=0))), dtype=np.int64)
    out[:, 0], out[:, 1] = status, count
    pos = np.arange(len(r)) - np.searchsorted(r, r)                      # index within its row
    out[r, 2 + 2 * pos] = j[r] if input_layer else src
    out[r, 3 + 2 * pos] = word
    return out


def memory_of(row: np.ndarray):
    """A canonical row of :func:`decode_batch` (status 0, 1 or 2) -> the inbox it stands for, or
    ``("error", name)`` (what the trace records when :func:`decode` raises)."""
    if row[0]:
        return ("error", ERRORS[int(row[0]) - 1])
    it = iter(row[2:2 + 2 * int(row[1])].tolist())
    return tuple(zip(it, it))


def decode_safe(recv: np.ndarray, j: int, s: int, input_layer: bool = False):
    """:func:`decode`, with what it raises as ``("error", name)``, as the trace records it."""
    try:
        return decode(recv, j, s, input_src=j if input_layer else None)
    except Exception as e:                 # a corrupted memory: report, do not crash
        return ("error", type(e).__name__)


def encode_batch(src: np.ndarray, dest: np.ndarray, word: np.ndarray, length: np.ndarray,
                 hashing: Hashing) -> np.ndarray:
    """:func:`encode` of n outboxes at once: senders src (n,), outboxes as dest, word (n, m) with
    ``length`` (n,) valid entries -> packet slots (n, d, F).  The packets are added in send order
    k = 0, 1, ..., the additions :func:`encode` makes (a slot outside a message's columns adds 0)."""
    n, m = dest.shape
    P = np.zeros((n, hashing.d, F))
    src = np.asarray(src, dtype=np.int64)
    for k in range(m):
        has = length > k
        if not has.any():
            break
        ids = np.where(src < hashing.q, src * hashing.s + k, hashing.q * hashing.s + src - hashing.q)
        rows = hashing.A[np.where(has, ids, 0)] * has[:, None]                     # (n, d) 0/1
        packet = np.stack([np.ones(n), word[:, k].astype(np.float64), src.astype(np.float64),
                           np.full(n, float(k)), dest[:, k].astype(np.float64)], axis=1)   # (n, F)
        P += rows[:, :, None] * packet[:, None, :]
    return P

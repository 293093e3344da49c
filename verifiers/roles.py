"""Roles of the SHT constructions as pointers, the probe inputs, and the SHT24a App. G.2 score
(pure numpy; :mod:`attncheck.verifiers.inspect` scores every head against them).

Shape glossary: B inputs, N positions (1-indexed as in the papers), T = N + 1 rows (row 0 = the
start row).  ``X`` (B, N) int symbols 0..|Sigma|-1.

Roles.  A role is a pointer ``g``: for each query position i = 1..N of an input X a target
position ``g(i)`` in 0..N (0 = the start row).  The roles of the SHT constructions:

* ``prev``: ``g(i) = i - 1`` (the start row for i = 1): the layer-1 head of the induction and
  k-hop constructions (SHT24a Lemma D.1 lookup with query ``pos[i-1]``, ``lemma.sht24a.D1``).
* ``self``: ``g(i) = i``.
* ``start``: ``g(i) = 0``, the default key of SHT24a App. A.1 (where a head "parks").
* ``last_occurrence``: ``j* = max{j < i : X_j = X_i}``, 0 when X_i has not occurred before: the
  previous occurrence of the current token itself.
* ``find^1``: ``find^1_X(i) = max({0} U {j : 2 <= j <= i, X_{j-1} = X_i})`` (SHT24a Def 4.1),
  i.e. ``j* + 1`` when j* exists, else 0.  SHT24a Lemma D.2's layer-2 head of the induction
  construction (``lemma.sht24a.D2``) attends here, one position after the last occurrence (the
  key it matches is ``X[j-1]``, written by the prev head); its value there is the answer.
* ``find^t = find^1 o find^(t-1)`` (0 absorbing), for the k-hop task t = 2^m, m = 1..max(ceil(log2 k),
  L - 2): layer l >= 3 of the (2 + ceil(log2 k))-layer construction attends ``find^(2^(l-3))(i)``
  (``sht24a.thm4_2``; layers 1 and 2 are prev and find^1), and SHT24a Claim G.2 (``sht24a.emp``)
  pairs layer l of a trained L-layer model with ``find^(2^(l-2))``.

A construction whose heads carry promises (ours) adds any other pointer a promise intends
(:func:`attncheck.verifiers.semantics.compose`) as a role of its own name.

Every target function here is cross-checked against the plain-Python ground truth of
:mod:`attncheck.constructions.tasks` (``find1``, ``find1_table``, ``find``, ``hop``) in
tests/interop/test_inspect.py.
"""
from __future__ import annotations

import numpy as np

from attncheck.constructions.verdict import BadInput
from attncheck.verifiers.mechanism import pointer_text, probe_inputs

#: Definitions printed with the report (docs/inspect.md has the sources).
ROLE_TEXT = {
    "prev": "i-1 (SHT24a Lemma D.1 lookup of pos[i-1]; layer 1 of the constructions)",
    "self": "i",
    "start": "0, the start row (App. A.1 default key)",
    "last_occurrence": "max{j < i : X_j = X_i}, else 0",
    "find^1": "find^1(i) = last_occurrence + 1, else 0 (Def 4.1; Lemma D.2's layer-2 head)",
}


def role_text(name: str) -> str:
    """The definition of role ``name`` printed with a report."""
    if name in ROLE_TEXT:
        return ROLE_TEXT[name]
    if name.startswith("find^") and name[5:].isdigit():
        return f"find^1 applied {name[5:]} times, 0 absorbing (Def 4.1; the k-hop layers, Claim G.2)"
    return f"a pointer a promise intends: {name}"


def role_names(task: str, params: dict | None = None, layers: int = 0) -> tuple[str, ...]:
    """The roles of ``task``: prev, self, start, last_occurrence, find^1, and for ``hop`` also
    find^(2^m) for m = 1..max(ceil(log2 k), layers - 2) -- the powers our construction's layers
    use, and those SHT24a Claim G.2 pairs with layer l of a trained model (find^(2^(l-2)))."""
    names = ["prev", "self", "start", "last_occurrence", "find^1"]
    if task == "hop":
        k = int((params or {}).get("k", 1))
        top = max(max(0, k - 1).bit_length(), layers - 2)
        names += [f"find^{1 << m}" for m in range(1, top + 1)]
    return tuple(names)


#: Probe distributions: ``uniform`` (every sequence) and ``no-repeat`` (no two equal consecutive
#: tokens, the input distribution of ``task.hopk.multi``, SHT24a App. G.1).
PROBES = ("uniform", "no-repeat")


def probe_set(N: int, V: int, count: int, seed: int, probes: str = "uniform") -> np.ndarray:
    """(count, N) probe inputs: :func:`attncheck.verifiers.mechanism.probe_inputs` (structured,
    then seeded uniform), or for ``no-repeat`` the cycle 0, 1, ..., V-1, 0, ... then seeded
    sequences whose every token differs from the one before (uniform among the V - 1 others)."""
    if probes == "uniform":
        return probe_inputs(N, V, count, seed)
    if probes != "no-repeat":
        raise BadInput(f"probes must be one of {', '.join(PROBES)}, got {probes!r}")
    if V < 2:
        raise BadInput("no-repeat probes need an alphabet of at least 2 symbols")
    rng = np.random.default_rng(seed)
    X = np.empty((count, N), dtype=np.int64)
    X[0] = np.arange(N) % V
    X[1:, 0] = rng.integers(0, V, size=count - 1)
    for t in range(1, N):
        X[1:, t] = (X[1:, t - 1] + 1 + rng.integers(0, V - 1, size=count - 1)) % V
    return X


def ops_role(ops) -> str:
    """The role name of a promise's pointer ops: () -> self, shift -1 -> prev, find t -> find^t,
    anything else its pointer text (``find^2(i-1)``)."""
    ops = tuple(ops)
    if not ops:
        return "self"
    if ops == (("shift", -1),):
        return "prev"
    if len(ops) == 1 and ops[0][0] == "find":
        return f"find^{ops[0][1]}"
    return pointer_text(ops)


def last_occurrence(X: np.ndarray) -> np.ndarray:
    """(B, N) -> (B, N): ``max{j < i : X_j = X_i}`` (1-indexed), 0 when none."""
    X = np.asarray(X, dtype=np.int64)
    B, N = X.shape
    last = np.zeros((B, int(X.max(initial=0)) + 1), dtype=np.int64)   # symbol -> latest position
    out = np.empty((B, N), dtype=np.int64)
    rows = np.arange(B)
    for i in range(N):
        out[:, i] = last[rows, X[:, i]]
        last[rows, X[:, i]] = i + 1
    return out


def find_table(X: np.ndarray) -> np.ndarray:
    """(B, N) -> (B, T): ``find^1(i)`` for i = 0..N (0 -> 0)."""
    lo = last_occurrence(X)
    return np.concatenate([np.zeros((lo.shape[0], 1), np.int64), np.where(lo > 0, lo + 1, 0)], axis=1)


def pointer_targets(ops, X: np.ndarray) -> np.ndarray:
    """Positions ``ops(i)`` for i = 1..N of every input: X (B, N) -> (B, N).  ``("shift", d)``:
    i + d clipped at 0; ``("find", t)``: t steps of find^1."""
    B, N = np.shape(X)
    p = np.broadcast_to(np.arange(1, N + 1), (B, N)).copy()
    table = None
    for name, arg in ops:
        if name == "shift":
            p = np.maximum(0, p + arg)
        else:
            table = find_table(X) if table is None else table
            for _ in range(arg):
                p = np.take_along_axis(table, p, axis=1)
    return p


def role_targets(name: str, X: np.ndarray, extra: dict | None = None) -> np.ndarray:
    """Target positions of role ``name`` on inputs X (B, N) -> (B, N).  ``extra``: role name ->
    pointer ops of roles a construction adds."""
    X = np.asarray(X, dtype=np.int64)
    if name == "start":
        return np.zeros(X.shape, dtype=np.int64)
    if name == "last_occurrence":
        return last_occurrence(X)
    if extra and name in extra:
        return pointer_targets(extra[name], X)
    if name == "prev":
        return pointer_targets((("shift", -1),), X)
    if name == "self":
        return pointer_targets((), X)
    if name.startswith("find^") and name[5:].isdigit():
        return pointer_targets((("find", int(name[5:])),), X)
    raise ValueError(f"unknown role {name!r}")


def alignment(A: np.ndarray, B: np.ndarray) -> float:
    """SHT24a App. G.2: ``||A o B||_F^2 / (||A||_F ||B||_F)`` (0 when either is zero)."""
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    den = np.linalg.norm(A) * np.linalg.norm(B)
    return float(np.sum((A * B) ** 2) / den) if den > 0 else 0.0



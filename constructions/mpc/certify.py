"""A certificate that a routing head delivers *every* valid routing (``lemma.sht24a.3_2``).

The transformer of :mod:`simulate` runs the protocol's own local functions in its element-wise
maps, so it equals the protocol on every input once each routing layer maps every valid
(s-bounded) Sent to Rcvd.  For the sparse-propagation head that follows from four finite facts,
checked here on the head's actual weights [R]:

1. *structure*: W_Q reads only ``qcode``, W_K only ``kcode``, and ``W_V W_O`` copies ``send`` onto
   ``recv`` (so attention output = average of the attended tokens' packets);
2. *scores*: for every receiver token t and every destination set S (|S| <= s), a sender whose S
   contains t scores exactly the sender score, the start token sits ``margin`` below, and a
   sender that does not target t sits ``margin`` below the start token -- enumerated over all
   ``T * sum_k C(q, k)`` pairs;
3. *covering*: the hashing matrix A isolates every message among any b = s^2 messages
   (Fact B.2; one-hot A: every row owns a column);
4. *arithmetic*: hardmax with exact ties decodes exactly; softmax leaks at most
   ``T e^{-c margin}`` of the mass, and the decoder tolerates a relative error below 1/(4 s v_max).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.covering import covering_cost, covers, private_columns
from attncheck.constructions.primitives import place, select
from attncheck.constructions.spec import Head

MAX_SCORE_PAIRS = 3_000_000
MAX_COVER_PAIRS = 2_000_000


@dataclass(frozen=True)
class RoutingCertificate:
    """``ok``: True (all four hold), False (one fails, ``reason`` says which), None (a check was
    too large to run)."""

    ok: bool | None
    checks: dict
    reason: str = ""

    def to_json(self) -> dict:
        return {"ok": self.ok, "reason": self.reason, "checks": self.checks}


def _only_rows(W: np.ndarray, sl: slice) -> bool:
    mask = np.ones(W.shape[0], dtype=bool)
    mask[sl] = False
    return not np.any(W[mask])


def score_table(sim, head: Head) -> dict:
    """Check fact 2 over every (receiver, destination set); returns counts and the worst case."""
    lim, lay, C = sim.protocol.limits, sim.layout, sim.codes
    T, s = sim.tokens, lim.s
    n_sets = sum(math.comb(lim.q, k) for k in range(min(s, lim.q) + 1))
    pairs = n_sets * T
    if pairs > MAX_SCORE_PAIRS:
        return {"checked": False, "pairs": pairs, "limit": MAX_SCORE_PAIRS}
    rows = np.zeros((T, lay.width))
    rows[:, lay["qcode"].sl] = C.queries
    q = rows @ head.W_Q                                                  # (T, dq)
    sets = [S for k in range(min(s, lim.q) + 1) for S in itertools.combinations(range(lim.q), k)]
    keys = np.zeros((len(sets), lay.width))
    for n, S in enumerate(sets):
        keys[n, lay["kcode"].sl] = C.key(S)
    k = keys @ head.W_K                                                  # (n_sets, dq)
    scores = head.temperature * (q @ k.T)                                # (T, n_sets)
    start = float(head.temperature * (q @ (sim.start_row @ head.W_K)).max())
    start_min = float(head.temperature * (q @ (sim.start_row @ head.W_K)).min())
    member = np.zeros_like(scores, dtype=bool)
    for n, S in enumerate(sets):
        member[list(S), n] = True
    member = member[:T]
    gap = head.temperature * C.margin
    in_s = scores[member]
    out_s = scores[~member]
    tol = 0.0 if C.kind == "poly" else 1e-9 * head.temperature
    sender = head.temperature * C.sender_score
    worst_tie = float(np.max(np.abs(in_s - sender))) if in_s.size else 0.0
    ok = (worst_tie <= tol and (not in_s.size or start <= in_s.min() - gap + 1e-9)
          and (not out_s.size or out_s.max() <= start_min - gap + 1e-9))
    return {"checked": True, "ok": bool(ok), "pairs": int(scores.size), "sets": len(sets),
            "sender_score": sender, "start_score": start,
            "min_sender": float(in_s.min()) if in_s.size else None,
            "max_non_sender": float(out_s.max()) if out_s.size else None,
            "tie_spread": worst_tie, "required_gap": gap}


def certify(sim, head: Head | None = None, attention: str = "hardmax") -> RoutingCertificate:
    head = sim.layers[0].head if head is None else head
    lay, lim = sim.layout, sim.protocol.limits
    checks: dict = {}
    copy = select(lay, ["send"]) @ place(lay, ["recv"])
    checks["structure"] = bool(_only_rows(head.W_Q, lay["qcode"].sl)
                               and _only_rows(head.W_K, lay["kcode"].sl)
                               and np.array_equal(head.W_V @ head.W_O, copy))
    checks["scores"] = score_table(sim, head)
    A, b = sim.hashing.A, sim.hashing.b
    if sim.hashing.kind == "onehot" or private_columns(A):
        checks["covering"] = {"checked": True, "ok": private_columns(A), "how": "private columns"}
    elif covering_cost(A.shape[0], b) <= MAX_COVER_PAIRS:
        ok, wit = covers(A, b)
        checks["covering"] = {"checked": True, "ok": ok, "how": f"brute force, b = {b}",
                              "witness": None if wit is None else [wit[0], list(wit[1])]}
    else:
        checks["covering"] = {"checked": False, "how": "brute force too large",
                              "pairs": covering_cost(A.shape[0], b)}
    if attention == "hardmax":
        checks["arithmetic"] = {"checked": True, "ok": sim.codes.kind == "poly",
                                "how": "exact integer scores, exact ties"}
    else:
        v_max = float(max(lim.word_max, sim.tokens, lim.s)) * lim.s
        leak = (sim.tokens + 1) * math.exp(-head.temperature * sim.codes.margin)
        checks["arithmetic"] = {"checked": True, "ok": leak * 2 * v_max * lim.s < 0.25,
                                "leak_bound": leak, "how": "softmax leakage bound"}
    parts = [checks["structure"], checks["scores"], checks["covering"], checks["arithmetic"]]
    failed = [name for name, c in zip(("structure", "scores", "covering", "arithmetic"), parts)
              if (c is False) or (isinstance(c, dict) and c.get("checked") and not c.get("ok"))]
    unchecked = [name for name, c in zip(("scores", "covering"), parts[1:3]) if not c.get("checked")]
    if failed:
        return RoutingCertificate(False, checks, "fails: " + ", ".join(failed))
    if unchecked:
        return RoutingCertificate(None, checks, "not checked (too large): " + ", ".join(unchecked))
    return RoutingCertificate(True, checks, "routing head delivers every valid routing")

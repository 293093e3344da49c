"""A certificate that the routing heads deliver *every* valid routing (``lemma.sht24a.3_2``).

Shape glossary: T tokens (residual rows 1..T, row 0 = start), D residual width, d packet slots,
F = 5 packet fields, dq query/key width, n_sets destination sets of size <= s.

The transformer of :mod:`attncheck.constructions.mpc.simulate` runs the protocol's own local functions in its element-wise
maps, so it equals the protocol on every input once each layer's routing head maps every valid
(s-bounded) Sent to Rcvd.  That follows from these facts, each *proved from the numbers* the
simulation runs (weights, codes, start row, hashing matrix, layout offsets, the protocol's
limits q, s, p) -- never from labels such as ``codes.kind``, ``codes.margin``, ``hashing.b`` or
``hashing.kind`` [R]:

0. *maps*: every layer's map writes with the simulation's layout, hashing matrix and key map
   and runs its protocol (``LocalMap`` carries them as data).
1. *layout*: slots qcode, kcode, input, send, recv, fault are disjoint, inside D, with widths
   dq, dq, 1, F d, F d, 1 -- so the map's writes never touch the queries the embedding placed.
2. *structure* (every layer's head): W_Q reads only qcode, W_K only kcode, W_V only send, W_O
   writes only recv, and ``W_V[send] W_O[:, recv]`` is the identity up to ``copy_error`` (an
   inf-norm bound, float64 rounding of the product path included; computed by composing the two
   selections when both are selections, else by the dense product).
3. *start*: the start row's value ``start_row W_V W_O`` is exactly 0 (receivers nobody targets
   read zeros).
4. *scores* (:mod:`attncheck.verifiers.mpc_scores`): for every receiver token t and every
   destination set S (|S| <= s), from the actual queries, keys and weights: senders (t in S)
   score within ``spread`` of each other, the start row at least ``gap`` below every sender and
   every non-sender at least ``gap`` below the start row (both measured, > 0) -- proved for
   all ``T * sum_k C(q, k)`` pairs at once from the factored form of poly keys (O(q T)), or
   enumerated pair by pair.
5. *ids*: the hashing's message ids (src, k) of every valid message are distinct rows of A.
6. *covering*: A isolates every message among any b = min(s^2, n) messages (Fact B.2), b
   derived from the protocol's s, not stored.
7. *arithmetic*: float64 (``exact``) only.  Hardmax: exact ties and order, either because every
   query and key the head can see is an integer (at most 2^53) with ``sum_d max|q_d| max|k_d|
   <= 2^60`` -- the runtime (:mod:`attncheck.verifiers.mpc_attend`) then computes every score
   exactly in int64 -- with spread 0 and a positive integer gap, or because queries, keys and
   the two weight blocks are dyadic and every score, so scaled, is an integer sum below 2^51
   (float64 forms it exactly in any order).  Softmax: the l1 distance of attention from
   uniform-on-senders is at most ``2 (T+1) e^{-gap} + (e^{spread} - 1)``.  Either way the
   per-field error of the averaged packets (attention, copy error, float64 rounding; field
   magnitudes from q, s, p, T) stays below what
   :func:`~attncheck.constructions.mpc.routing.decode` tolerates: ``1/(2 s^2 + s)`` on the count
   field, ``1/(2 s)`` on the others, and every integer it rounds stays below 2^50.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.routing import F
from attncheck.constructions.mpc.simulate import RoundLocal
from attncheck.constructions.spec import Head
from attncheck.constructions.precision import EXACT, Format
from attncheck.verifiers.mpc_attend import as_selection
from attncheck.verifiers.mpc_covering import covering_cost, covers, private_columns
from attncheck.verifiers.mpc_scores import score_facts

MAX_COVER_PAIRS = 2_000_000
U64 = 2.0 ** -53


def gamma(n: int) -> float:
    """``n u / (1 - n u)``: relative error bound of an n-term float64 sum of products."""
    return n * U64 / (1.0 - n * U64)


@dataclass(frozen=True)
class RoutingCertificate:
    """``ok``: True (all facts hold), False (one fails, ``reason`` says which), None (a check was
    too large to run)."""

    ok: bool | None
    checks: dict
    reason: str = ""

    def to_json(self) -> dict:
        return {"ok": self.ok, "reason": self.reason, "checks": self.checks}


def _outside(W: np.ndarray, sl: slice, axis: int) -> bool:
    """True iff W is zero outside rows (axis 0) or columns (axis 1) ``sl``."""
    mask = np.ones(W.shape[axis], dtype=bool)
    mask[sl] = False
    return not np.any(W[mask] if axis == 0 else W[:, mask])


# --- facts 1, 5: layout and ids ---------------------------------------------------------------------
def layout_check(sim) -> dict:
    """Fact 1: disjoint slots of the widths the codes and packets need."""
    lay, C, d = sim.layout, sim.codes, sim.hashing.d
    want = {"qcode": C.width, "kcode": C.width, "input": 1, "send": F * d, "recv": F * d, "fault": 1}
    try:
        slots = {n: lay[n] for n in want}
    except KeyError as e:
        return {"ok": False, "why": f"slot {e} missing"}
    bad = [f"{n} has width {s.width}, needs {want[n]}" for n, s in slots.items() if s.width != want[n]]
    spans = sorted((s.start, s.stop, n) for n, s in slots.items())
    bad += [f"{a} and {b} overlap" for (_, e1, a), (s2, _, b) in zip(spans, spans[1:]) if s2 < e1]
    bad += [f"{n} outside 0..{lay.width}" for n, s in slots.items() if s.start < 0 or s.stop > lay.width]
    if C.queries.shape != (sim.tokens, C.width):
        bad.append(f"queries have shape {C.queries.shape}, not (T = {sim.tokens}, {C.width})")
    if sim.start_row.shape != (lay.width,):
        bad.append(f"start row has shape {sim.start_row.shape}")
    return {"ok": not bad, "why": "; ".join(bad) or "disjoint slots of the needed widths"}


def maps_check(sim) -> dict:
    """Fact 0: every layer's map reads and writes with the simulation's own layout, hashing matrix
    and key map (``LocalMap.layout/hashing/codes``, compared entry by entry), and a round map runs
    the simulation's protocol -- so the facts below, read from ``sim``, are about what the maps
    write.  (An edit of ``sim.hashing`` alone used to leave the maps writing with the old matrix
    while the certificate checked the new one.)"""
    bad = []
    for li, layer in enumerate(sim.layers):
        m = layer.map
        if m.layout is None or m.hashing is None or m.codes is None:
            bad.append(f"layer {li}: the map does not say what it writes with")
            continue
        if m.layout != sim.layout:
            bad.append(f"layer {li}: the map's layout is not the simulation's")
        H, G = m.hashing, sim.hashing
        if not (H is G or (H.q, H.s) == (G.q, G.s) and np.array_equal(H.A, G.A)):
            bad.append(f"layer {li}: the map hashes with another matrix")
        if not _same_keys(m.codes, sim.codes):
            bad.append(f"layer {li}: the map writes other key codes")
        local = m.local
        if isinstance(local, RoundLocal) and local.protocol is not sim.protocol:
            bad.append(f"layer {li}: the map runs another protocol")
    return {"ok": not bad, "why": "; ".join(bad) or "every map writes with the simulation's layout,"
                                                    " hashing and key map"}


def _same_keys(a, b) -> bool:
    """Whether two code objects compute the same key map ``S -> w_S``."""
    if a is b:
        return True
    same_basis = (a.basis is None) == (b.basis is None) and (a.basis is None or np.array_equal(a.basis, b.basis))
    return (a.kind, a.max_set, tuple(a.points), a.scale, a.width) == \
        (b.kind, b.max_set, tuple(b.points), b.scale, b.width) and same_basis


def ids_check(sim) -> dict:
    """Fact 5: every valid message (src, k) -- k < s for machines, k = 0 for pad tokens -- has
    its own row of A."""
    H, lim, T = sim.hashing, sim.protocol.limits, sim.tokens
    pairs = [(t, k) for t in range(T) for k in range(lim.s if t < lim.q else 1)]
    ids = [H.id_of(t, k) for t, k in pairs]
    n = H.A.shape[0]
    ok = len(set(ids)) == len(ids) and all(0 <= i < n for i in ids)
    return {"ok": ok, "messages": len(ids), "rows": n,
            "why": "distinct rows" if ok else "two messages share a row of A, or an id is outside A"}


# --- facts 2, 3: structure and start value ------------------------------------------------------
def structure_check(sim, head: Head) -> dict:
    """Fact 2 for one head; ``copy_error`` bounds ``max_f sum_k |(W_V W_O - I)_{kf}|`` (the
    inf-norm error of one averaged field per unit of field magnitude), float64 product included."""
    lay = sim.layout
    mats = (head.W_Q, head.W_K, head.W_V, head.W_O)
    if any(W.ndim != 2 for W in mats) or not all(np.all(np.isfinite(W)) for W in mats):
        return {"ok": False, "why": "index-specific or non-finite weights"}
    reads = {"W_Q reads only qcode": _outside(head.W_Q, lay["qcode"].sl, 0),
             "W_K reads only kcode": _outside(head.W_K, lay["kcode"].sl, 0),
             "W_V reads only send": _outside(head.W_V, lay["send"].sl, 0),
             "W_O writes only recv": _outside(head.W_O, lay["recv"].sl, 1)}
    A, B = head.W_V[lay["send"].sl], head.W_O[:, lay["recv"].sl]                 # (Fd, dv), (dv, Fd)
    err, absum = _copy_columns(A, B)
    fl = gamma(A.shape[1] + 1) * absum
    copy_error = float(err + fl) * (1 + 1e-12)
    ok = all(reads.values())
    return {"ok": ok, "copy_error": copy_error, "why": ", ".join(k for k, v in reads.items() if not v)
            or "each matrix touches only its slot"}


def _copy_columns(A: np.ndarray, B: np.ndarray) -> tuple[float, float]:
    """``(max_f sum_k |(A B - I)_kf|, max_f sum_k (|A| |B|)_kf)``.  When A and B are signed
    selections (proved from their entries) column f of A B is ``sB[f] sA[p] e_{colA[p]}`` with
    ``p = colB[f]`` -- the same numbers as the dense product, in O(Fd) instead of O((Fd)^3)."""
    sa, sb = as_selection(A), as_selection(B)
    if sa is None or sb is None or A.shape[0] != B.shape[1]:
        M = A @ B
        eye = np.eye(M.shape[0], M.shape[1])
        return (float(np.abs(M - eye).sum(axis=0).max(initial=0.0)),
                float((np.abs(A) @ np.abs(B)).sum(axis=0).max(initial=0.0)))
    f = np.arange(B.shape[1])
    p = sb.col                                                                    # (Fd,)
    sign = sb.sign * sa.sign[p]                                                   # 0 where either is empty
    row = sa.col[p]
    err = np.where(sign == 0, 1.0, np.where(row == f, np.abs(sign - 1.0), np.abs(sign) + 1.0))
    return float(err.max(initial=0.0)), float(np.abs(sign).max(initial=0.0))


def start_check(sim, head: Head) -> dict:
    """Fact 3: the start row contributes the value 0 exactly."""
    v = sim.start_row @ head.W_V @ head.W_O
    return {"ok": bool(not np.any(v)), "why": "start value is 0" if not np.any(v) else
            f"start value has {int(np.count_nonzero(v))} nonzero coordinates"}


# --- fact 4: scores (verifiers/mpc_scores.py) -------------------------------------------------------
def score_table(sim, head: Head) -> dict:
    """Fact 4 over every (receiver, destination set): the structured proof for poly codes, else
    the enumeration (:func:`attncheck.verifiers.mpc_scores.score_facts`)."""
    return score_facts(sim, head)


# --- fact 7: arithmetic ---------------------------------------------------------------------------
def field_magnitude(sim) -> tuple[float, float]:
    """(largest count, largest other field) of one token's packet slot: at most s messages of
    one sender share a slot; fields are word <= 2^p - 1, src < T, k < s, dest < q."""
    lim = sim.protocol.limits
    return float(lim.s), float(lim.s * max(lim.word_max, sim.tokens - 1, lim.s - 1, lim.q - 1, 1))


def arithmetic_check(sim, head: Head, scores: dict, structure: dict, attention: str, fmt: Format) -> dict:
    """Fact 7: the averaged packets are within the decoder's tolerance of the exact average."""
    if not fmt.is_exact:
        return {"checked": True, "ok": False, "why": f"{fmt}: only float64 ('exact') routing is certified"}
    lim, T = sim.protocol.limits, sim.tokens
    cmax, vmax = field_magnitude(sim)
    if attention == "hardmax":
        exact = bool(scores.get("exact_order"))
        l1 = 0.0 if exact else math.inf
        how = (("exact int64 scores (integers, sums <= 2^60): exact ties, exact order" if scores.get("int_path")
                else "dyadic scores below 2^51: exact ties, exact order in float64") if exact else
               "hardmax ties unproven: scores are neither exact integers with zero spread and a positive"
               " gap nor dyadic sums below 2^51")
    else:
        gap, spread = scores["gap"], scores["spread"]
        l1 = math.inf if not (gap > 0 and spread < 30) else \
            2.0 * (T + 1) * math.exp(-min(gap, 700.0)) + math.expm1(spread)
        how = "softmax leakage 2 (T+1) e^-gap + (e^spread - 1)"
    fl = gamma(T + head.W_V.shape[1] + 8) * 2.0 * vmax
    common = structure["copy_error"] * vmax + fl
    err_count, err_field = l1 * cmax + common, l1 * vmax + common
    tol_count, tol_field = 1.0 / (2 * lim.s * lim.s + lim.s), 1.0 / (2 * lim.s)
    sums_ok = lim.s * vmax < 2.0 ** 50
    ok = bool(err_count < tol_count and err_field < tol_field and sums_ok)
    return {"checked": True, "ok": ok, "how": how, "attention_l1": l1, "error_count": err_count,
            "error_field": err_field, "tolerance_count": tol_count, "tolerance_field": tol_field,
            "why": "" if ok else ("field sums reach 2^50" if not sums_ok else "errors exceed the decoder's tolerance")}


# --- fact 6 and the whole certificate ---------------------------------------------------------------
def covering_check(sim) -> dict:
    """Fact 6 with b = min(s^2, rows of A) from the protocol's s."""
    A, s = sim.hashing.A, sim.protocol.limits.s
    b = min(s * s, A.shape[0])
    if private_columns(A):
        return {"checked": True, "ok": True, "how": "private columns (every b)", "b": b}
    if covering_cost(A.shape[0], b) > MAX_COVER_PAIRS:
        return {"checked": False, "how": "brute force too large", "b": b, "pairs": covering_cost(A.shape[0], b)}
    ok, wit = covers(A, b)
    return {"checked": True, "ok": ok, "how": f"brute force, b = {b}", "b": b,
            "witness": None if wit is None else [wit[0], list(wit[1])]}


def _heads(sim, head: Head | None, heads) -> list[Head]:
    """The distinct heads the layers run: ``heads`` (one per layer), else ``head`` for every
    layer, else each layer's own head."""
    hs = list(heads) if heads is not None else [head] * len(sim.layers) if head is not None \
        else [layer.head for layer in sim.layers]
    out: list[Head] = []
    for h in hs:
        if all(h is not o for o in out):
            out.append(h)
    return out


def certify(sim, head: Head | None = None, attention: str = "hardmax", fmt: Format = EXACT,
            heads=None) -> RoutingCertificate:
    """Check facts 0-7 for every distinct head the layers run (see :func:`_heads`)."""
    checks: dict = {"layout": layout_check(sim), "maps": maps_check(sim), "ids": ids_check(sim)}
    for name in ("layout", "maps"):
        if not checks[name]["ok"]:
            return RoutingCertificate(False, checks, f"fails: {name}")
    per_head = []
    for h in _heads(sim, head, heads):
        st = structure_check(sim, h)
        entry = {"structure": st, "start": start_check(sim, h) if st["ok"] else {"ok": False, "why": "skipped"}}
        entry["scores"] = score_table(sim, h) if st["ok"] else {"checked": True, "ok": False, "why": "skipped"}
        entry["arithmetic"] = (arithmetic_check(sim, h, entry["scores"], st, attention, fmt)
                               if st["ok"] and entry["scores"].get("checked") else
                               {"checked": entry["scores"].get("checked", True), "ok": False, "why": "skipped"})
        per_head.append(entry)
    checks["heads"] = per_head
    checks["covering"] = covering_check(sim)
    for name in ("structure", "start", "scores", "arithmetic"):          # flat view: the worst head
        checks[name] = next((e[name] for e in per_head if not e[name].get("ok")), per_head[0][name])
    named = {"ids": checks["ids"], "structure": checks["structure"], "start": checks["start"],
             "scores": checks["scores"], "covering": checks["covering"], "arithmetic": checks["arithmetic"]}
    unchecked = [n for n, c in named.items() if c.get("checked") is False]
    failed = [n for n, c in named.items() if c.get("checked") is not False and not c.get("ok")]
    if failed:
        return RoutingCertificate(False, checks, "fails: " + ", ".join(failed))
    if unchecked:
        return RoutingCertificate(None, checks, "not checked (too large): " + ", ".join(unchecked))
    return RoutingCertificate(True, checks, "routing heads deliver every valid routing")

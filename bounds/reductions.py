"""Reductions checked as finite identities (docs/theorems.md section 9.1).

Each lower bound in docs/theorems.md moves hardness from a communication or graph problem into a
sequence task through an *encoding*.  On small instances the encoding's correctness is a
finite identity, checked here case by case against the plain-Python ground truth of
constructions/tasks.py:

==============  ==========================  ================================================
id              theorem                     identity
==============  ==========================  ================================================
index-ih        sht24b.one-layer-ih-lb [R]  x = (b_1,a_1,..,b_n',a_n',?), b_i* = ? -> tau_N = a_i*
index-stream    sht23.rnn-ih [R]            x = (m_1,a_1,..,m_n',a_n',m_i*)       -> tau_N = a_i*
pointer-hop     sht24a.propE_4 [P, R]       hop_k(X)_N = 2q+1 iff the chased pointer is in V1
cycle-gadget    sht24a.cor4_3 [P, R]        hop_k(X)_N = 1 iff G is two k/2-cycles (C2)
disj-qsa        sht23.thm4 [S]              qSA(X)_{2q+1} = (2|a&b| - q)/q e_1; = -e_1 iff DISJ
cycle-gluing    sht24a.cor3_5 [P, R]        glued G' connected iff G = C1; diam <= n+2; |E'| <= N
==============  ==========================  ================================================

A check enumerates every instance when there are at most ``EXHAUSTIVE_CAP`` of them (verdict
VERIFIED), otherwise it draws seeded samples (verdict UNKNOWN: a sample is never a proof).
Encoders are plain functions so that tests can hand a broken one to :func:`check` and watch
it be refuted.
"""
from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from attncheck.bounds.reduction_instances import (count_one_vs_two, diameters,
                                                  disj_qsa_encode, gadget_encode, glue,
                                                  index_ih_encode, index_stream_encode,
                                                  one_vs_two_cycles, pointer_hop_encode,
                                                  random_one_vs_two)
from attncheck.constructions.tasks import (cycle_count, disj, hop, induction_heads,
                                           pointer_chasing, qsa)
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method, Status,
                                         Verdict)

EXHAUSTIVE_CAP = 500_000       # auto mode enumerates up to this many instances (a few seconds)
HARD_CAP = 5_000_000           # --mode exhaustive refuses beyond this (estimate first)

Instance = Any
#: identity(instance, params, encode) -> (ok, tokens, expected, got, detail)
Identity = Callable[[Instance, dict, Callable], tuple[bool, list, Any, Any, dict]]


# --- identities -----------------------------------------------------------------------------
def _id_index(inst, p, encode):
    a, i = inst
    x = encode(a, i)
    got = induction_heads(x)[-1]
    return got == a[i - 1], x, a[i - 1], got, {"a": list(a), "i": i}


def _id_pointer(inst, p, encode):
    matchings, first_half = inst
    q, k = p["q"], p["k"]
    x = encode(matchings, first_half, q)
    want = 2 * q + 1 if pointer_chasing(matchings, 0, first_half) == 1 else 2 * q + 2
    got = hop(x, k)[-1]
    return got == want, x, want, got, {"matchings": [list(m) for m in matchings],
                                       "first_half": sorted(first_half)}


def _id_gadget(inst, p, encode):
    label, edges = inst
    k = p["k"]
    x = encode(edges, k, p.get("N"))
    want = 1 if cycle_count(edges) == 2 else "not 1"
    got = hop(x, k)[-1]
    ok = (got == 1) == (cycle_count(edges) == 2)
    return ok, x, want, got, {"graph": "C2" if label == 2 else "C1", "edges": [list(e) for e in edges]}


def _id_disj(inst, p, encode):
    a, b = inst
    q = len(a)
    z, y = encode(a, b)
    got = qsa(z, y)[2 * q][0]
    inter = sum(1 for ai, bi in zip(a, b) if ai and bi)
    want = (2 * inter - q) / q
    ok = abs(got - want) < 1e-12 and (abs(got + 1) < 1e-12) == bool(disj(a, b)) \
        and (disj(a, b) or got >= -1 + 2 / q - 1e-12)        # margin 2/q > 2 eps, eps = 1/(2q)
    return ok, [int(v) for v in a] + [int(v) for v in b], want, got, {"a": list(a), "b": list(b)}


def _id_gluing(inst, p, encode):
    (label, edges), N = inst
    n = p["n"]
    e2, k = encode(edges, n, N, p.get("variant", "corrected"))
    connected = cycle_count(e2) == 1 if e2 else False
    diam = max(diameters(e2)) if e2 else 0
    ok = k >= 1 and connected == (label == 1) and diam <= n + 2 and len(e2) <= N
    detail = {"graph": f"C{label}", "N": N, "copies": k, "edges_glued": len(e2),
              "connected": connected, "max_diameter": diam}
    return ok, [t for e in e2 for t in e], \
        f"connected {_value_text(label == 1)}; max diameter <= {n + 2}; |E'| <= {N}", \
        f"connected {_value_text(connected)}; max diameter {diam}; |E'| {len(e2)}", detail


def detail_text(detail: dict) -> str:
    """An instance's details as text for a reason line, never a Python repr: ``{"graph": "C1",
    "edges_glued": 15, "connected": True}`` -> ``graph C1, edges glued 15, connected yes``; a
    list prints as ``(1, 2)``.  The JSON evidence keeps the dict itself."""
    return ", ".join(f"{key.replace('_', ' ')} {_value_text(v)}" for key, v in detail.items())


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple, set, frozenset)):
        return "(" + ", ".join(_value_text(x) for x in v) + ")"
    return str(v)


# --- registry -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reduction:
    id: str
    theorem: str
    status: str
    identity_text: str
    params: tuple[str, ...]            # CLI size options this check reads
    defaults: dict
    validate: Callable[[dict], None]
    count: Callable[[dict], int]
    enumerate: Callable[[dict], Iterable[Instance]]
    sample: Callable[[dict, random.Random], Instance]
    identity: Identity
    encoder: Callable
    #: what an identity that held establishes (protocol sizes, bound rows), added to the evidence:
    #: ``consequences(params, premise, instances)``, ``premise`` counting the instances whose
    #: detail says ``premise`` (default: all of them)
    consequences: Callable[[dict, int, int], dict] | None = None
    #: the part of an instance's detail a reason line prints (the JSON keeps all of it)
    brief: Callable[[dict], dict] = lambda detail: detail


def _need(p, name, lo, hi=None, even=False):
    v = p.get(name)
    if not isinstance(v, int) or v < lo or (hi is not None and v > hi) or (even and v % 2):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise BadInput(f"--{name} must be an {'even ' if even else ''}integer {rng}, got {v!r}")


def _bits(n, rnd=None):
    return tuple(rnd.randrange(2) for _ in range(n)) if rnd else None


def _gadget_validate(p):
    _need(p, "k", 4, 12, even=True)
    nk = 9 * p["k"] * p["k"] // 2 + 1
    if p.get("N") is not None and p["N"] < nk:
        raise BadInput(f"--N must be >= N_k = 4.5k^2+1 = {nk} for k={p['k']}, got {p['N']}")


def _gadget_sample(p, rnd):
    label, edges = random_one_vs_two(p["k"], rnd)
    rnd.shuffle(edges)
    return label, [(u, v) if rnd.random() < 0.5 else (v, u) for u, v in edges]


def _gadget_enum(p):
    k = p["k"]
    for label, edges in one_vs_two_cycles(k):
        for order in itertools.permutations(edges):
            for flips in itertools.product((False, True), repeat=k):
                yield label, [(v, u) if f else (u, v) for (u, v), f in zip(order, flips)]


def _gluing_Ns(p):
    lo = p["n"] if p.get("variant") == "paper" else p["n"] + 1
    return [p["N"]] if p.get("N") else list(range(lo, 4 * (p["n"] + 1) + 1))


def _index_reduction(rid: str, theorem: str, text: str, encoder) -> Reduction:
    """Both INDEX embeddings range over a in {0,1}^n' and i* in 1..n'."""
    return Reduction(rid, theorem, "R", text, ("n",), {"n": 10}, lambda p: _need(p, "n", 1, 24),
                     lambda p: (1 << p["n"]) * p["n"],
                     lambda p: ((a, i) for a in itertools.product((0, 1), repeat=p["n"])
                                for i in range(1, p["n"] + 1)),
                     lambda p, r: (_bits(p["n"], r), r.randrange(1, p["n"] + 1)),
                     _id_index, encoder)


REDUCTIONS: dict[str, Reduction] = {r.id: r for r in (
    _index_reduction("index-ih", "sht24b.one-layer-ih-lb",
                     "x = (b_1,a_1,...,b_n',a_n',?) with b_i* = ?, else 0  =>  tau_N = a_i*",
                     index_ih_encode),
    _index_reduction("index-stream", "sht23.rnn-ih",
                     "x = (m_1,a_1,...,m_n',a_n',m_i*) with distinct markers  =>  tau_N = a_i*",
                     index_stream_encode),
    Reduction("pointer-hop", "sht24a.propE_4", "P, layout R",
              "hop_k(X)_N = 2q+1 iff E_k(...E_1(v)) in V1_{k+1} (N = 2qk+1, all V1 subsets)",
              ("q", "k"), {"q": 3, "k": 3},
              lambda p: (_need(p, "q", 1, 8), _need(p, "k", 1, 8)),
              lambda p: math.factorial(p["q"]) ** p["k"] * (1 << p["q"]),
              lambda p: ((m, frozenset(s))
                         for m in itertools.product(itertools.permutations(range(p["q"])), repeat=p["k"])
                         for r in range(p["q"] + 1) for s in itertools.combinations(range(p["q"]), r)),
              lambda p, r: (tuple(tuple(r.sample(range(p["q"]), p["q"])) for _ in range(p["k"])),
                            frozenset(u for u in range(p["q"]) if r.random() < 0.5)),
              _id_pointer, pointer_hop_encode),
    Reduction("cycle-gadget", "sht24a.cor4_3", "P, gadget R",
              "X = blank^(N-N_k) (e_1..e_k)^(k/2) (1)  =>  hop_k(X)_N = 1 iff G = C2",
              ("k", "N"), {"k": 4, "N": None}, _gadget_validate,
              lambda p: count_one_vs_two(p["k"]) * math.factorial(p["k"]) * (1 << p["k"]),
              _gadget_enum, _gadget_sample, _id_gadget, gadget_encode),
    Reduction("disj-qsa", "sht23.thm4", "S",
              "qSA(X)_{2q+1} = (2|a AND b| - q)/q e_1, = -e_1 iff DISJ(a,b) = 1 (gap 2/q)",
              ("q",), {"q": 6}, lambda p: _need(p, "q", 1, 16),
              lambda p: 1 << (2 * p["q"]),
              lambda p: itertools.product(itertools.product((0, 1), repeat=p["q"]), repeat=2),
              lambda p, r: (_bits(p["q"], r), _bits(p["q"], r)),
              _id_disj, disj_qsa_encode),
    Reduction("cycle-gluing", "sht24a.cor3_5", "P, gluing R",
              "k copies + hub: G' connected iff G = C1, every component diameter <= n+2, |E'| <= N",
              ("n", "N", "variant"), {"n": 6, "N": None, "variant": "corrected"},
              lambda p: _need(p, "n", 4, 10, even=True),
              lambda p: count_one_vs_two(p["n"]) * len(_gluing_Ns(p)),
              lambda p: itertools.product(one_vs_two_cycles(p["n"]), _gluing_Ns(p)),
              lambda p, r: (random_one_vs_two(p["n"], r), r.choice(_gluing_Ns(p))),
              _id_gluing, glue),
)}


def _plan(rid: str, params: dict | None, mode: str, samples: int, seed: int = 0,
          registry: dict[str, Reduction] | None = None):
    """Validate a check and decide it: (reduction, full params, instances, exhaustive?).
    ``registry``: the records ``rid`` is looked up in (default :data:`REDUCTIONS`); a record whose
    defaults name ``seed`` gets the check's seed (its models are seeded)."""
    registry = REDUCTIONS if registry is None else registry
    if rid not in registry:
        raise BadInput(f"unknown reduction {rid!r}; choose one of {', '.join(registry)}")
    red = registry[rid]
    p = dict(red.defaults)
    p.update({k: v for k, v in (params or {}).items() if v is not None})
    if "seed" in red.defaults:
        p["seed"] = seed
    red.validate(p)
    if mode not in ("auto", "exhaustive", "sample"):
        raise BadInput(f"--mode must be auto, exhaustive or sample, got {mode!r}")
    if samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    total = red.count(p)
    exhaustive = mode == "exhaustive" or (mode == "auto" and total <= EXHAUSTIVE_CAP)
    if exhaustive and total > HARD_CAP:
        sizes = ", ".join(f"{k} = {v}" for k, v in p.items() if k in red.params and v is not None)
        raise BadInput(f"{rid} with {sizes} has {total:,} instances, over the cap of {HARD_CAP:,};"
                       f" use --mode sample or smaller sizes")
    return red, p, total, exhaustive


def planned(rid: str, params: dict | None = None, mode: str = "auto", samples: int = 1000,
            registry: dict[str, Reduction] | None = None) -> int:
    """How many instances :func:`check` will visit at most (all of them, or ``samples``); raises
    the same BadInput as :func:`check` for invalid arguments.  For progress bars."""
    _, _, total, exhaustive = _plan(rid, params, mode, samples, registry=registry)
    return total if exhaustive else samples


def check(rid: str, params: dict | None = None, mode: str = "auto", samples: int = 1000,
          seed: int = 0, budget: Budget | None = None, encoder: Callable | None = None,
          on_step: Callable[[int], None] | None = None,
          registry: dict[str, Reduction] | None = None) -> Verdict:
    """Check reduction ``rid`` (of ``registry``, default :data:`REDUCTIONS`) on every instance
    (VERIFIED), or on ``samples`` seeded ones (UNKNOWN unless a counterexample turns up: REFUTED).
    ``encoder`` replaces the registered encoder (tests pass broken ones this way and expect
    REFUTED).  A VERIFIED or sampled run adds the record's ``consequences`` to the evidence."""
    red, p, total, exhaustive = _plan(rid, params, mode, samples, seed, registry)
    budget = budget or UNLIMITED
    encode = encoder or red.encoder
    rnd = random.Random(seed)
    stream = red.enumerate(p) if exhaustive else (red.sample(p, rnd) for _ in range(samples))
    claim = f"{red.theorem} [{red.status}]: {red.identity_text}"
    shown = {k: v for k, v in p.items() if k in red.params and v is not None}
    done = premise = 0
    try:
        for inst in stream:
            ok, tokens, want, got, detail = red.identity(inst, p, encode)
            done += 1
            premise += bool(detail.get("premise", True))
            if not ok:
                ce = Counterexample(tuple(int(t) for t in tokens), len(tokens), _plain(want),
                                    _plain(got), _jsonable(detail))
                return Verdict(Status.REFUTED, Method.REDUCTION if exhaustive else Method.SAMPLE,
                               claim, done, f"identity fails on instance {done}:"
                               f" {detail_text(red.brief(detail))}", ce,
                               {"params": shown, "instances": total})
            if done % 512 == 0:
                budget.check(checked=done)
                if on_step:
                    on_step(512)
    except BudgetExceeded:
        return Verdict(Status.UNKNOWN, Method.REDUCTION if exhaustive else Method.SAMPLE, claim,
                       done, f"budget spent after {done:,} of {total if exhaustive else samples:,}"
                       " instances; no counterexample so far", None,
                       {"params": shown, "instances": total})
    ev = {"params": shown, "instances": total}
    if red.consequences is not None:
        ev.update(red.consequences(p, premise, done))
    if exhaustive:
        return Verdict(Status.VERIFIED, Method.REDUCTION, claim, done,
                       f"identity holds on all {done:,} instances", None, ev)
    return Verdict(Status.UNKNOWN, Method.SAMPLE, claim, done,
                   f"no counterexample in {done:,} seeded samples (seed {seed}) of {total:,}"
                   " instances; a sample is not a proof", None, {**ev, "seed": seed})


def _plain(v):
    return v if v is None or isinstance(v, (int, float)) else str(v)


def _jsonable(v):
    """An instance's detail as JSON values (tuples and sets as lists, keys as strings)."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    return v

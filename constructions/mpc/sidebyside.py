"""Run a protocol and its compiled transformer side by side on every instance (Thm 3.1 check).

For each algorithm (registry :data:`ALGOS`): the MPC run (``verifiers.mpc_machine``) is compared with
plain ground truth, and the transformer's decoded memories are compared with the MPC memories
after *every* round (layer l's routing <-> protocol memories[l]), then psi with the outputs.

Verdict [STYLE.md 7]:
* REFUTED -- a mismatch, with the instance, round, machine, expected and decoded memory, and
  where that machine's routing head attended (replayed on the single instance);
* VERIFIED (exhaustive) -- every instance of a finite domain agrees;
* VERIFIED (certificate) -- sampled instances agree *and* the routing certificate holds, so the
  transformer equals the protocol on every input; the protocol-vs-truth part is then reported
  as sampled in the evidence;
* UNKNOWN -- sampled with no certificate, or the budget ran out.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import random
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from attncheck.constructions.mpc import basic, cycles
from attncheck.verifiers.mpc_certify import RoutingCertificate, certify
from attncheck.constructions.mpc.simulate import Simulation, compile_protocol, corrupt_head, with_heads
from attncheck.constructions.spec import Head
from attncheck.constructions.tasks import cycle_count
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.verifiers.mpc_simulate import attention_at, run
from attncheck.constructions.mpc.model import Protocol
from attncheck.verifiers.mpc_machine import run_protocol
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method, Status,
                                         Verdict)

BASIC_S, BASIC_P = 4, 8
EXHAUSTIVE_LIMIT = 5000          # instances the transformer side runs in 'auto' mode


@dataclass(frozen=True)
class Algo:
    """``build(N, s) -> Protocol`` (s = None: the algorithm's default memory); ``domain(N) -> (count, iterator, description)`` or None;
    ``sample(N, rng) -> input words``; ``truth(N, words, s) -> output words`` (s: the protocol's
    memory, which fixes broadcast's machine count max(N, s))."""

    name: str
    theorem: str
    build: Callable[[int, int | None], Protocol]
    domain: Callable[[int], tuple[int, Iterator[list[int]], str] | None]
    sample: Callable[[int, random.Random], list[int]]
    truth: Callable[[int, list[int], int], tuple[int, ...]]
    help: str


# --- instance families ---------------------------------------------------------------------
MAX_DOMAIN_N = 12       # beyond this no domain is enumerable here; do not even count it


def _cycle_domain(N: int):
    if N > MAX_DOMAIN_N:
        return None
    n = cycles.count_promise_graphs(N)
    rng = random.Random(N)

    def it():
        for _, edges in cycles.promise_graphs(N):
            yield cycles.serialize(edges, rng)
    return n, it(), (f"all {n} labeled promise graphs on {N} vertices (one N-cycle or two"
                     f" N/2-cycles), each in a seeded random edge order and orientation")


def _cycle_sample(N: int, rng: random.Random) -> list[int]:
    return cycles.serialize(cycles.random_graph(N, rng)[1], rng)


def degree_two_graphs(N: int) -> Iterator[list[tuple[int, int]]]:
    """Every simple graph on [N] with maximum degree 2 (DFS over the edge list with pruning)."""
    all_edges = list(itertools.combinations(range(N), 2))
    deg = [0] * N
    chosen: list[tuple[int, int]] = []

    def rec(e: int):
        if e == len(all_edges):
            yield list(chosen)
            return
        yield from rec(e + 1)
        u, v = all_edges[e]
        if deg[u] < 2 and deg[v] < 2:
            deg[u] += 1
            deg[v] += 1
            chosen.append((u, v))
            yield from rec(e + 1)
            chosen.pop()
            deg[u] -= 1
            deg[v] -= 1
    return rec(0)


def _components_domain(N: int):
    if N > 7:
        return None
    graphs = list(degree_two_graphs(N))
    return len(graphs), (cycles.padded_tokens(N, g) for g in graphs), \
        f"all {len(graphs)} simple graphs on {N} vertices with maximum degree 2"


def _components_sample(N: int, rng: random.Random) -> list[int]:
    perm = list(range(N))
    rng.shuffle(perm)
    edges, i = [], 0
    while i < N:
        size = rng.randint(1, N - i)
        seg = perm[i:i + size]
        if size >= 3 and rng.random() < 0.5:
            edges += cycles.cycle_edges(seg)
        else:
            edges += [(seg[t], seg[t + 1]) for t in range(size - 1)]
        i += size
    rng.shuffle(edges)
    return cycles.padded_tokens(N, edges)


def _words_domain(N: int):
    vals = (0, 1, (1 << BASIC_P) - 1)
    if N > MAX_DOMAIN_N:
        return None
    n = len(vals) ** N
    if n > 10 ** 6:
        return None
    return n, (list(w) for w in itertools.product(vals, repeat=N)), \
        f"all {n} inputs in {{0, 1, {vals[-1]}}}^{N}"


def _words_sample(N: int, rng: random.Random) -> list[int]:
    return [rng.randrange(1 << BASIC_P) for _ in range(N)]


ALGOS: dict[str, Algo] = {
    "cycles": Algo("cycles", "task.1v2cycle", lambda N, s=None: cycles.cycles(N, s or cycles.S_WORDS), _cycle_domain, _cycle_sample,
                   lambda N, w, s: (cycle_count(cycles.deserialize(w)),),
                   "1-vs-2 cycles by pointer doubling, ceil(log2 N)+1 rounds"),
    "components": Algo("components", "sht24a.cor3_3",
                       lambda N, s=None: cycles.components(N, None, s or cycles.S_WORDS), _components_domain,
                       _components_sample,
                       lambda N, w, s: cycles.component_labels(
                           N, [e for e in cycles.deserialize(w) if e != (N, N)]),
                       "component labels of max-degree-2 graphs, ceil(log2 D)+1 rounds"),
    "broadcast": Algo("broadcast", "model.mpc", lambda N, s=None: basic.broadcast(N, s or BASIC_S, BASIC_P),
                      _words_domain, _words_sample,
                      lambda N, w, s: basic.broadcast_truth(w, max(N, s)),
                      "broadcast word 0 to every machine, ceil(log_s q) rounds"),
    "prefix": Algo("prefix", "model.mpc", lambda N, s=None: basic.prefix_sum(N, s or BASIC_S, BASIC_P),
                   _words_domain, _words_sample, lambda N, w, s: basic.prefix_truth(w, BASIC_P),
                   "prefix sums mod 2^p, 3+ceil(log2 ceil(N/s)) rounds"),
    "sort": Algo("sort", "model.mpc", lambda N, s=None: basic.sort(N, s or BASIC_S, BASIC_P), _words_domain,
                 _words_sample, lambda N, w, s: basic.sort_truth(w),
                 "bitonic block sort, 1+L(L+1)/2 rounds"),
}


def get_algo(name: str) -> Algo:
    if name not in ALGOS:
        raise BadInput(f"unknown MPC algorithm {name!r}; choose one of {', '.join(ALGOS)}")
    return ALGOS[name]


# --- the check -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SideBySide:
    verdict: Verdict
    simulation: Simulation
    certificate: RoutingCertificate
    instances: int
    domain: str


def _first_mismatch(sim, run_, trace, b) -> dict | None:
    q = sim.protocol.limits.q
    for layer, mem in enumerate(trace.memories):
        for t in range(sim.tokens):
            want = run_.memories[layer][t] if t < q else ()
            got = mem[b][t]
            if got != want:
                return {"layer": layer, "round": layer - 1, "machine": t,
                        "expected": [list(x) for x in want],
                        "got": [list(x) for x in got] if isinstance(got, tuple) and
                        all(isinstance(x, tuple) for x in got) else list(got)}
    got = tuple(w for out in trace.outputs[b] if isinstance(out, tuple) and
                all(isinstance(x, int) for x in out) for w in out)
    if got != run_.output or any(not all(isinstance(x, int) for x in o) for o in trace.outputs[b]):
        return {"layer": len(trace.memories), "round": None, "machine": None,
                "expected": list(run_.output), "got": [list(o) for o in trace.outputs[b]]}
    return None


def instances_for(algo: Algo, N: int, mode: str, samples: int, seed: int
                  ) -> tuple[int, Iterable[list[int]], str, bool]:
    """-> (count, iterator, description, exhaustive?)."""
    if mode not in ("auto", "exhaustive", "sample"):
        raise BadInput(f"--mode must be auto, exhaustive or sample, got {mode!r}")
    dom = algo.domain(N) if mode != "sample" else None
    if dom is not None and (mode == "exhaustive" or dom[0] <= EXHAUSTIVE_LIMIT):
        if mode == "exhaustive" and dom[0] > 20 * EXHAUSTIVE_LIMIT:
            raise BadInput(f"exhaustive {algo.name} at N={N} means {dom[0]} instances through the"
                           f" transformer (limit {20 * EXHAUSTIVE_LIMIT}); use --mode sample")
        return dom[0], dom[1], dom[2], True
    if mode == "exhaustive":
        raise BadInput(f"{algo.name} at N={N} has no enumerable instance domain here; use --mode sample")
    if samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    rng = random.Random(seed)
    return samples, (algo.sample(N, rng) for _ in range(samples)), \
        f"{samples} seeded random instances (seed {seed})", False


def side_by_side(algo: Algo, N: int, *, mode: str = "auto", samples: int = 100, seed: int = 0,
                 hashing: str = "auto", slots: int | None = None, codes: str = "poly",
                 attention: str = "hardmax", fmt: Format = EXACT, corrupt: str = "none", s: int | None = None,
                 budget: Budget = UNLIMITED, batch: int = 16, advance=lambda n=1: None) -> SideBySide:
    """Compile ``algo`` at size N and :func:`check_simulation` it (``corrupt`` breaks every layer's head)."""
    protocol = algo.build(N, s)
    sim = compile_protocol(protocol, hashing=hashing, slots=slots, codes=codes, seed=seed)
    if corrupt != "none":
        sim = with_heads(sim, tuple(corrupt_head(sim, corrupt) for _ in sim.layers))
    return check_simulation(sim, algo, N, mode=mode, samples=samples, seed=seed, attention=attention,
                            fmt=fmt, budget=budget, batch=batch, advance=advance)


def check_simulation(sim: Simulation, algo: Algo, N: int, *, mode: str = "auto", samples: int = 100,
                     seed: int = 0, attention: str = "hardmax", fmt: Format = EXACT,
                     budget: Budget = UNLIMITED, batch: int = 16, advance=lambda n=1: None) -> SideBySide:
    """Run ``sim`` (each layer with its own head) beside its protocol on the instances of
    :func:`instances_for`; certify every layer's head (:func:`certify`)."""
    protocol = sim.protocol
    heads = tuple(layer.head for layer in sim.layers)
    cert = certify(sim, attention=attention, fmt=fmt, heads=heads)
    count, it, desc, exhaustive = instances_for(algo, N, mode, samples, seed)
    L, R = len(sim.layers), protocol.rounds
    claim = (f"the {L}-layer transformer equals the {R}-round {algo.name} protocol round by round"
             f" and both match ground truth (sht24a.thm3_1 [P]; construction [R])")
    done, truth_errors = 0, 0
    ev = {"certificate": cert.to_json(), "instances": desc, "layers": L, "rounds": R,
          "log2_N": round(math.log2(N), 4)}
    it = iter(it)
    try:
        while True:
            chunk = list(itertools.islice(it, batch))
            if not chunk:
                break
            runs = [run_protocol(protocol, w) for w in chunk]
            for w, r_ in zip(chunk, runs):
                if r_.output != tuple(algo.truth(N, w, protocol.limits.s)):
                    ce = Counterexample(tuple(w), 0, None, None,
                                        {"what": "protocol differs from ground truth",
                                         "expected": list(algo.truth(N, w, protocol.limits.s)), "got": list(r_.output)})
                    return SideBySide(Verdict(Status.REFUTED, Method.EXHAUSTIVE if exhaustive else
                                              Method.SAMPLE, claim, done + 1,
                                              "the MPC protocol itself is wrong on this input", ce, ev),
                                      sim, cert, done + 1, desc)
            trace = run(sim, np.array(chunk), fmt, attention, heads)
            for b, (w, r_) in enumerate(zip(chunk, runs)):
                mm = _first_mismatch(sim, r_, trace, b)
                if mm is not None:
                    if mm["machine"] is not None:
                        mm["attention"] = attention_at(sim, heads, w, mm["layer"], mm["machine"],
                                                        fmt, attention)
                    ce = Counterexample(tuple(w), (mm["machine"] or 0) + 1, None, None, mm)
                    where = (f"layer {mm['layer']}, machine {mm['machine']}" if mm["machine"]
                             is not None else "psi output")
                    return SideBySide(Verdict(Status.REFUTED, Method.EXHAUSTIVE if exhaustive else
                                              Method.SAMPLE, claim, done + b + 1,
                                              f"transformer memory differs from the protocol at {where}",
                                              ce, ev), sim, cert, done + b + 1, desc)
            done += len(chunk)
            advance(len(chunk))
            budget.check(instances=done)
    except BudgetExceeded as e:
        return SideBySide(Verdict(Status.UNKNOWN, Method.EXHAUSTIVE if exhaustive else Method.SAMPLE,
                                  claim, done, f"{e}; {done} of {count} instances agreed", None, ev),
                          sim, cert, done, desc)
    ev["protocol_vs_truth"] = {"method": "exhaustive" if exhaustive else "sample", "cases": done,
                               "errors": truth_errors}
    if exhaustive:
        return SideBySide(Verdict(Status.VERIFIED, Method.EXHAUSTIVE, claim, done,
                                  f"all {done} instances agree round by round", None, ev),
                          sim, cert, done, desc)
    if cert.ok:
        claim_c = (f"the {L}-layer transformer equals the {R}-round {algo.name} protocol on every"
                   f" input (sht24a.thm3_1 [P]; construction [R])")
        return SideBySide(Verdict(Status.VERIFIED, Method.CERTIFICATE, claim_c, done,
                                  f"routing certificate holds for every layer's head; {done} sampled"
                                  f" instances agree round by round and with ground truth"
                                  f" (protocol-vs-truth is sampled)",
                                  None, ev), sim, cert, done, desc)
    return SideBySide(Verdict(Status.UNKNOWN, Method.SAMPLE, claim, done,
                              f"{done} sampled instances agree, but the routing certificate is"
                              f" {'missing' if cert.ok is None else 'failing'}: {cert.reason}",
                              None, ev), sim, cert, done, desc)

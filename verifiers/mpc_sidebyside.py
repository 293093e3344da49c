"""Run a protocol and its compiled transformer side by side on every instance (Thm 3.1 check).

``sht24a.thm3_1`` [P] (with ``lemma.sht24a.3_2`` for the routing): for an algorithm of
:data:`attncheck.constructions.mpc.algos.ALGOS`, every instance goes through the MPC runtime
(:func:`~attncheck.verifiers.mpc_machine.run_protocol`), whose output is compared with plain
ground truth, and through the transformer (:func:`~attncheck.verifiers.mpc_simulate.run`), whose
decoded memories are compared with the MPC memories after *every* round (layer l's routing <->
protocol memories[l]), then psi with the outputs.  The instances are a
:class:`~attncheck.verifiers.checkloop.Domain` run by the one check loop
(:func:`attncheck.verifiers.checkloop.run`: chunking, budget, progress, first counterexample).

Verdict [STYLE.md 7]:
* REFUTED -- a mismatch, with the instance, round, machine, expected and decoded memory, and
  where that machine's routing head attended (replayed on the single instance);
* VERIFIED (exhaustive) -- every instance of a finite domain agrees;
* VERIFIED (certificate) -- sampled instances agree *and* the routing certificate
  (:mod:`attncheck.verifiers.mpc_certify`) holds, so the transformer equals the protocol on every
  input; the protocol-vs-truth part is then reported as sampled in the evidence;
* UNKNOWN -- sampled with no certificate, or the budget ran out.
"""
from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.mpc.algos import Algo, Enumeration
from attncheck.constructions.mpc.simulate import Simulation, compile_protocol, corrupt_head, with_heads
from attncheck.constructions.precision import EXACT, Format
from attncheck.constructions.verdict import BadInput, Counterexample, Method, Status, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Domain, Found
from attncheck.verifiers.mpc_certify import RoutingCertificate, certify
from attncheck.verifiers.mpc_batch import run_batch
from attncheck.verifiers.mpc_memo import Memories, Outboxes, Steps
from attncheck.verifiers.mpc_engine import Engine
from attncheck.verifiers.mpc_machine import Run, run_protocol
from attncheck.verifiers.mpc_simulate import SimTrace, attention_at, run_ids, trace_of

EXHAUSTIVE_LIMIT = 5000          # instances the transformer side runs in 'auto' mode
SPOT_CHECK = 16                  # instances of a certified exhaustive run the transformer still runs
TRANSFORMER = ("auto", "every")  # check_simulation: the certificate may stand for the transformer, or not


# --- the instances as a check-loop domain ---------------------------------------------------------
class _Cursor:
    """``Domain.draw`` over an :class:`Enumeration`: the loop asks for consecutive ranges, served
    from one iterator; asking for an earlier start restarts it."""

    def __init__(self, members: Callable[[], Iterator[list[int]]]):
        self._members, self._it, self._pos = members, members(), 0

    def __call__(self, start: int, stop: int) -> list[list[int]]:
        if start < self._pos:
            self._it, self._pos = self._members(), 0
        for _ in range(start - self._pos):
            next(self._it)
        out = [next(self._it) for _ in range(stop - start)]
        self._pos = stop
        return out


class _Sampler:
    """``Domain.sample`` for a family drawn with ``random.Random``: one Random per run, seeded
    from the loop's numpy generator (so ``--seed`` fixes the instances, whatever the batch size)."""

    def __init__(self, algo: Algo, N: int):
        self._algo, self._N, self._src, self._rng = algo, N, None, None

    def __call__(self, rng: np.random.Generator, n: int) -> list[list[int]]:
        if self._src is not rng:
            self._src, self._rng = rng, random.Random(int(rng.integers(1 << 62)))
        return [self._algo.sample(self._N, self._rng) for _ in range(n)]


def _not_enumerable(start: int, stop: int):
    raise BadInput("this instance family is not enumerable here; use --mode sample")


@dataclass(frozen=True)
class Instances:
    """The instances of one check: ``count`` of them, all of ``domain`` (``exhaustive``) or a
    seeded sample of it, and their ``description`` for the report."""

    domain: Domain
    count: int
    exhaustive: bool
    description: str


def instances_for(algo: Algo, N: int, mode: str, samples: int, seed: int) -> Instances:
    """``auto``: every instance when an enumerable family has at most :data:`EXHAUSTIVE_LIMIT`,
    else ``samples`` seeded ones; ``exhaustive`` / ``sample`` force one or the other."""
    if mode not in ("auto", "exhaustive", "sample"):
        raise BadInput(f"--mode must be auto, exhaustive or sample, got {mode!r}")
    enum: Enumeration | None = algo.domain(N) if mode != "sample" else None
    label = f"the {algo.name} instances at N = {N}"
    if enum is not None and (mode == "exhaustive" or enum.count <= EXHAUSTIVE_LIMIT):
        if mode == "exhaustive" and enum.count > 20 * EXHAUSTIVE_LIMIT:
            raise BadInput(f"exhaustive {algo.name} at N={N} means {enum.count} instances through the"
                           f" transformer (limit {20 * EXHAUSTIVE_LIMIT}); use --mode sample")
        domain = Domain(enum.count, _Cursor(enum.members), _Sampler(algo, N), "instances", label)
        return Instances(domain, enum.count, True, enum.description)
    if mode == "exhaustive":
        raise BadInput(f"{algo.name} at N={N} has no enumerable instance domain here; use --mode sample")
    if samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    domain = Domain(0, _not_enumerable, _Sampler(algo, N), "instances", label)
    return Instances(domain, samples, False, f"{samples} seeded random instances (seed {seed})")


# --- one batch against the protocol and the truth --------------------------------------------------
def _first_mismatch(sim: Simulation, run_: Run, trace: SimTrace, b: int) -> dict | None:
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


def _comparer(sim: Simulation, algo: Algo, N: int, heads, fmt: Format, attention: str,
              budget: Budget = UNLIMITED, covered: bool = False, spot: int = SPOT_CHECK):
    """``compare(batch) -> Found | None`` for the check loop: the protocol against ground truth
    first, then the transformer against the protocol, round by round.  Both run on whole batches
    (:func:`~attncheck.verifiers.mpc_batch.run_batch`, :class:`~attncheck.verifiers.mpc_engine.Engine`)
    with their memories interned in one table, so comparing them is comparing ids; what a
    mismatch reports is rebuilt for that one instance (``run_protocol``, :func:`trace_of`).  The
    budget is also checked before every layer of a batch (batches of small instances are large).

    ``covered``: the routing certificate holds, so the transformer equals the protocol on every
    input on which the protocol keeps the MPC limits (docs/mpc.md, "Exhaustive runs with a
    certificate"); a batch whose protocol run kept them (``run_batch`` returned) then needs the
    transformer only on its first ``spot`` instances (a spot check of the engine, the same in
    every chunk whoever runs it; it adds evidence and costs little).  Without ``covered`` (or
    when a limit broke) every instance runs through the transformer."""
    protocol = sim.protocol
    steps = Steps(protocol, Memories(), Outboxes())
    engine = Engine(sim, heads, fmt, attention, steps)
    q = protocol.limits.q

    def compare(chunk: list[list[int]]) -> Found | None:
        batch = run_batch(steps, chunk)
        if batch is None:                          # a limit broken somewhere: the runtime says where
            runs = [run_protocol(protocol, w) for w in chunk]
            pmem = np.array([[[engine.memories(m) for m in layer] for layer in r_.memories] for r_ in runs],
                            dtype=np.int64).transpose(1, 0, 2)                        # (R+1, B, q)
            pout, pout_ids = [r_.outputs for r_ in runs], None
            output = [r_.output for r_ in runs]
        else:
            pmem, output, pout_ids = batch.memories, batch.output, batch.outputs
            rows = batch.outputs[:spot] if covered else batch.outputs    # what the transformer runs on
            pout = [tuple(steps.outs.items[o] for o in row) for row in rows.tolist()]
        truths = [tuple(algo.truth(N, w, protocol.limits.s)) for w in chunk]
        wrong = [b for b, (o, t) in enumerate(zip(output, truths)) if o != t]
        if wrong:
            b = wrong[0]
            ce = Counterexample(tuple(chunk[b]), 0, None, None,
                                {"what": "the MPC protocol itself is wrong on this input",
                                 "expected": list(truths[b]), "got": list(output[b])})
            return Found(b, len(wrong), ce)
        n = len(chunk)
        if covered and batch is not None:
            n = min(n, spot)
            if n == 0:
                return None
            pmem, pout, pout_ids = pmem[:, :n], pout[:n], pout_ids[:n]
        ids = run_ids(engine, chunk[:n], lambda layer: budget.check(batch=n, layer=layer))
        found = _mismatched(engine, ids, pmem, pout, q, pout_ids)
        if not found:
            return None
        b = found[0]
        mm = _first_mismatch(sim, run_protocol(protocol, chunk[b]), trace_of(engine, ids, slice(b, b + 1)), 0)
        if mm["machine"] is not None:
            mm["attention"] = attention_at(sim, heads, chunk[b], mm["layer"], mm["machine"], fmt,
                                           attention)
        where = f"layer {mm['layer']}, machine {mm['machine']}" if mm["machine"] is not None \
            else "psi output"
        mm["what"] = f"transformer memory differs from the protocol at {where}"
        return Found(b, len(found), Counterexample(tuple(chunk[b]), (mm["machine"] or 0) + 1,
                                                   None, None, mm))
    compare.engine = engine
    return compare


def _mismatched(engine: Engine, ids, pmem: np.ndarray, pout: list, q: int,
                pout_ids: np.ndarray | None = None) -> list[int]:
    """Instances whose transformer memories (any layer, any token; pad tokens must hold nothing)
    or psi outputs differ from the protocol's -- :func:`_first_mismatch`'s test, on ids (psi
    outputs and the protocol's share one table, ``pout_ids`` (B, q); where an id differs the
    concatenated words are compared, as ``_first_mismatch`` does)."""
    mem = ids.memories                                                  # (L, B, T)
    bad = (mem[:, :, :q] != pmem).any(axis=(0, 2)) | (mem[:, :, q:] != engine.empty).any(axis=(0, 2))
    if pout_ids is not None:
        empty = engine.outputs(())
        differ = (ids.outputs[:, :q] != pout_ids).any(axis=1) | (ids.outputs[:, q:] != empty).any(axis=1)
    else:
        differ = np.ones(len(bad), dtype=bool)
    items = engine.outputs.items
    for b in np.flatnonzero(differ & ~bad).tolist():
        outs = [items[o] for o in ids.outputs[b].tolist()]
        got = tuple(w for out in outs if isinstance(out, tuple) and all(isinstance(x, int) for x in out)
                    for w in out)
        want = tuple(w for o in pout[b] for w in o)
        bad[b] = got != want or any(not all(isinstance(x, int) for x in o) for o in outs)
    return [int(b) for b in np.flatnonzero(bad)]


# --- the check ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SideBySide:
    verdict: Verdict
    simulation: Simulation
    certificate: RoutingCertificate
    instances: int
    domain: str


def side_by_side(algo: Algo, N: int, *, mode: str = "auto", samples: int = 100, seed: int = 0,
                 hashing: str = "auto", slots: int | None = None, codes: str = "poly",
                 attention: str = "hardmax", fmt: Format = EXACT, corrupt: str = "none", s: int | None = None,
                 budget: Budget = UNLIMITED, batch: int | None = None, advance=lambda n=1: None) -> SideBySide:
    """Compile ``algo`` at size N and :func:`check_simulation` it (``corrupt`` breaks every layer's head)."""
    protocol = algo.build(N, s)
    sim = compile_protocol(protocol, hashing=hashing, slots=slots, codes=codes, seed=seed)
    if corrupt != "none":
        sim = with_heads(sim, tuple(corrupt_head(sim, corrupt) for _ in sim.layers))
    return check_simulation(sim, algo, N, mode=mode, samples=samples, seed=seed, attention=attention,
                            fmt=fmt, budget=budget, batch=batch, advance=advance)


def check_simulation(sim: Simulation, algo: Algo, N: int, *, mode: str = "auto", samples: int = 100,
                     seed: int = 0, attention: str = "hardmax", fmt: Format = EXACT,
                     budget: Budget = UNLIMITED, batch: int | None = None, advance=lambda n=1: None,
                     transformer: str = "auto") -> SideBySide:
    """Run ``sim`` (each layer with its own head) beside its protocol on the instances of
    :func:`instances_for` through the check loop; certify every layer's head (:func:`certify`).
    ``batch`` (default: :meth:`Engine.batch_size`, up to 4096 small instances) is the loop's chunk.

    ``transformer="auto"``: on an exhaustive run whose routing certificate holds, the certificate
    stands for the transformer side (every instance still runs through the protocol and the ground
    truth, which also discharges the certificate's one assumption, that the protocol keeps the
    limits on it; the transformer runs on :data:`SPOT_CHECK` instances per chunk); the verdict,
    ``cases`` and any counterexample are those of ``"every"``, which runs the transformer on every
    instance (the differential tests of the certificate use it)."""
    if transformer not in TRANSFORMER:
        raise ValueError(f"transformer must be one of {TRANSFORMER}, got {transformer!r}")
    heads = tuple(layer.head for layer in sim.layers)
    cert = certify(sim, attention=attention, fmt=fmt, heads=heads)
    inst = instances_for(algo, N, mode, samples, seed)
    covered = transformer == "auto" and inst.exhaustive and cert.ok is True
    L, R = len(sim.layers), sim.protocol.rounds
    claim = (f"the {L}-layer transformer equals the {R}-round {algo.name} protocol round by round"
             f" and both match ground truth (sht24a.thm3_1 [P]; construction [R])")
    ev = {"certificate": cert.to_json(), "instances": inst.description, "layers": L, "rounds": R,
          "log2_N": round(math.log2(N), 4)}
    compare = _comparer(sim, algo, N, heads, fmt, attention, budget, covered=covered)
    step = batch if batch is not None else compare.engine.batch_size()
    if covered:
        ev["transformer_vs_protocol"] = {
            "method": "certificate", "spot_check": f"the first {min(SPOT_CHECK, step)} instances of"
                                                  f" each chunk of {step} also run through the transformer"}
    v = checkloop.run(inst.domain, compare,
                      mode="exhaustive" if inst.exhaustive else "sample", claim=claim, step=step,
                      samples=samples, seed=seed, budget=budget, progress=advance, evidence=ev)
    return SideBySide(_conclude(v, inst, cert, algo, L, R, covered), sim, cert, v.cases, inst.description)


def _conclude(v: Verdict, inst: Instances, cert: RoutingCertificate, algo: Algo, L: int, R: int,
              covered: bool = False) -> Verdict:
    """The loop's verdict, with what a refutation found named in the reason and, for a sample
    that agrees, the routing certificate deciding between VERIFIED (certificate) and UNKNOWN."""
    if v.status is Status.REFUTED:
        return dataclasses.replace(v, reason=f"{v.reason}: {v.counterexample.explanation['what']}")
    sampled_all = not inst.exhaustive and v.cases == inst.count and "progress" not in v.evidence
    if v.status is Status.VERIFIED and covered:
        v = dataclasses.replace(v, reason=f"{v.reason}: the protocol against truth on each, and the"
                                          f" routing certificate, which holds for every layer's head,"
                                          f" makes the transformer equal the protocol round by round"
                                          f" on each (the protocol kept the MPC limits on every one;"
                                          f" a spot check ran the transformer too)")
    elif v.status is Status.VERIFIED:
        v = dataclasses.replace(v, reason=f"{v.reason}, round by round (every layer's memories, then"
                                          f" the outputs) and protocol against truth")
    if v.status is Status.VERIFIED or sampled_all:
        v = dataclasses.replace(v, evidence={**v.evidence, "protocol_vs_truth": {
            "method": "exhaustive" if inst.exhaustive else "sample", "cases": v.cases, "errors": 0}})
    if not sampled_all:
        return v
    if cert.ok:
        claim = (f"the {L}-layer transformer equals the {R}-round {algo.name} protocol on every"
                 f" input (sht24a.thm3_1 [P]; construction [R])")
        return dataclasses.replace(v, status=Status.VERIFIED, method=Method.CERTIFICATE, claim=claim,
                                   reason=f"routing certificate holds for every layer's head; {v.cases}"
                                          f" sampled instances agree round by round and with ground"
                                          f" truth (protocol-vs-truth is sampled)")
    return dataclasses.replace(v, reason=f"{v.reason}; the routing certificate is"
                                         f" {'missing' if cert.ok is None else 'failing'}: {cert.reason}")

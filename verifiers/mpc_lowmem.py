"""``verify mpc ALGO --delta D``: low-memory protocols (s = ceil(N^delta)) over a range of N.

For each N of the range: s = :func:`~attncheck.constructions.mpc.lowmem.memory_words` (N, delta),
the protocol's machines q and rounds R, and a check --

* where the Thm 3.1 transformer compiles within the compile limits (poly codes exact in float64
  and int64, dense head weights below ``MAX_DENSE``) and N <= ``compile_upto``: the side-by-side
  check of :func:`attncheck.verifiers.mpc_sidebyside.side_by_side` (protocol against truth,
  transformer against protocol round by round, routing certificate);
* otherwise the protocol alone against plain ground truth (:func:`protocol_check`, through the
  check loop), with the reason the transformer was not run.

The verdict of the table: REFUTED if any row is (its counterexample), VERIFIED if every row is
VERIFIED, else UNKNOWN (a sampled protocol-only row says "no counterexample in K samples", never
"verified").  The rounds column is the measurement the table exists for: the protocols'
rounds depend on delta only (docs/mpc.md, "Low memory").
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.mpc.algos import Algo
from attncheck.constructions.mpc.lowmem import memory_words, parse_delta
from attncheck.constructions.mpc.lowmem_algos import ROUND_BOUNDS
from attncheck.constructions.verdict import BadInput, BudgetExceeded, Counterexample, Method, Status, Verdict
from attncheck.verifiers import checkloop
from attncheck.verifiers.checkloop import Found
from attncheck.verifiers.mpc_machine import run_protocol
from attncheck.verifiers.mpc_sidebyside import instances_for, side_by_side

COMPILE_UPTO = 32        # default largest N whose transformer the table runs
#: Largest N the protocol runtime runs here: one instance is not budget-checked inside
#: (run_protocol has no hook), and at N = 65,536 one sort instance ran past 200 s under --budget 3.
MAX_N = 1 << 14


def check_size(N: int) -> None:
    """BadInput when N is above :data:`MAX_N`."""
    if N > MAX_N:
        raise BadInput(f"--N {N} is above {MAX_N}, the largest N the low-memory protocol runtime runs"
                       " here (one instance is not interrupted by --budget)")


def protocol_check(algo: Algo, N: int, s: int, *, mode: str = "auto", samples: int = 100, seed: int = 0,
                   budget: Budget = UNLIMITED, advance=lambda n=1: None) -> Verdict:
    """The protocol at (N, s) against ``algo.truth`` on every instance (enumerable domain) or
    ``samples`` seeded ones, run by the MPC runtime (every limit enforced)."""
    protocol = algo.build(N, s)
    inst = instances_for(algo, N, mode, samples, seed)

    def compare(chunk):
        for b, words in enumerate(chunk):
            got = run_protocol(protocol, words).output
            want = tuple(algo.truth(N, words, s))
            if got != want:
                return Found(b, 1, Counterexample(tuple(words), 0, None, None, {
                    "what": "the MPC protocol itself is wrong on this input",
                    "expected": list(want), "got": list(got)}))
        return None

    claim = (f"the {protocol.rounds}-round {algo.name} protocol (s = {s}, q = {protocol.limits.q})"
             f" matches ground truth at N = {N}")
    return checkloop.run(inst.domain, compare, mode="exhaustive" if inst.exhaustive else "sample",
                         claim=claim, step=8, samples=samples, seed=seed, budget=budget, progress=advance,
                         evidence={"instances": inst.description})


@dataclass(frozen=True)
class RoundsRow:
    N: int
    s: int
    q: int
    rounds: int
    verdict: Verdict
    transformer: str          # "side by side (L = R + 1 layers)" or why not
    seconds: float

    def to_json(self) -> dict:
        return {"N": self.N, "s": self.s, "q": self.q, "rounds": self.rounds,
                "log2_N": round(math.log2(self.N), 4), "verdict": self.verdict.status.value,
                "method": self.verdict.method.value, "cases": self.verdict.cases,
                "reason": self.verdict.reason, "transformer": self.transformer,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class RoundsTable:
    verdict: Verdict
    rows: tuple[RoundsRow, ...]
    delta: str


def rounds_row(algo: Algo, N: int, delta, *, compile_upto: int = COMPILE_UPTO, mode: str = "auto",
               samples: int = 100, seed: int = 0, hashing: str = "auto", codes: str = "poly",
               attention: str = "hardmax", budget: Budget = UNLIMITED,
               advance=lambda n=1: None) -> RoundsRow:
    t0 = time.perf_counter()
    s = memory_words(N, delta)
    protocol = algo.build(N, s)
    transformer = f"not run (N > {compile_upto}, the table's compile limit)"
    v = None
    if N <= compile_upto:
        try:
            res = side_by_side(algo, N, mode=mode, samples=samples, seed=seed, hashing=hashing,
                               codes=codes, attention=attention, s=s, budget=budget, advance=advance)
            v = res.verdict
            transformer = f"side by side, {len(res.simulation.layers)} layers (certificate {res.certificate.ok})"
        except BadInput as e:                       # the compile limits, not the protocol
            transformer = f"not compiled: {e}"
    if v is None:
        v = protocol_check(algo, N, s, mode=mode, samples=samples, seed=seed, budget=budget, advance=advance)
    return RoundsRow(N, s, protocol.limits.q, protocol.rounds, v, transformer, time.perf_counter() - t0)


def rounds_table(algo: Algo, Ns, delta, **kw) -> RoundsTable:
    """:func:`rounds_row` at every N of ``Ns``; the table's verdict as in the module docstring."""
    d = parse_delta(delta)
    budget: Budget = kw.get("budget", UNLIMITED)
    rows, spent = [], None
    for N in Ns:
        if N < 2:
            raise BadInput(f"--N must be >= 2, got {N}")
        check_size(N)
    for N in Ns:
        try:
            budget.check(rows=len(rows))
        except BudgetExceeded as e:
            spent = f"{e}: {len(rows)} of {len(Ns)} rows done"
            break
        rows.append(rounds_row(algo, N, d, **kw))
        if rows[-1].verdict.status is Status.REFUTED:
            break
    rounds = sorted({r.rounds for r in rows})
    bound = ""
    if algo.name in ROUND_BOUNDS:
        text, f = ROUND_BOUNDS[algo.name]
        bound = f" (delta bound {text} = {f(d)})"
    claim = (f"the low-memory {algo.name} protocol (s = ceil(N^{d})) is correct at each N and"
             f" (measured) takes {'/'.join(map(str, rounds))} rounds over N = {', '.join(str(r.N) for r in rows)}"
             f"{bound}")
    bad = [r for r in rows if r.verdict.status is Status.REFUTED]
    ev = {"delta": str(d), "rows": [r.to_json() for r in rows], "rounds": rounds,
          "round_bound": ({"formula": ROUND_BOUNDS[algo.name][0], "value": ROUND_BOUNDS[algo.name][1](d)}
                          if algo.name in ROUND_BOUNDS else None)}
    cases = sum(r.verdict.cases for r in rows)
    if bad:
        r = bad[0]
        v = Verdict(Status.REFUTED, r.verdict.method, claim, cases, counterexample=r.verdict.counterexample,
                    reason=f"N = {r.N}: {r.verdict.reason}", evidence=ev)
    elif spent is None and all(r.verdict.status is Status.VERIFIED for r in rows):
        v = Verdict(Status.VERIFIED, min((r.verdict.method for r in rows), key=_weakest), claim, cases,
                    reason="every row verified: " + "; ".join(f"N = {r.N}: {r.verdict.method.value}"
                                                               for r in rows), evidence=ev)
    else:
        open_ = [r for r in rows if r.verdict.status is not Status.VERIFIED]
        v = Verdict(Status.UNKNOWN, Method.SAMPLE, claim, cases,
                    reason="; ".join([spent] * bool(spent) + [f"N = {r.N}: {r.verdict.reason}" for r in open_]),
                    evidence=ev)
    return RoundsTable(v, tuple(rows), str(d))


def _weakest(m: Method) -> int:
    return {Method.SAMPLE: 0, Method.CERTIFICATE: 1, Method.EXHAUSTIVE: 2}.get(m, 0)

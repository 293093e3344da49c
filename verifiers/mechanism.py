"""Mechanism check from emulator traces: does every head attend where its promise says?

Shape glossary: B inputs, N positions (1-indexed in reports), T = N + 1, L layers, H heads.

The certificate proves outputs; this check reads the *mechanism* off the trace (STYLE.md
practice 4; the interpretability claim ``sht24a.emp`` G.2 on our construction): for every layer
and head, the position its promise intends (``i - 1``, ``find^1(i)``, ``find^(2^(l-3))(i)``, from
:func:`attncheck.verifiers.semantics.compose`) is evaluated on each input with the plain-Python
``find`` (:mod:`attncheck.constructions.tasks`), and compared with the attention row of the
emulator: the argmax must be the intended position and the mass on it is reported, with the
alignment score of App. G.2, ``<A, B> = ||A o B||_F^2 / (||A||_F ||B||_F)`` between the attention
rows A and the 0/1 matrix B of the intended pointer (1 for a head that is exactly the pointer),
averaged over the probe inputs.

Inputs are seeded random sequences plus structured ones that make pointer chains long (the
cycle ``0, 1, ..., |Sigma|-1, 0, 1, ...``), a constant run (fixed points) and ``0 ... 0 1`` (misses).
Traces keep every attention matrix, so the batch is sized to a memory cap and the check is
skipped (with the reason) when one trace alone would exceed it; at large N fewer inputs are
probed (the report says how many).

The mechanism is evidence of a verdict: :func:`with_mechanism` holds the rule that a VERIFIED
whose mechanism check fails is UNKNOWN (``verify hop`` calls it; the CLI decides nothing).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from attncheck.constructions.spec import Construction, Label
from attncheck.constructions.tasks import find1_table
from attncheck.verifiers import semantics
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.verifiers.emulator import forward
from attncheck.constructions.precision import Format
from attncheck.constructions.verdict import BudgetExceeded, Status, Verdict

TRACE_BYTES = 1 << 27          # attention kept per batch (128 MiB)
WORK_ELEMS = 1 << 25           # attention entries over all probe inputs (fewer inputs at large N)


@dataclass(frozen=True)
class HeadMechanism:
    """Where one head attends, over ``pairs`` (input, position) pairs; a *hit* puts more than
    half of the mass on the intended position (so it is the unique argmax)."""

    layer: int
    head: int
    intended: str
    pairs: int
    hits: int
    min_mass: float
    mean_mass: float
    alignment: float
    first_miss: dict | None

    @property
    def ok(self) -> bool:
        return self.hits == self.pairs

    def to_json(self) -> dict:
        return {"layer": self.layer, "head": self.head, "intended": self.intended, "pairs": self.pairs,
                "argmax_hits": self.hits, "min_mass": self.min_mass, "mean_mass": self.mean_mass,
                "alignment": self.alignment, "ok": self.ok, "first_miss": self.first_miss}


@dataclass(frozen=True)
class MechanismReport:
    inputs: int
    seed: int
    fmt: str
    attention: str
    heads: tuple[HeadMechanism, ...]
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is None and all(h.ok for h in self.heads)

    def to_json(self) -> dict:
        return {"inputs": self.inputs, "seed": self.seed, "format": self.fmt, "attention": self.attention,
                "ok": self.ok, "skipped": self.skipped, "heads": [h.to_json() for h in self.heads]}


def pointer_text(ops) -> str:
    """``(("find", 2),)`` -> ``find^2(i)``."""
    return str(Label("p", tuple(ops)))[2:-1]


def targets(ops, table: np.ndarray) -> np.ndarray:
    """Positions ``ops(i)`` for i = 1..N given ``table = find1_table(x)`` (length N + 1)."""
    p = np.arange(1, len(table))
    for name, arg in ops:
        if name == "shift":
            p = np.maximum(0, p + arg)
        else:
            for _ in range(arg):
                p = table[p]
    return p


def probe_inputs(N: int, V: int, count: int, seed: int) -> np.ndarray:
    """(count, N): structured sequences first, then seeded uniform ones."""
    rng = np.random.default_rng(seed)
    rows = [np.arange(N) % V, np.zeros(N, dtype=np.int64), np.r_[np.zeros(N - 1, np.int64), 1]]
    rows = rows[:count]
    if count > len(rows):
        rows.extend(rng.integers(0, V, size=(count - len(rows), N)))
    return np.array(rows, dtype=np.int64).reshape(count, N)


def check_mechanism(c: Construction, fmt: Format, attention: str = "softmax", count: int = 32,
                    seed: int = 0, budget: Budget = UNLIMITED) -> MechanismReport:
    """Run ``count`` probe inputs with traces and compare each head's argmax with its promise.
    When ``budget`` runs out between batches the report covers the inputs done and says so."""
    plan: list = []
    try:
        semantics.compose(c, plan)
    except semantics.CompositionError as e:
        return MechanismReport(0, seed, str(fmt), attention, (), f"promises do not compose: {e}")
    T, L = c.n + 1, c.n_layers
    per_input = T * T * L * max(1, c.max_heads) * 8
    if count < 1:
        return MechanismReport(0, seed, str(fmt), attention, (), "no probe inputs requested")
    if per_input > TRACE_BYTES:
        return MechanismReport(0, seed, str(fmt), attention, (),
                               f"one trace at N = {c.n} keeps {per_input / 2**20:.0f} MiB of attention"
                               f" (cap {TRACE_BYTES / 2**20:.0f} MiB); use a smaller --N for the mechanism")
    count = max(1, min(count, WORK_ELEMS // (T * T * L * max(1, c.max_heads))))
    X = probe_inputs(c.n, c.alphabet, count, seed)
    step = max(1, TRACE_BYTES // per_input)
    stats = {(l, h): [0, 0, np.inf, 0.0, None, 0.0] for l, layer in enumerate(plan) for h in range(len(layer))}
    stopped = None
    for start in range(0, count, step):
        try:
            budget.check(probe_inputs_done=start, of=count)
        except BudgetExceeded as e:
            stopped = f"{e} after {start} of {count} probe inputs"
            count = start
            break
        xb = X[start:start + step]
        tr = forward(c, xb, fmt, attention, keep=True)
        for b, x in enumerate(xb):
            table = np.array(find1_table(x.tolist()))
            for l, layer in enumerate(plan):
                w = tr.attention[l][b]                                     # (H, T, T)
                for h, ops in enumerate(layer):
                    want = targets(ops, table)                             # (N,)
                    rows = w[h, 1:]                                        # (N, T)
                    mass = rows[np.arange(c.n), want]
                    arg = rows.argmax(axis=1)
                    s = stats[(l, h)]
                    hit = (mass >= rows.max(axis=1)) & (mass > 0.5)        # the unique argmax
                    s[0] += c.n
                    s[1] += int(hit.sum())
                    s[2] = min(s[2], float(mass.min()))
                    s[3] += float(mass.sum())
                    s[5] += float((mass ** 2).sum() / (np.linalg.norm(rows) * np.sqrt(c.n)))
                    if s[4] is None and not hit.all():
                        i = int(np.flatnonzero(~hit)[0])
                        s[4] = {"input": x.tolist(), "position": i + 1, "intended": int(want[i]),
                                "argmax": int(arg[i]), "mass_on_intended": float(mass[i])}
    heads = tuple(HeadMechanism(l + 1, h + 1, pointer_text(plan[l][h]), s[0], s[1], s[2],
                                s[3] / max(1, s[0]), s[5] / max(1, count), s[4]) for (l, h), s in stats.items())
    return MechanismReport(count, seed, str(fmt), attention, heads if count else (), stopped)


# --- the mechanism as evidence of a verdict (sht24a.thm4_2) ------------------------------------
def schedule_rows(c: Construction) -> dict[int, str]:
    """What a k-hop construction's schedule says layer l attends to: ``i-1``, ``find^1(i)``, then
    ``find^(2^(l-3))(i)`` (the jumps recorded in ``c.params["schedule"]``)."""
    out = {1: "i-1", 2: "find^1(i)"}
    for l, t in enumerate(c.params["schedule"]["jumps"], start=3):
        out[l] = f"find^{t}(i)"
    return out


def hop_mechanism(c: Construction, fmt: Format, attention: str = "softmax", count: int = 32,
                  seed: int = 0, budget: Budget = UNLIMITED) -> dict:
    """The per-layer mechanism check of a k-hop construction (:func:`check_mechanism`), each
    head also compared with what the schedule says; a head is ok only when it attends where its
    promise says AND the promise is the schedule's pointer."""
    rep = check_mechanism(c, fmt, attention, count, seed, budget).to_json()
    says = schedule_rows(c)
    for h in rep["heads"]:
        h["schedule"] = says.get(h["layer"])
        h["agrees_with_schedule"] = h["intended"] == h["schedule"]
        h["ok"] = h["ok"] and h["agrees_with_schedule"]
    rep["ok"] = rep["skipped"] is None and all(h["ok"] for h in rep["heads"])
    return rep


def with_mechanism(verdict: Verdict, mechanism: dict, **evidence) -> Verdict:
    """``verdict`` with the mechanism report (and ``evidence``) attached.  The soundness rule:
    a VERIFIED output claim whose mechanism check ran and failed becomes UNKNOWN -- the promises
    the certificate relies on are then not what the trace shows.  A skipped check (no probe
    inputs, trace over the memory cap) demotes nothing: the verdict rests on the certificate or
    the enumeration alone, and the report says the mechanism was skipped."""
    ev = {**verdict.evidence, "mechanism": mechanism, **evidence}
    if verdict.status is Status.VERIFIED and mechanism["skipped"] is None and not mechanism["ok"]:
        return dataclasses.replace(verdict, status=Status.UNKNOWN, evidence=ev,
                                   reason=verdict.reason + "; but the attention trace does not follow"
                                          " the promised mechanism (see evidence.mechanism)")
    return dataclasses.replace(verdict, evidence=ev)

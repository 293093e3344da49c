"""Refute a given RNN by the Myhill-Nerode argument on the model itself (``sht23.rnn-ih`` [R]).

Shape glossary: B batch, N steps, V = |Sigma| symbols, P_t = |Sigma|^t prefixes of length t,
S_t = |Sigma|^(N-t) suffixes, L layers.

**The argument.**  The runner (:func:`attncheck.verifiers.rnn_run.run`) steps layer l at position
i from its integer fields and its inputs ``(x_i, v^{l-1}_i)`` only.  So the tuple of every
layer's packed state after t steps (``RNNTrace.states[l][:, t-1]``) determines every output from
t + 1 on, given the suffix: by induction over the layers, layer 1's future depends on its state
and the suffix tokens, layer l's on its state and layer l-1's future stream.  Two prefixes u, u'
of length t with the same state tuple therefore give the same output at N after every suffix v.
If u and u' lie in different Myhill-Nerode classes at cut t (computed by the caller from the task
alone: ``class_ids``), some v gives ``task(uv)_N != task(u'v)_N``; the model is wrong on one of
the two inputs.  :func:`refute_rnn` finds such a pair, takes the first separating suffix from the
answer tensor, and replays both inputs through the runner and tasks.py; only what the replay
confirms is reported (a disagreement stops the run as an internal error).

**Guaranteed.**  When the joint state space (the product over layers of each cell's declared
``states``) or the number of state tuples the prefixes reach at some cut t is below the number of
classes c_t there, pigeonhole forces a collision, and the search (every prefix of that length)
must find it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from attncheck.constructions import tasks
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.rnn import BOT_CODE, RNN
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method,
                                             Status, Verdict)
from attncheck.verifiers.rnn_run import run

THEOREM = {"induction": ("sht23.rnn-ih", "R"), "hop": ("sht24a.cor5_2", "P")}
#: Largest number of prefixes of one length run through the model.
MAX_PREFIXES = 1 << 20


@dataclass(frozen=True, eq=False)
class Classes:
    """The task side, computed by the caller: ``ids[t]`` (|Sigma|^t,) the class of every prefix of
    length t (lexicographic, position 1 most significant) for t = 0..N, and ``answers``
    (|Sigma|^N,) the task's answer code at N on every input (the separating suffix is read off)."""

    task: str
    N: int
    alphabet: int
    k: int
    ids: tuple[np.ndarray, ...]
    answers: np.ndarray

    def count(self, t: int) -> int:
        return int(self.ids[t].max()) + 1


def _prefixes(V: int, t: int) -> np.ndarray:
    """Every prefix of length t in lexicographic order: (V^t, t)."""
    idx = np.arange(V ** t, dtype=np.int64)
    return (idx[:, None] // V ** np.arange(t - 1, -1, -1)[None, :]) % V


def joint_states(rnn: RNN) -> int:
    """Size of the joint declared state space (product over layers of ``Cell.states``)."""
    return math.prod(c.states for c in rnn.layers)


def _truth(task: str, k: int, x: list[int]):
    out = tasks.induction_heads(x) if task == "induction" else tasks.hop(x, k)
    return out[-1]


def check_rnn_model(rnn: RNN, cls: Classes) -> None:
    if rnn.alphabet < cls.alphabet:
        raise BadInput(f"the RNN reads {rnn.alphabet} symbols, fewer than --alphabet {cls.alphabet}")
    if cls.N < 2:
        raise BadInput(f"--N must be >= 2, got {cls.N}")


def refute_rnn(rnn: RNN, cls: Classes, budget: Budget | None = None,
               on_step: Callable[[int], None] | None = None) -> Verdict:
    """Search every cut t = 1..N-1 (widest class count first) for two prefixes with one state
    tuple in different classes; REFUTED with the replayed input, else UNKNOWN."""
    budget = budget or UNLIMITED
    check_rnn_model(rnn, cls)
    V, N = cls.alphabet, cls.N
    tid, tag = THEOREM.get(cls.task, THEOREM["induction"])
    joint = joint_states(rnn)
    counts = [cls.count(t) for t in range(N + 1)]
    cuts = sorted(range(1, N), key=lambda t: (-counts[t], t))
    per_cut, found = [], None
    claim = (f"{tid} [{tag}]: the RNN {rnn.name} ({len(rnn.layers)} layer(s), {joint:,} joint states)"
             f" computes {cls.task} at position N={N} on every input of {V}^{N}")
    try:
        for t in cuts:
            budget.check(stage="rnn prefixes", cut=t)
            if V ** t > MAX_PREFIXES:
                per_cut.append({"t": t, "classes": counts[t], "skipped": f"{V}^{t} prefixes over the cap"})
                continue
            U = _prefixes(V, t)
            tr = run(rnn, U)
            key = np.stack([s[:, t - 1] for s in tr.states], axis=1)          # (P_t, L)
            _, state_id = np.unique(key, axis=0, return_inverse=True)
            state_id = state_id.reshape(-1)
            reached = int(state_id.max()) + 1
            per_cut.append({"t": t, "classes": counts[t], "states_reached": reached})
            if on_step:
                on_step(1)
            ids = cls.ids[t]
            first_of: dict[int, int] = {}
            for u in range(len(U)):
                s = int(state_id[u])
                if s not in first_of:
                    first_of[s] = u
                elif ids[first_of[s]] != ids[u]:
                    found = (t, first_of[s], u)
                    break
            if reached < counts[t] and found is None:
                raise RuntimeError(f"pigeonhole at t={t}: {reached} states < {counts[t]} classes, yet no collision")
            if found is not None:
                break
    except BudgetExceeded as e:
        return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE, claim, "partial", f"{e}; stopped at {e.progress}",
                       None, _evidence(rnn, cls, joint, counts, per_cut, tid, tag))
    ev = _evidence(rnn, cls, joint, counts, per_cut, tid, tag)
    if found is None:
        return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE, claim, sum(V ** c["t"] for c in per_cut
                                                                     if "states_reached" in c),
                       "no two prefixes of one length share a state across Myhill-Nerode classes: the"
                       " argument cannot refute this RNN (it may still be wrong: run verify rnn)", None, ev)
    t, u1, u2 = found
    ce = _replay(rnn, cls, t, u1, u2)
    ev.update({"cut": t, "prefixes": [ce["prefix"], ce["partner_prefix"]], "suffix": ce["suffix"]})
    cases = sum(V ** c["t"] for c in per_cut if "states_reached" in c)
    why = (f"prefixes {ce['prefix']} and {ce['partner_prefix']} reach the same state at t={t} but lie in"
           f" different Myhill-Nerode classes; suffix {ce['suffix']} separates them (replayed)"
           + (" — guaranteed: " + ev["guarantee"] if ev["guaranteed"] else ""))
    return Verdict(Status.REFUTED, Method.EXHAUSTIVE, claim, cases, why,
                   Counterexample(tuple(ce["tokens"]), N, ce["expected"], ce["got"],
                                  {"partner": ce["partner"], "partner_expected": ce["partner_expected"],
                                   "same_output": ce["got"], "cut": t}), ev)


def _evidence(rnn, cls, joint, counts, per_cut, tid, tag) -> dict[str, Any]:
    widest = max(counts[1:cls.N]) if cls.N > 1 else 1
    reached_below = [c for c in per_cut if "states_reached" in c and c["states_reached"] < c["classes"]]
    guaranteed = joint < widest or bool(reached_below)
    if joint < widest:
        why = f"{joint:,} joint states < {widest:,} classes (declared state space)"
    elif reached_below:
        c = reached_below[0]
        why = f"{c['states_reached']:,} states reached < {c['classes']:,} classes at t={c['t']}"
    else:
        why = ""
    return {"theorem": tid, "status_tag": tag, "argument": "Myhill-Nerode classes (one-pass state)",
            "joint_states": joint, "state_bits": rnn.size()["state_bits"],
            "max_classes": widest, "class_bits": (widest - 1).bit_length(),
            "cuts": per_cut, "guaranteed": guaranteed, "guarantee": why}


def _replay(rnn: RNN, cls: Classes, t: int, u1: int, u2: int) -> dict:
    V, N = cls.alphabet, cls.N
    S = V ** (N - t)
    rows = cls.answers.reshape(V ** t, S)
    diff = np.flatnonzero(rows[u1] != rows[u2])
    if diff.size == 0:
        raise RuntimeError("the two prefixes' rows do not differ in the answer tensor")
    pre = _prefixes(V, t)
    suf = _prefixes(V, N - t)[int(diff[0])] if N > t else np.zeros(0, dtype=np.int64)
    xs = [pre[u1].tolist() + suf.tolist(), pre[u2].tolist() + suf.tolist()]
    tr = run(rnn, np.array(xs))
    got = [None if int(o) == BOT_CODE else int(o) for o in tr.outputs[:, N - 1]]
    want = [_truth(cls.task, cls.k, x) for x in xs]
    if got[0] != got[1]:
        raise RuntimeError(f"equal states at t={t} gave different outputs at N ({got})")
    if want[0] == want[1]:
        raise RuntimeError("the separating suffix does not separate the answers under tasks.py")
    w = 0 if got[0] != want[0] else 1
    return {"tokens": xs[w], "expected": want[w], "got": got[w], "partner": xs[1 - w],
            "partner_expected": want[1 - w], "prefix": xs[w][:t], "partner_prefix": xs[1 - w][:t],
            "suffix": suf.tolist()}

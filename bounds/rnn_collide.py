"""Refuting a given multi-layer RNN on hop_k through its protocol's transcripts (``sht24a.cor5_2``
[P], ``an21.prop4_12`` [P]; the search is ours [R]).

Shape glossary: q layer size, k hops = players, L layers = rounds, s state bits per layer.

Run the RNN on the (q,k)-pointer-chasing inputs of ``task.hopk_blackboard`` as the L-round
blackboard protocol of :mod:`attncheck.bounds.multipass` (player P_j holds E_j; P_k also the public
split, P_1 the public start).  Deterministic blackboard protocols have rectangles for transcripts:
if inputs x and y write the same board, then every mix z (each player's input taken from x or from
y) writes that board too, by induction over the messages, and gets the same output.  So a
collision of two transcripts whose mixes do not all have the same hop_k answer proves the RNN
wrong on one of the mixes -- possibly on an input the search never ran.  That is the finite form
of the communication argument; the asymptotic bound (R >= k or s = Omega(q/k^5)) has no constants
and promises nothing at a given size, so the search reports what it finds:

* REFUTED: a counterexample z, replayed through the whole-input run of the model (never the
  protocol alone), with how it was found (``rectangle``: a mix of two colliding inputs whose own
  answers may both be right; ``direct``: the protocol's answer on an input the search ran);
* VERIFIED only when every input of the family was run and answered correctly (exhaustive);
* UNKNOWN otherwise (sampled inputs, budget spent).
"""
from __future__ import annotations

import itertools
import math
import random

from attncheck.bounds import multipass
from attncheck.bounds.reduction_instances import pointer_hop_encode
from attncheck.bounds.seq_reductions import (an21_row, pointer_instances, pointer_sample, pointer_spans,
                                             pointer_tokens)
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.tasks import hop
from attncheck.constructions.verdict import (BadInput, BudgetExceeded, Counterexample, Method, Status,
                                             Verdict)

EXHAUSTIVE_CAP = 200_000


def _inputs(inst, k: int) -> list:
    """Each player's input, P_k first: (E_k, split), E_{k-1}, ..., E_1."""
    matchings, split = inst
    return [(matchings[k - 1], split)] + [matchings[j - 1] for j in range(k - 1, 0, -1)]


def _from_inputs(parts, k: int):
    matchings = [None] * k
    matchings[k - 1], split = parts[0]
    for t, j in enumerate(range(k - 1, 0, -1), start=1):
        matchings[j - 1] = parts[t]
    return tuple(matchings), split


def mixes(x, y, k: int):
    """Every instance whose player inputs come from x or y (2^k of them, x and y included)."""
    a, b = _inputs(x, k), _inputs(y, k)
    for pick in itertools.product((0, 1), repeat=k):
        yield _from_inputs([b[t] if c else a[t] for t, c in enumerate(pick)], k)


def _show(inst) -> dict:
    return {"matchings": [list(m) for m in inst[0]], "first_half": sorted(inst[1])}


def collide(layers, q: int, k: int, mode: str = "auto", samples: int = 2000, seed: int = 0,
            budget: Budget | None = None, search: str = "both") -> Verdict:
    """Search the transcripts of the L-round protocol for a refutation of "the RNN computes
    hop_k(X)_N on every (q,k) pointer-chasing input".  ``search="rectangle"`` reports only what
    transcript collisions prove (the direct comparison of each run input is skipped)."""
    if search not in ("both", "rectangle"):
        raise BadInput(f"--search must be both or rectangle, got {search!r}")
    if mode not in ("auto", "exhaustive", "sample"):
        raise BadInput(f"--mode must be auto, exhaustive or sample, got {mode!r}")
    p = {"q": q, "k": k}
    total = math.factorial(q) ** k * (1 << q)
    exhaustive = mode == "exhaustive" or (mode == "auto" and total <= EXHAUSTIVE_CAP)
    if exhaustive and total > 10 * EXHAUSTIVE_CAP:
        raise BadInput(f"({q},{k})-pointer chasing has {total:,} inputs; use --mode sample")
    budget = budget or UNLIMITED
    spans, L = pointer_spans(q, k), len(layers)
    s = max(lay.bits for lay in layers)
    claim = (f"sht24a.cor5_2 [P], search [R]: this {L}-layer RNN ({s}-bit states) computes hop_{k}(X)_N"
             f" on every ({q},{k}) pointer-chasing input (N = {2 * q * k + 1})")
    stream = (pointer_instances(p) if exhaustive
              else (pointer_sample(p, random.Random(seed)) for _ in range(samples)))
    seen: dict[tuple, tuple] = {}
    done = 0
    ev = lambda: {"instances": total, "ran": done, "transcripts": len(seen), "rounds": L,   # noqa: E731
                  "message_bits": s, "bound": an21_row(L, s, q, k)}
    try:
        for inst in stream:
            x, _ = pointer_tokens(inst, q, k)
            tr = multipass.layer_rounds(layers, x, spans)
            done += 1
            key = tr.key()
            if key in seen:
                found = _rectangle(layers, inst, seen[key], tr, q, k)
                if found:
                    return _refuted(claim, found, ev(), layers, q, k)
            else:
                seen[key] = inst
            if search == "both" and tr.output != hop(x, k)[-1]:
                return _refuted(claim, (inst, "direct", None), ev(), layers, q, k)
            if done % 256 == 0:
                budget.check(checked=done)
    except BudgetExceeded:
        return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE if exhaustive else Method.SAMPLE, claim, done,
                       f"budget spent after {done:,} inputs; no refutation so far", None, ev())
    if exhaustive and search == "both":
        return Verdict(Status.VERIFIED, Method.EXHAUSTIVE, claim, done,
                       f"the RNN answers all {done:,} inputs correctly ({len(seen):,} distinct transcripts):"
                       " nothing to refute at this size", None, ev())
    if exhaustive:
        return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE, claim, done,
                       f"no transcript collision among all {done:,} inputs has mixes with another answer"
                       f" ({len(seen):,} distinct transcripts); inputs were not compared one by one", None, ev())
    return Verdict(Status.UNKNOWN, Method.SAMPLE, claim, done,
                   f"no refutation among {done:,} seeded inputs (seed {seed}) of {total:,}"
                   f" ({len(seen):,} distinct transcripts); a sample is not a proof", None, {**ev(), "seed": seed})


def _rectangle(layers, x, y, tr, q, k):
    """A mix of the colliding x and y whose hop_k answer differs from the common output."""
    spans = pointer_spans(q, k)
    for z in mixes(x, y, k):
        xz, _ = pointer_tokens(z, q, k)
        if hop(xz, k)[-1] != tr.output:
            if multipass.layer_rounds(layers, xz, spans).key() != tr.key():
                raise RuntimeError("a mix of two colliding inputs wrote another board (not a rectangle)")
            return z, "rectangle", (x, y)
    return None


def _refuted(claim, found, ev, layers, q, k) -> Verdict:
    z, how, pair = found
    xz = pointer_hop_encode(z[0], z[1], q)
    got = multipass.run_stack(layers, xz)[-1][-1]          # replay: the model itself, whole input
    want = hop(xz, k)[-1]
    if got == want:
        raise RuntimeError("a refutation did not replay through the model")
    detail = {"found_by": how, "instance": _show(z), "replayed": True}
    if pair:
        detail["colliding"] = [_show(pair[0]), _show(pair[1])]
    bot = layers[-1].w_out - 1
    dec = lambda v: None if v == bot else int(v)                                     # noqa: E731
    ce = Counterexample(tuple(xz), len(xz), dec(want), dec(got), detail)
    why = ("two inputs wrote the same board; a mix of their players' inputs writes it too, with another"
           " answer" if how == "rectangle" else "the protocol's (= the model's) answer is wrong")
    return Verdict(Status.REFUTED, Method.EXHAUSTIVE, claim, ev["ran"],
                   f"{how}: {why}; replayed through the model", ce, ev)

"""The least query/key width at which random sign codes admit qSA certificates (``sht23.thm2``,
the least-squares recipe [R]; ``attncheck search width qsa``).

Shape glossary: N positions, q pointer-set size, m code width.

A width works when, for one of the tried seeds, the least-squares certificate of EVERY q-subset
keeps every off-set score <= theta: a margin pass (:func:`attncheck.verifiers.qsa_sweep.sweep`,
the one check loop) that stops at the first failing batch.  Doubling from m = q, then bisection;
widths are not monotone in general, so the answer is the least m on the search path and its
m - 1 is checked as well.
"""
from __future__ import annotations

import math

from attncheck.constructions.budget import Budget
from attncheck.constructions.qsa import THETA_RANDOM, build_qsa, default_width
from attncheck.verifiers.qsa_sweep import sweep


def smallest_width(N: int, q: int, theta: float = THETA_RANDOM, seed: int = 0, tries: int = 1,
                   m_max: int | None = None, budget: Budget | None = None, advance=None) -> dict:
    """Smallest m (random codes) whose least-squares certificates put every off-set score
    <= theta for EVERY q-subset, for one of ``tries`` seeds.  -> ``found``, ``m``, ``seed``,
    ``m_minus_1_fails``, ``m_max`` and every width ``checked`` (its worst off-set score).
    Raises BudgetExceeded when the budget runs out."""
    m_max = m_max or 4 * default_width(N, q)
    cache: dict[int, tuple[bool, int | None, float]] = {}

    def works(m: int) -> bool:
        if m not in cache:
            ok, s_ok, worst = False, None, math.inf
            for s in range(seed, seed + tries):
                c = build_qsa(N, q, m=m, seed=s, codes="random")
                r = sweep(c, "margin", stop_above=theta, budget=budget, advance=advance)
                worst = min(worst, r.value)
                if r.complete and r.value <= theta:
                    ok, s_ok = True, s
                    break
            cache[m] = (ok, s_ok, worst)
        return cache[m][0]

    def report(**out) -> dict:
        return {**out, "m_max": m_max,
                "checked": {m: {"ok": v[0], "worst_off_score": v[2]} for m, v in sorted(cache.items())}}

    lo, hi = q - 1, q                      # invariant: lo fails (or is < q), hi is being tried
    while not works(hi):
        lo = hi
        if hi >= m_max:
            return report(found=False, m=None)
        hi = min(2 * hi, m_max)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    prev_fails = hi == 1 or not works(hi - 1)
    return report(found=True, m=hi, seed=cache[hi][1], m_minus_1_fails=prev_fails)

"""The ``verify mpc ALGO --delta D`` registry: protocols with s = ceil(N^delta) words [R].

Same :class:`~attncheck.constructions.mpc.algos.Algo` records as
:data:`attncheck.constructions.mpc.algos.ALGOS` (instances, samplers and plain ground truth are
shared), with builders that take the memory s = :func:`~attncheck.constructions.mpc.lowmem.memory_words`
(N, delta) and whose round count depends on delta only (:mod:`attncheck.constructions.mpc.lowmem`).
"""
from __future__ import annotations

from attncheck.constructions.mpc import algos, basic, lowmem
from attncheck.constructions.mpc.algos import BASIC_P, Algo
from attncheck.constructions.verdict import BadInput


def _need_s(s: int | None) -> int:
    if s is None:
        raise BadInput("the low-memory protocols take s from --delta (s = ceil(N^delta))")
    return s


LOWMEM: dict[str, Algo] = {
    "broadcast": Algo("broadcast", "model.mpc",
                      lambda N, s=None: lowmem.fanout_broadcast(N, _need_s(s), BASIC_P),
                      algos._words_domain, algos._words_sample,
                      lambda N, w, s: basic.broadcast_truth(w, max(N, s)),
                      "broadcast word 0 by fan-out s, ceil(log_s N) <= ceil(1/delta) rounds"),
    "prefix": Algo("prefix", "model.mpc",
                   lambda N, s=None: lowmem.tree_prefix(N, _need_s(s), BASIC_P),
                   algos._words_domain, algos._words_sample,
                   lambda N, w, s: basic.prefix_truth(w, BASIC_P),
                   "prefix sums mod 2^p by a fan-in s-1 tree, 2h+1 rounds (h <= ceil(2/delta))"),
    "sort": Algo("sort", "model.mpc",
                 lambda N, s=None: lowmem.rank_sort(N, _need_s(s), BASIC_P),
                 algos._words_domain, algos._words_sample, lambda N, w, s: basic.sort_truth(w),
                 "rank sort over block pairs with fan-out/fan-in s trees, H + H_A + 2 rounds"),
}


def lowmem_algo(name: str) -> Algo:
    if name not in LOWMEM:
        raise BadInput(f"--delta applies to {', '.join(LOWMEM)}; {name!r} has no low-memory protocol")
    return LOWMEM[name]

"""Sparse routing of one MPC head: which numbers it reads, and its argmax-set sums.

Shape glossary: c rows, d packet slots, F = 5 packet fields, nk receiver keys, m argmax-set
members, w filled slots.

Used by :mod:`attncheck.verifiers.mpc_engine` for hardmax heads whose four matrices are signed
selections (``lemma.sht24a.3_2`` builds them so) and whose W_O writes only the recv slot, all
proved from the numbers (:func:`sparse_plan`).  Then recv column r of the head's write is
``sign[r]`` times the argmax-set average of one residual column, so a receiver's packets are the
sum of its argmax set's value rows over the set's size: :func:`sum_rows` adds them on the slots
some member fills (:func:`compact`), which for integers below 2^53 are the numbers of
``(w @ v) / z`` in any order [R].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from attncheck.constructions.mpc.routing import F
from attncheck.constructions.mpc.simulate import Simulation
from attncheck.constructions.spec import Head
from attncheck.verifiers.mpc_attend import Selection, plan


@dataclass(frozen=True, eq=False)
class SparsePlan:
    """One head's selections for the sparse routing: queries, keys, and ``recv`` (W_V then W_O
    restricted to the recv columns: recv column r of the head's write is ``sign[r]`` times the
    argmax-set average of ``row[col[r]]``); ``reads`` the residual columns they read."""

    q: Selection
    k: Selection
    recv: Selection
    reads: np.ndarray


def sparse_plan(sim: Simulation, head: Head) -> SparsePlan | None:
    """The sparse routing of ``head``, from its numbers, or None: W_Q, W_K, W_V, W_O signed
    selections, a positive finite temperature, W_O zero outside the recv columns."""
    p = plan(head)
    if None in (p.q, p.k, p.v, p.o) or not (np.isfinite(p.temperature) and p.temperature > 0):
        return None
    recv = sim.layout["recv"].sl
    outside = np.ones(head.W_O.shape[1], dtype=bool)
    outside[recv] = False
    if np.any(head.W_O[:, outside]):
        return None
    o_col, o_sign = p.o.col[recv], p.o.sign[recv]                       # value index per recv column
    sign = o_sign * p.v.sign[o_col]
    r = Selection(np.where(sign != 0, p.v.col[o_col], 0), sign)
    reads = np.unique(np.concatenate([p.q.reads(), p.k.reads(), r.reads()]))
    return SparsePlan(p.q, p.k, r, reads)


def compact(U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value rows on the recv slots (c, d, F) -> their nonzero slots: slot ids (c, w) (-1 pads)
    and fields (c, w, F)."""
    r, slot = np.nonzero((U != 0).any(axis=2))
    cnt = np.bincount(r, minlength=U.shape[0])
    w = int(cnt.max(initial=0))
    pos = np.arange(len(r)) - np.searchsorted(r, r)
    slots = np.full((U.shape[0], w), -1, dtype=np.int64)
    vals = np.zeros((U.shape[0], w, F))
    slots[r, pos] = slot
    vals[r, pos] = U[r, slot]
    return slots, vals


def sum_rows(slots: np.ndarray, vals: np.ndarray, members: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``sum_{j in members} u_j / z + 0.0`` for each receiver key, on the slots some member fills:
    (nk, w', F), zero padded.  The sums are of integers below 2^53 (checked by the caller), so
    they are the numbers of ``w @ v`` in any order."""
    nk, w = members.shape[0], slots.shape[1]
    has = members >= 0
    rows = np.where(has, members, 0)
    S = np.where(has[:, :, None], slots[rows], -1).reshape(nk, -1)      # (nk, m w) slots, -1 = none
    Ss = np.sort(S, axis=1)
    if not ((Ss[:, 1:] == Ss[:, :-1]) & (Ss[:, 1:] >= 0)).any():        # no slot filled twice: no sums
        V = np.where(has[:, :, None, None], vals[rows], 0.0).reshape(nk, -1, F)
        return V / z[:, None, None].astype(np.float64) + 0.0
    key_idx, mem_idx = np.nonzero(has)
    rows = members[key_idx, mem_idx]
    e_key = np.repeat(key_idx, w)
    e_slot = slots[rows].reshape(-1)
    keep = e_slot >= 0
    e_key, e_slot, e_val = e_key[keep], e_slot[keep], vals[rows].reshape(-1, F)[keep]
    d = int(slots.max(initial=0)) + 1
    if np.bincount(e_key * d + e_slot).max(initial=0) > 1:            # a slot two members fill: add them
        order = np.lexsort((e_slot, e_key))
        e_key, e_slot, e_val = e_key[order], e_slot[order], e_val[order]
        new = np.ones(len(e_key), dtype=bool)
        new[1:] = (e_key[1:] != e_key[:-1]) | (e_slot[1:] != e_slot[:-1])
        heads_ = np.flatnonzero(new)
        e_val = np.add.reduceat(e_val, heads_, axis=0) if len(heads_) else np.zeros((0, F))
        e_key = e_key[heads_]
    width = int(np.bincount(e_key, minlength=nk).max(initial=0))
    out = np.zeros((nk, max(width, 1), F))
    out[e_key, np.arange(len(e_key)) - np.searchsorted(e_key, e_key)] = e_val
    return out / z[:, None, None].astype(np.float64) + 0.0


def gather(rows: np.ndarray, sel: Selection) -> np.ndarray:
    """``rows @ W`` for a selection W (rows finite): the same numbers as the product."""
    return rows[:, sel.col] * sel.sign + 0.0

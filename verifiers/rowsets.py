"""Per-position sets of codebook rows, kept compact so the certificate scales with N.

Shape glossary: T = N + 1 positions, nb codebook rows.

A :class:`RowSets` says which codebook rows a slot may name at each position (a token slot:
every symbol's row; a pointer slot after lastOccurrence: any position <= i).  Three forms, all
sound descriptions of a set per position:

* ``single``: exactly one row per position (``rows`` (T,), -1 = none) -- a constant slot;
* ``dense``: a boolean mask (T, nb) -- small codebooks (tokens);
* ``upto``: the rows 0..``ub[t]`` (``ub`` (T,), -1 = empty) -- large codebooks (positions).  An
  ``upto`` set may *over*-approximate the true set (it keeps only its largest row); every
  check over it then covers more cases than occur, which is sound.

A codebook with more than :data:`DENSE_MAX` rows is always kept ``upto``, so nothing the
certificate stores grows like N^2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DENSE_MAX = 2048


@dataclass(frozen=True, eq=False)
class RowSets:
    kind: str
    nb: int
    rows: np.ndarray | None = None       # single: (T,)
    mask: np.ndarray | None = None       # dense: (T, nb)
    ub: np.ndarray | None = None         # upto: (T,)

    # -- constructors ----------------------------------------------------------------------------
    @staticmethod
    def single(rows: np.ndarray, nb: int) -> "RowSets":
        return RowSets("single", nb, rows=np.asarray(rows, np.int64))

    @staticmethod
    def dense(mask: np.ndarray) -> "RowSets":
        return RowSets("dense", mask.shape[1], mask=np.asarray(mask, bool))

    @staticmethod
    def upto(ub: np.ndarray, nb: int) -> "RowSets":
        return RowSets("upto", nb, ub=np.minimum(np.asarray(ub, np.int64), nb - 1))

    @staticmethod
    def constant(T: int, rows, nb: int, start_row: int = -1) -> "RowSets":
        """The same rows at every position >= 1; ``start_row`` (or nothing) at position 0."""
        rows = np.asarray(sorted(set(int(r) for r in rows)), np.int64)
        if nb <= DENSE_MAX:
            m = np.zeros((T, nb), bool)
            m[1:, rows] = True
            if start_row >= 0:
                m[0, start_row] = True
            return RowSets.dense(m)
        ub = np.full(T, int(rows.max()) if len(rows) else -1)
        ub[0] = start_row
        return RowSets.upto(ub, nb)

    @property
    def T(self) -> int:
        return len(self.rows if self.kind == "single" else self.mask if self.kind == "dense" else self.ub)

    # -- queries ---------------------------------------------------------------------------------
    def domain(self) -> np.ndarray:
        """Rows allowed at some position t >= 1, sorted."""
        if self.kind == "single":
            r = self.rows[1:]
            return np.unique(r[r >= 0])
        if self.kind == "dense":
            return np.flatnonzero(self.mask[1:].any(axis=0))
        top = int(self.ub[1:].max(initial=-1))
        return np.arange(top + 1)

    def max_row(self) -> np.ndarray:
        """(T,) the largest row allowed at each position (-1 when none)."""
        if self.kind == "single":
            return self.rows.copy()
        if self.kind == "dense":
            has = self.mask.any(axis=1)
            last = self.nb - 1 - np.argmax(self.mask[:, ::-1], axis=1)
            return np.where(has, last, -1)
        return self.ub.copy()

    def members(self, idx: np.ndarray, dom: np.ndarray) -> np.ndarray:
        """(len(idx), len(dom)) bool: row dom[a] allowed at position idx[i]."""
        if self.kind == "single":
            return self.rows[idx][:, None] == dom[None, :]
        if self.kind == "dense":
            return self.mask[np.ix_(idx, dom)]
        return dom[None, :] <= self.ub[idx][:, None]

    def at_start(self, row: int) -> "RowSets":
        """The same sets with position 0 replaced by ``{row}`` (or emptied when row < 0)."""
        if self.kind == "single":
            r = self.rows.copy()
            r[0] = row
            return RowSets.single(r, self.nb)
        if self.kind == "dense":
            m = self.mask.copy()
            m[0] = False
            if row >= 0:
                m[0, row] = True
            return RowSets.dense(m)
        ub = self.ub.copy()
        ub[0] = row
        return RowSets.upto(ub, self.nb)

    # -- the two ways a head combines sets -------------------------------------------------------
    def cumulative(self) -> "RowSets":
        """Position i gets the union of the sets at positions 0..i (lastOccurrence targets)."""
        if self.kind == "upto" or (self.kind == "single" and self.nb > DENSE_MAX):
            src = self.ub if self.kind == "upto" else self.rows
            return RowSets.upto(np.maximum.accumulate(src), self.nb)
        return RowSets.dense(np.logical_or.accumulate(self.as_dense(), axis=0))

    def gather(self, targets: "RowSets") -> "RowSets":
        """Position i gets the union of this set at every position p in ``targets[i]`` (lookUp:
        ``targets`` are the pointers the query may hold)."""
        if targets.kind == "single":
            p = np.clip(targets.rows, 0, None)
            empty = targets.rows < 0
            if self.kind == "single":
                return RowSets.single(np.where(empty, -1, self.rows[p]), self.nb)
            if self.kind == "upto":
                return RowSets.upto(np.where(empty, -1, self.ub[p]), self.nb)
            m = self.mask[p].copy()
            m[empty] = False
            return RowSets.dense(m)
        if targets.kind == "upto":
            cum = self.cumulative()                     # union over p <= ub = cumulative at ub
            ub = targets.ub
            p = np.clip(ub, 0, None)
            if cum.kind == "upto":
                return RowSets.upto(np.where(ub < 0, -1, cum.ub[p]), self.nb)
            m = cum.mask[p].copy()
            m[ub < 0] = False
            return RowSets.dense(m)
        mine = self.as_dense()
        return RowSets.dense((targets.mask.astype(np.float32) @ mine.astype(np.float32)) > 0)

    def as_dense(self) -> np.ndarray:
        """(T, nb) mask (only for codebooks up to :data:`DENSE_MAX` rows)."""
        if self.kind == "dense":
            return self.mask
        if self.nb > DENSE_MAX:
            raise ValueError(f"a {self.nb}-row codebook is kept compact, not as a mask")
        T = self.T
        m = np.zeros((T, self.nb), bool)
        if self.kind == "single":
            ok = self.rows >= 0
            m[np.flatnonzero(ok), self.rows[ok]] = True
        else:
            m = np.arange(self.nb)[None, :] <= self.ub[:, None]
        return m

    def compact(self) -> "RowSets":
        """``upto`` when the codebook is large, else unchanged."""
        if self.nb <= DENSE_MAX or self.kind != "dense":
            return self
        return RowSets.upto(self.max_row(), self.nb)

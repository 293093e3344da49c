"""The witness table: exact state bits and one-way CC versus N (docs/witnesses.md, README).

For the induction head (``sht23.rnn-ih`` [R]; one-way under the interleaved INDEX split of
``sht24b.one-layer-ih-lb`` [R]) and hop_2 (``sht24a.cor5_2`` [P]; one-way under the block split
of ``sht24a.propE_4`` [P]) at |Sigma| = 2, 3, 4 and the marker alphabet (binary data), each
cell is computed by myhill_nerode.rnn_state_classes and oneway.one_way_rows.  Cells over the
enumeration cap are recorded as such, never estimated.  Cells are independent: they run as the
chunks of the command's executor (constructions/executor.py; ``--workers``/``--scheduler``).
"""
from __future__ import annotations

from typing import Callable

from attncheck.bounds.witnesses.myhill_nerode import rnn_state_classes
from attncheck.bounds.witnesses.oneway import DEFAULT_SPLIT, one_way_rows
from attncheck.constructions.budget import UNLIMITED, Budget
from attncheck.constructions.executor import Executor, current
from attncheck.constructions.verdict import BadInput, BudgetExceeded

#: (task, k, alphabet, marker) per column group.
COLUMNS = tuple((task, k, a, a == "marker")
                for task, k in (("induction", 1), ("hop", 2)) for a in (2, 3, 4, "marker"))


def _cell(task: str, k: int, alphabet, marker: bool, N: int, budget: Budget) -> dict:
    a = 2 if marker else alphabet
    split = DEFAULT_SPLIT[task]
    cell = {"task": task, "k": k, "alphabet": "marker" if marker else alphabet, "N": N,
            "split": split, "state_bits": None, "max_classes": None, "oneway_bits": None,
            "rows": None, "rows_fixed_last": None, "note": ""}
    try:
        s = rnn_state_classes(task, N, a, k, marker, budget)
        cell.update(state_bits=s.bits, max_classes=s.max_classes)
        w = one_way_rows(task, N, a, split, k, budget, marker)
        cell.update(oneway_bits=w.bits, rows=w.rows, rows_fixed_last=w.rows_fixed_last)
    except BadInput as e:
        cell["note"] = "over cap" if "cap" in str(e) else "n/a"
    return cell


def _unreached(task: str, k: int, alphabet, N: int) -> dict:
    return {"task": task, "k": k, "alphabet": alphabet, "N": N, "note": "budget"}


def cell_job(job: tuple) -> dict:
    """One cell, wherever it runs: ``job = (task, k, alphabet, marker, N, seconds left)``; the
    budget is rebuilt here from the seconds (a clock does not travel between machines)."""
    task, k, a, marker, N, left = job
    try:
        return _cell(task, k, a, marker, N, Budget(None if left is None else max(left, 1e-9)))
    except BudgetExceeded:
        return _unreached(task, k, a, N)


def build_table(Ns, budget: Budget | None = None, on_step: Callable[[int], None] | None = None,
                executor: Executor | None = None) -> tuple[list[dict], bool]:
    """All cells for the given N values; returns (cells, stopped_by_budget).  Cells not
    reached when the budget runs out carry ``note = "budget"``.  The cells are the chunks of
    ``executor`` (default: the command's, serial unless --workers/--scheduler); each is exact
    wherever it runs, and they are put back in table order."""
    budget = budget or UNLIMITED
    ex = current() if executor is None else executor
    jobs = [(task, k, a, marker, N) for N in Ns for task, k, a, marker in COLUMNS]
    cells: list[dict | None] = [None] * len(jobs)
    stopped = False
    stream = ex.stream(cell_job, len(jobs), lambda i: (*jobs[i], budget.remaining), check=budget.check,
                       budget=budget)
    try:
        with stream:
            for i, cell in stream:
                cells[i] = cell
                if on_step:
                    on_step(1)
                if cell.get("note") == "budget":
                    stopped = True
                    break
    except BudgetExceeded:
        stopped = True
    return [c if c is not None else _unreached(t, k, a, N)
            for c, (t, k, a, _, N) in zip(cells, jobs)], stopped


def table_rows(cells: list[dict], Ns) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) per task: N, then state bits and one-way bits per alphabet."""
    out = []
    for task, k, split in (("induction", 1, "interleaved"), ("hop", 2, "block")):
        name = "induction head" if task == "induction" else "hop_2"
        alph = [2, 3, 4, "marker"]
        cols = ["N"] + [f"state bits |Σ|={a}" if a != "marker" else "state bits marker" for a in alph] \
            + [f"1-way CC |Σ|={a}" if a != "marker" else "1-way CC marker" for a in alph]
        rows = []
        for N in Ns:
            by_a = {c["alphabet"]: c for c in cells if c["task"] == task and c["N"] == N}
            rows.append([str(N)] + [_fmt(by_a.get(a), "state_bits") for a in alph]
                        + [_fmt(by_a.get(a), "oneway_bits") for a in alph])
        title = (f"{name}: state bits ({'sht23.rnn-ih [R]' if task == 'induction' else 'sht24a.cor5_2 [P]'})"
                 f" and one-way CC under the {split} split"
                 f" ({'sht24b.one-layer-ih-lb [R]' if task == 'induction' else 'sht24a.propE_4 [P]'})")
        out.append((title, cols, rows))
    return out


#: (label, task, key) of the four column groups of the one-table form (README, docs/witnesses.md).
WIDE_GROUPS = (("ih states", "induction", "state_bits"), ("ih 1-way", "induction", "oneway_bits"),
               ("hop_2 states", "hop", "state_bits"), ("hop_2 1-way (block)", "hop", "oneway_bits"))


def wide_table(cells: list[dict], Ns) -> tuple[list[str], list[list[str]]]:
    """The whole table as ONE (columns, rows): N, then for induction state bits, induction one-way
    bits, hop_2 state bits and hop_2 one-way bits (block split) the alphabets 2, 3, 4 and marker
    (the first column of a group carries its label: ``ih states |Σ|=2``, ``3``, ``4``, ``marker``)."""
    alph = [2, 3, 4, "marker"]
    cols = ["N"]
    for label, _, _ in WIDE_GROUPS:
        cols += [f"{label} |Σ|=2", "3", "4", "marker"]
    rows = []
    for N in Ns:
        row = [str(N)]
        for _, task, key in WIDE_GROUPS:
            by_a = {c["alphabet"]: c for c in cells if c["task"] == task and c["N"] == N}
            row += [_fmt(by_a.get(a), key) for a in alph]
        rows.append(row)
    return cols, rows


def _fmt(cell: dict | None, key: str) -> str:
    if cell is None:
        return "?"
    if cell.get(key) is not None:
        return str(cell[key])
    return {"over cap": "—", "n/a": "n/a", "budget": "?"}.get(cell.get("note", ""), "?")

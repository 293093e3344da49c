"""Run the checks of ``attncheck report`` and turn each command's JSON into a :class:`Row`.

Each check runs as its own process, ``python -m attncheck.cli.main ARGV --budget B --json``:
a crash, a hang or a memory blow-up stays inside that check, and a check that overruns its
budget can be killed.  Threads of a :class:`~concurrent.futures.ThreadPoolExecutor` wait on
the processes (``--workers`` at a time).

Verdict of a row, from the command's exit code and JSON (the CLI contract, README "Exit codes"):

* ``verified`` / ``refuted`` / ``unknown``: the JSON's ``verdict`` (its exit code must agree);
* ``tabulated``: exit 0 and JSON without a verdict (a bound evaluated, a sweep, a build);
* ``unknown`` also when the process was killed for overrunning ``budget * 1.5 + 15`` seconds;
* ``error``: exit 4, exit 2 (the registry passed a bad argument), no JSON, or an exit code
  that contradicts the JSON verdict -- recorded, never hidden.

The row's code (:func:`row_code`) compares the verdict with the check's expectation; the
report's exit code is the worst row code (:func:`exit_code`): 0 holds, 1 refuted unexpectedly
(or an expected refutation came out verified), 3 unknown, 4 internal error.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

from attncheck.cli.report_checks import Check

VERDICTS = ("verified", "refuted", "unknown", "error", "tabulated")
EXIT_OF_VERDICT = {"verified": 0, "refuted": 1, "unknown": 3}
GRACE_S = 15.0
EVIDENCE_CHARS = 220


def kill_after(budget: float) -> float:
    """Seconds after which a check's process is killed (its own --budget plus slack for
    start-up and for noticing the budget)."""
    return budget * 1.5 + GRACE_S


@dataclass(frozen=True, eq=False)
class Row:
    """The outcome of one check: the verdict and what the report prints about it."""

    check: Check
    verdict: str
    exit_code: int | None
    claim: str
    method: str
    evidence: str
    time_s: float
    argv: tuple[str, ...]
    data: dict | None = field(default=None, repr=False)

    @property
    def command(self) -> str:
        """The exact command line that was run (and reproduces the row)."""
        return "attncheck " + shlex.join(self.argv)

    @property
    def code(self) -> int:
        return row_code(self.check.expect, self.verdict)

    @property
    def outcome(self) -> str:
        return outcome(self.check.expect, self.verdict)

    def to_json(self) -> dict:
        c = self.check
        return {"name": c.name, "theorem": c.theorem, "theorems": list(c.theorems), "papers": list(c.papers),
                "kind": c.kind, "expect": c.expect, "verdict": self.verdict, "outcome": self.outcome,
                "code": self.code, "exit_code": self.exit_code, "claim": self.claim, "method": self.method,
                "evidence": self.evidence, "note": c.note, "time_s": round(self.time_s, 2),
                "command": self.command, "argv": list(self.argv)}


# --- aggregation --------------------------------------------------------------------------------
def row_code(expect: str, verdict: str) -> int:
    """0 as expected, 1 refuted unexpectedly or an expected refutation not refuted (verified /
    tabulated), 3 unknown, 4 internal error."""
    if verdict == "error":
        return 4
    if verdict == "unknown":
        return 3
    if expect == "refuted":
        return 0 if verdict == "refuted" else 1
    return 1 if verdict == "refuted" else 0


def outcome(expect: str, verdict: str) -> str:
    code = row_code(expect, verdict)
    if code == 0:
        return "refuted as expected" if expect == "refuted" else "holds"
    if code == 1:
        return "expected a refutation" if expect == "refuted" else "REFUTED unexpectedly"
    return {3: "undecided", 4: "internal error"}[code]


def exit_code(rows: Sequence[Row] | Sequence[tuple[str, str]]) -> int:
    """The report's exit code: the worst row code (0 when there are no rows).  Accepts rows or
    ``(expect, verdict)`` pairs."""
    codes = [r.code if isinstance(r, Row) else row_code(*r) for r in rows]
    return max(codes, default=0)


# --- one check ----------------------------------------------------------------------------------
def command_argv(check: Check, budget: float, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The argv run for a check: its own, ``extra`` (``report --proof``: the proof files),
    ``--budget`` when the command takes one, ``--json``."""
    limit = ("--budget", f"{budget:g}") if check.budget else ()
    return (*check.argv, *extra, *limit, "--json")


def _short(text, limit: int = EVIDENCE_CHARS) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def _last_line(stderr: str) -> str:
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def classify(check: Check, argv: Sequence[str], returncode: int | None, stdout: str, stderr: str,
             elapsed: float, killed: bool = False, budget: float | None = None) -> Row:
    """The row for one finished (or killed) command -- a pure function, tested on synthetic
    outputs."""
    def row(verdict, evidence, data=None, claim=None, method=None):
        c, m, e = summarize(data) if data else ("", "", "")
        return Row(check, verdict, returncode, claim or c or check.note, method or m or "-",
                   _short(evidence or e), elapsed, tuple(argv), data)

    if killed:
        return row("unknown", f"killed after {elapsed:.0f} s: it overran its budget of {budget:g} s",
                   method="out of budget")
    try:
        data = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        why = _last_line(stderr) or "the command printed no JSON"
        return row("error", f"exit {returncode}, no JSON: {why}")
    if returncode in (2, 4) or returncode not in (0, 1, 3):
        return row("error", f"exit {returncode}: {_last_line(stderr) or 'no message'}", data)
    verdict = data.get("verdict")
    if verdict in EXIT_OF_VERDICT:
        if EXIT_OF_VERDICT[verdict] != returncode:
            return row("error", f"exit {returncode} contradicts the JSON verdict {verdict!r}", data)
        return row(verdict, None, data)
    if data.get("correct") is False:                       # run: a wrong output on the input shown
        return row("refuted", None, data)
    if returncode == 0:
        return row("tabulated", None, data)
    if returncode == 3:
        return row("unknown", _last_line(stderr) or "budget spent", data)
    return row("error", f"exit {returncode} without a verdict in the JSON", data)


def run_check(check: Check, budget: float, python: str | None = None, extra: Sequence[str] = ()) -> Row:
    """Run one check in its own process (``extra``: options appended to its argv) and classify
    its output."""
    argv = command_argv(check, budget, extra)
    cmd = [python or sys.executable, "-m", "attncheck.cli.main", *argv]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, encoding="utf-8", errors="replace")
    try:
        out, err = proc.communicate(timeout=kill_after(budget))
        killed = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        killed = True
    except BaseException:                                   # KeyboardInterrupt: leave no orphan
        proc.kill()
        proc.wait()
        raise
    return classify(check, argv, proc.returncode, out, err, time.perf_counter() - t0, killed, budget)


def run_all(checks: Sequence[Check], budget: float, workers: int,
            on_start: Callable[[Check], None] = lambda c: None,
            on_done: Callable[[Row], None] = lambda r: None,
            run: Callable[[Check, float], Row] = run_check) -> list[Row]:
    """Run every check, ``workers`` at a time; rows come back in registry order."""
    lock = threading.Lock()

    def one(check: Check) -> Row:
        with lock:
            on_start(check)
        r = run(check, budget)
        with lock:
            on_done(r)
        return r

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(one, c) for c in checks]
        return [f.result() for f in futures]
    except BaseException:          # Ctrl-C: start no further check (running ones get the SIGINT too)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


# --- what a row says, per command ----------------------------------------------------------------
def summarize(data: dict) -> tuple[str, str, str]:
    """(claim, method, evidence) from a command's JSON object."""
    command = str(data.get("command", ""))
    for prefix, fn in _SUMMARIES:
        if command.startswith(prefix):
            return fn(data)
    return _verdict_summary(data)


def _fmt_tok(v) -> str:
    from attncheck.cli.render import fmt_value
    return fmt_value(v, symbols=True)


def _verdict_summary(d: dict) -> tuple[str, str, str]:
    from attncheck.cli.render import cases_text, counterexample_lines
    evidence = d.get("reason") or ""
    ce = d.get("counterexample")
    if isinstance(ce, dict) and "position" in ce:
        toks = ce.get("tokens") or []
        short = {**d, "counterexample": {**ce, "tokens": toks[:16] + (["…"] if len(toks) > 16 else [])}}
        evidence = "; ".join(counterexample_lines(short)) + f". {evidence}"
    if d.get("cases") not in (None, "") and d.get("method"):
        evidence = f"{evidence} [{cases_text(d)}]".strip()
    return str(d.get("claim") or ""), str(d.get("method") or ""), evidence


def _ours(q: dict) -> str:
    parts = [f"{o['construction']} {o['uses']}" for o in q.get("ours") or [] if o.get("uses") is not None]
    return f" (ours: {', '.join(parts)})" if parts else ""


def _bounds_table(d: dict) -> tuple[str, str, str]:
    bs = d.get("bounds") or []
    if not bs:
        return "", "formula", "no bound evaluated"
    b = bs[0]
    claim = f"{b.get('title', '')}: " + "; ".join(q.get("formula", "") for q in b.get("quantities") or [])
    if b.get("outside_regime"):
        return claim, "formula", f"outside the regime: {b['outside_regime']}"
    p = ", ".join(f"{k} = {v}" for k, v in (b.get("params") or {}).items())
    ev = "; ".join(f"{q['label']} {q['display']}{_ours(q)}" for q in b.get("quantities") or [])
    return claim, "formula", f"at {p}: {ev}"


def _bounds_sweep(d: dict) -> tuple[str, str, str]:
    pts = [p for p in d.get("points") or [] if not p.get("outside_regime")]
    Ns = [p["params"].get("N") for p in pts if p.get("params")]
    if not pts:
        return "", "formula", "every point is outside the bound's regime"
    last = pts[-1]
    ev = "; ".join(f"{q['label']} {q['display']}{_ours(q)}" for q in last.get("quantities") or [])
    return (f"{d.get('id', '')} swept over N = {min(Ns)}..{max(Ns)} ({len(pts)} points)", "formula",
            f"at N = {last['params'].get('N')}: {ev}")


def _construction(d: dict) -> dict:
    c = d.get("construction")
    return c if isinstance(c, dict) else {}


def _build(d: dict) -> tuple[str, str, str]:
    c = _construction(d)
    ev = ", ".join(f"{k} {c[k]}" for k in ("layers", "heads", "width", "bits", "parameters") if k in c)
    return f"{c.get('name', '?')} builds ({c.get('theorem', '')} {c.get('status', '')})", "build", ev


def _run(d: dict) -> tuple[str, str, str]:
    c = _construction(d)
    seq = " ".join(_fmt_tok(t) for t in d.get("input") or [])
    out = " ".join(_fmt_tok(t) for t in d.get("outputs") or [])
    same = "equal" if d.get("correct") else "DIFFER from"
    return (f"{c.get('name', '?')} on one input ({c.get('theorem', '')})", "one input",
            f"input {seq}: outputs {out} {same} the ground truth")


def _search(d: dict) -> tuple[str, str, str]:
    rows = d.get("rows") or []
    ev = "; ".join(f"{r.get('codes')}: m = {r.get('m')} (q log2 N = {r.get('q_log2_N')})" for r in rows)
    return "smallest width with a certificate for every q-subset", "search", ev or d.get("reason", "")


_SUMMARIES: tuple[tuple[str, Callable[[dict], tuple[str, str, str]]], ...] = (
    ("bounds table", _bounds_table), ("bounds sweep", _bounds_sweep), ("build ", _build),
    ("run ", _run), ("search width", _search),
)

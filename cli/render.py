"""The only module that prints (STYLE.md practice 11).

Library code returns dataclasses and dicts; commands build a JSON-ready *report* and hand it
here.  ``--json`` prints exactly one JSON object on stdout (schema :data:`JSON_SCHEMA`), with
every wall-clock figure inside the single ``"timing"`` object so that the rest is
byte-reproducible for a fixed command and seed.  Human output is a rich table of fixed width
(so CI logs do not wrap).  Progress bars and diagnostics go to stderr.
"""
from __future__ import annotations

import contextlib
import json
import platform
import re
import sys
from typing import Any, Callable, Iterable, Sequence

from attncheck.constructions.verdict import JSON_SCHEMA

WIDTH = 110
BOT_GLYPH = "⊥"


def versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Versions of attncheck, Python and the libraries used (read from metadata; no imports)."""
    from importlib.metadata import PackageNotFoundError, version
    out = {"python": platform.python_version()}
    for pkg in ("attncheck", "numpy", *extra):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def envelope(command: str, params: dict, *, seed: int | None = None, timing: dict | None = None,
             libraries: Iterable[str] = (), **body: Any) -> dict:
    """The JSON object every command prints: schema, command, params, body keys, seed,
    versions and timing (last, the only non-reproducible part)."""
    obj: dict[str, Any] = {"schema": JSON_SCHEMA, "command": command, "params": params}
    obj.update(body)
    obj["seed"] = seed
    obj["versions"] = versions(libraries)
    obj["timing"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in (timing or {}).items()}
    return obj


def _jsonable(o):
    import numpy as np
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "to_json"):
        return o.to_json()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=_jsonable, indent=2, ensure_ascii=False) + "\n")


def console(stderr: bool = False):
    from rich.console import Console
    return Console(width=WIDTH, stderr=stderr, highlight=False, soft_wrap=False)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
          caption: str | None = None):
    """A rich Table (not printed) with the given columns; cells are str()-ed."""
    from rich.markup import escape
    from rich.table import Table
    t = Table(title=title, caption=caption, show_lines=False, title_justify="left",
              caption_justify="left")
    for c in columns:
        t.add_column(str(c), overflow="fold")
    for r in rows:
        t.add_row(*("" if v is None else escape(str(v)) for v in r))
    return t


def markdown_table(columns: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """One GitHub Markdown table, nothing else: ``|`` escaped, line breaks in a cell as ``<br>``."""
    def cell(v) -> str:
        return "" if v is None else str(v).replace("|", "\\|").replace("\n", "<br>")
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "|": r"$|$", "<": r"$<$", ">": r"$>$"}
_LATEX_UNICODE = {"⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "⌈": r"$\lceil$", "⌉": r"$\rceil$",
                  "≤": r"$\leq$", "≥": r"$\geq$", "≠": r"$\neq$", "≈": r"$\approx$", "·": r"$\cdot$",
                  "×": r"$\times$", "−": r"$-$", "–": "--", "—": "---", "…": r"\dots{}", "⊥": r"$\bot$",
                  "√": r"$\surd$", "∞": r"$\infty$", "→": r"$\to$", "∈": r"$\in$", "′": r"$'$",
                  "±": r"$\pm$", "≲": r"$\stackrel{<}{\sim}$", "≳": r"$\stackrel{>}{\sim}$", "§": r"\S{}",
                  "⇄": r"$\leftrightarrow$", "ε": r"$\varepsilon$", "’": "'", "“": "``", "”": "''"}
_GREEK_CAPITALS = {"GAMMA", "DELTA", "THETA", "LAMBDA", "XI", "PI", "SIGMA", "UPSILON", "PHI", "PSI", "OMEGA"}


def _latex_char(ch: str) -> str:
    import unicodedata
    if ch in _LATEX_SPECIAL:
        return _LATEX_SPECIAL[ch]
    if ch.isascii():
        return ch
    if ch in _LATEX_UNICODE:
        return _LATEX_UNICODE[ch]
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK SMALL LETTER ") and " " not in name[19:]:
        return f"$\\{name[19:].lower()}$"
    if name.startswith("GREEK CAPITAL LETTER ") and name[21:] in _GREEK_CAPITALS:
        return f"$\\{name[21:].capitalize()}$"
    if name.startswith(("SUPERSCRIPT", "SUBSCRIPT")):
        base = unicodedata.normalize("NFKC", ch)
        return f"$^{{{base}}}$" if name.startswith("SUPER") else f"$_{{{base}}}$"
    return "?"                                  # no plain-LaTeX spelling: marked, never passed through


def latex_text(text: Any) -> str:
    """``text`` as plain LaTeX (ASCII, no package needed): specials escaped, symbols in math mode,
    a combining tilde as ``\\tilde``."""
    out: list[str] = []
    for ch in str(text):
        if ch == "\u0303" and out:                 # combining tilde over the previous symbol
            out.append(f"$\\tilde{{{out.pop().strip('$')}}}$")
        else:
            out.append(_latex_char(ch))
    return re.sub(r"(?<!\\)\$\$", "", "".join(out))      # adjacent math joined: $|$$\Sigma$ -> $|\Sigma$


def latex_table(columns: Sequence[Any], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """One booktabs ``tabular`` (``\\toprule``, ``\\midrule``, ``\\bottomrule``; nothing else needs
    a package).  A cell with line breaks becomes a nested one-column tabular."""
    def cell(v) -> str:
        lines = [] if v is None else str(v).split("\n")
        if len(lines) <= 1:
            return latex_text(lines[0] if lines else "")
        return r"\begin{tabular}[t]{@{}l@{}}" + r" \\ ".join(latex_text(l) for l in lines) + r"\end{tabular}"
    align = align or "l" * len(columns)
    out = [f"\\begin{{tabular}}{{{align}}}", r"\toprule",
           " & ".join(cell(c) for c in columns) + r" \\", r"\midrule"]
    out += [" & ".join(cell(v) for v in r) + r" \\" for r in rows]
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out) + "\n"


def text_table(kind: str, columns: Sequence[Any], rows: Iterable[Sequence[Any]], align: str | None = None) -> None:
    """Print one table as ``markdown`` or ``latex`` on stdout, and nothing else."""
    rows = list(rows)
    sys.stdout.write(markdown_table(columns, rows) if kind == "markdown" else latex_table(columns, rows, align))


def error_object(command: str, message: str, exit_code: int) -> dict:
    """The one JSON object a failing command prints under ``--json`` (besides its one stderr
    line): the envelope with ``verdict`` "error" (or "unknown" for exit 3, a budget spent before
    any verdict), the exit code and the message."""
    verdict = "unknown" if exit_code == 3 else "error"
    return envelope(command, None, verdict=verdict, exit_code=exit_code, error=message)


def emit(obj: dict, json_mode: bool, human: Callable[[Any], None]) -> None:
    """Print ``obj`` as JSON, or call ``human(console)`` to draw it."""
    if json_mode:
        print_json(obj)
    else:
        human(console())


def fmt_token(v) -> str:
    """Symbol code -> letter (0 -> a, ...), None -> bottom glyph."""
    if v is None:
        return BOT_GLYPH
    v = int(v)
    return chr(ord("a") + v) if 0 <= v < 26 else str(v)


def fmt_seq(seq) -> str:
    return " ".join(fmt_token(v) for v in seq)


def fmt_value(v, symbols: bool = False) -> str:
    """Any value of a counterexample as text, never a Python repr: None -> ⊥, a symbol code ->
    its letter (``symbols``), a number as it is (floats to 6 significant digits), a vector as
    ``(x, y, ...)``, a mapping as ``key=value, ...``."""
    if v is None:
        return BOT_GLYPH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0 and v.dtype.kind in "iu"):
        return fmt_token(v) if symbols else str(int(v))
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={fmt_value(x, symbols)}" for k, x in v.items())
    if isinstance(v, (list, tuple)) or hasattr(v, "tolist"):
        items = v.tolist() if hasattr(v, "tolist") else v
        return "(" + ", ".join(fmt_value(x, symbols) for x in items) + ")"
    return str(v)


#: What the tokens and the expected/got values of a counterexample are: symbols print as letters.
SYMBOLS, NUMBERS = "symbols", "numbers"
#: Commands whose counterexamples are not symbol sequences: (tokens, values, what the input is).
#: qSA: a pointer set (positions) and output vectors; MPC: graph tokens and machine memories.
COUNTEREXAMPLE_KIND = {"verify qsa": (NUMBERS, NUMBERS, "pointer set"),
                       "verify mpc": (NUMBERS, NUMBERS, "input"),
                       "reduction check": (SYMBOLS, SYMBOLS, "instance")}


def counterexample_lines(report: dict) -> list[str]:
    """The one way a counterexample prints, in every command (``report`` is the command's JSON
    object, ``report["counterexample"]`` its counterexample): the input, then the wrong position
    with what was expected and what came out.  Symbols print as letters a, b, c and "no match"
    (None, bottom) as ⊥; positions, vertices and vectors as numbers; never a Python repr.  The
    JSON keeps integers and null (docs/cli.md)."""
    ce = report.get("counterexample")
    if not ce:
        return []
    tokens, values, what = COUNTEREXAMPLE_KIND.get(report.get("command"), (SYMBOLS, SYMBOLS, "input"))
    seq = ce.get("tokens") or []
    lines = [f"counterexample {what}: " + " ".join(fmt_value(t, tokens == SYMBOLS) for t in seq)]
    if ce.get("expected") is not None or ce.get("got") is not None:
        sym = values == SYMBOLS
        lines.append(f"at position {ce.get('position')}: expected {fmt_value(ce.get('expected'), sym)},"
                     f" got {fmt_value(ce.get('got'), sym)}")
    elif ce.get("position") is not None:
        lines.append(f"at position {ce['position']}")
    return lines


def cases_text(report: dict) -> str:
    """``cases: 12 (inputs checked up to and including the first counterexample)``: the count
    and, when the check loop said so, what it counts."""
    what = (report.get("evidence") or {}).get("cases_count")
    cases = report.get("cases")
    cases = f"{cases:,}" if isinstance(cases, int) else cases
    return f"cases: {cases}" + (f" ({what})" if what else "")


def headline(con, report: dict, soft_wrap: bool = False) -> None:
    """The verdict, the claim, method and cases, and the reason: the first lines of every
    command that judges something (``soft_wrap``: claim and reason on one line each, unwrapped)."""
    style = STATUS_STYLE.get(report["verdict"], "bold")
    con.print(f"[{style}]{report['verdict'].upper()}[/]  {esc(report['claim'])}", soft_wrap=soft_wrap)
    con.print(f"  method: {report['method']}   {esc(cases_text(report))}")
    if report.get("reason"):
        con.print(f"  {esc(report['reason'])}", soft_wrap=soft_wrap)


STATUS_STYLE = {"verified": "bold green", "refuted": "bold red", "unknown": "bold yellow"}


def esc(text) -> str:
    """Escape rich markup in dynamic text (labels like X[i-1] would vanish otherwise)."""
    from rich.markup import escape
    return escape(str(text))


def verdict_human(report: dict) -> Callable[[Any], None]:
    """Human renderer for a verify report (verdict keys at the top level)."""
    def draw(con):
        v = report
        c = report.get("construction", {})
        headline(con, v)
        if c:
            rows = [(k, c.get(k)) for k in ("theorem", "status", "variant", "encoding", "layers",
                                            "heads", "width", "bits", "parameters")
                    if k in c]
            rows.append(("precision", report.get("format")))
            rows.append(("attention", report["params"].get("attention")))
            rows.append(("alphabet", c.get("params", {}).get("alphabet")))
            if "temperatures" in c:
                rows.append(("temperatures", ", ".join(f"{t:.4g}" for t in c["temperatures"])))
            con.print(table(None, ("construction", "value"), rows))
        ev = v.get("evidence") or {}
        if ev.get("heads"):
            con.print(table("certificate margins (per head)",
                            ("layer", "head", "promise", "min score gap", "leak bound",
                             "out error", "ok"),
                            [(h["layer"], h["head"], h["promise"], f"{h['min_gap']:.4g}",
                              f"{h['leak']:.3g}", f"{h['out_error']:.3g}", "yes" if h["ok"] else "NO")
                             for h in ev["heads"]]))
        if ev.get("decode"):
            d = ev["decode"]
            con.print(f"  decoder: worst error {d['error']:.3g} vs radius {d['radius']:.3g}"
                      f" ({'ok' if d['ok'] else 'FAILS'})")
        if ev.get("composition"):
            con.print(f"  composition: {esc(ev['composition'])}")
        ce = v.get("counterexample")
        for line in counterexample_lines(v):
            con.print(f"  {esc(line)}")
        if ce:
            for layer in ce.get("explanation", {}).get("layers", []):
                con.print(f"    layer {layer['layer']}: attends to {layer['argmax']}"
                          f" (weight {layer['weight']:.4f}); intended {layer.get('intended', '-')}")
        if "timing" in report:
            t = report["timing"]
            con.print(f"  time: {t.get('total_s', 0):.2f} s")
    return draw


@contextlib.contextmanager
def progress(total: int | None, description: str, enabled: bool = True):
    """A rich progress bar on stderr; yields ``advance(n)``.  ``total=None`` draws a pulsing
    bar with the elapsed time (work of unknown size).

    The bar is drawn only when stderr is interactive (a terminal): in a pipe, a CI log or a
    test, rich would print nothing but one blank line when the bar stops, which would come
    before the single error line of a bad-input run (the CLI contract)."""
    con = console(stderr=True) if enabled else None
    if con is None or not con.is_interactive:
        yield lambda n=1: None
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=con,
                  transient=True) as p:
        task = p.add_task(description, total=total)
        yield lambda n=1: p.advance(task, n)


@contextlib.contextmanager
def task_progress(names: Sequence[str], description: str, enabled: bool = True):
    """One rich progress line per task on stderr under an overall bar; yields
    ``(start(name), finish(name, text))``.  Safe to call from worker threads.  Drawn only when
    stderr is interactive, as :func:`progress`."""
    con = console(stderr=True) if enabled else None
    if con is None or not con.is_interactive:
        yield (lambda name: None), (lambda name, text="": None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=con, transient=False) as p:
        overall = p.add_task(description, total=len(names))
        tasks = {n: p.add_task(f"  {n}  [dim]waiting[/]", total=1, start=False) for n in names}

        def start(name):
            p.update(tasks[name], description=f"  {name}  running")
            p.start_task(tasks[name])

        def finish(name, text=""):
            p.update(tasks[name], completed=1, description=f"  {name}  {esc(text)}")
            p.stop_task(tasks[name])
            p.advance(overall, 1)
        yield start, finish

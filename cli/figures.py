"""Figures: pure functions from a command's JSON object to a PNG or SVG file.

Every function takes the dict that the matching command prints with ``--json`` (so the
report, which parses that JSON, and the command's own ``--plot FILE`` draw the same picture)
and writes one file whose format follows its suffix (``.png`` or ``.svg``).

* :func:`bounds_sweep` -- a bound beside our construction sizes as N (or k) grows, one panel
  per resource (layers, width, bits, ...): ``bounds sweep ID --plot`` (docs/theorems.md section 10);
* :func:`depth_vs_k` -- layers against k: the paper's floor(log2 k)+2 [P] and the
  2+ceil(log2 k) [R] that our hop_k construction uses, with the verdicts (``sht24a.thm4_2``);
* :func:`witness_growth` -- minimal RNN state bits and one-way CC bits against N, one line
  per alphabet (``sht23.rnn-ih``, ``sht24b.one-layer-ih-lb``, ``sht24a.cor5_2``);
* :func:`certificate_margins` -- per head, the certificate's minimum score gap and output
  error against the decoder radius (``lemma.sht24a.A2``).

matplotlib is imported inside :func:`_figure` only, with the Agg canvas and no pyplot state,
so ``import attncheck`` and ``attncheck --help`` stay fast and drawing is thread-safe.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

from attncheck.constructions.verdict import BadInput

SUFFIXES = (".png", ".svg")
DPI = 110


def check_path(path: str, option: str = "--plot") -> str:
    """Refuse a figure path whose suffix is neither .png nor .svg (BadInput, exit 2)."""
    if not str(path).lower().endswith(SUFFIXES):
        raise BadInput(f"{option} {path!r}: the file name must end in .png or .svg")
    return str(path)


def _figure(rows: int, cols: int = 1, *, width: float = 7.0, height: float = 2.6):
    """A matplotlib Figure (Agg canvas, no pyplot) and its axes as a rows x cols grid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * cols, height * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _save(fig, path: str) -> str:
    check_path(path)
    fig.tight_layout()
    return save_figure(fig, path)


def save_figure(fig, path: str, option: str = "--plot") -> str:
    """Write ``fig`` as PNG or SVG (by suffix) at :data:`DPI`; an unwritable path is BadInput
    naming ``option``."""
    svg = str(path).lower().endswith(".svg")
    try:                # a fixed (absent) date keeps two SVGs of the same data byte-identical
        fig.savefig(path, dpi=DPI, metadata={"Date": None} if svg else None)
    except OSError as e:
        raise BadInput(f"{option} {path!r}: cannot write the figure ({e.strerror or e})") from None
    return str(path)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


# --- (a) bounds against construction sizes ----------------------------------------------------
def sweep_series(data: dict) -> tuple[str, dict[str, list[tuple[str, bool, list[tuple[float, float]]]]]]:
    """From ``bounds sweep --json``: the x key (``N``, or ``k`` when k varies) and, per
    resource, the series ``(label, is_bound, [(x, y), ...])``.  Bound quantities come first;
    a construction's series is ``construction resource``.  Points outside a bound's regime and
    unmeasured sizes are left out."""
    points = data.get("points") or []
    ks = {p.get("params", {}).get("k") for p in points}
    xkey = "k" if len(ks - {None}) > 1 else "N"
    panels: dict[str, dict[str, tuple[bool, list]]] = {}
    for p in points:
        x = p.get("params", {}).get(xkey)
        if x is None or p.get("outside_regime"):
            continue
        for q in p.get("quantities") or []:
            panel = panels.setdefault(q.get("resource") or "other", {})
            if q.get("value") is not None:
                panel.setdefault(f"{q['key']} {q.get('tag', '')}".strip(), (True, []))[1].append(
                    (x, float(q["value"])))
            for o in q.get("ours") or []:
                if o.get("uses") is not None:
                    series = panel.setdefault(o["construction"], (False, []))[1]
                    if (x, float(o["uses"])) not in series:
                        series.append((x, float(o["uses"])))
    return xkey, {res: sorted(((label, is_bound, pts) for label, (is_bound, pts) in series.items()),
                              key=lambda s: not s[1])              # bounds first, then ours
                  for res, series in panels.items()}


def bounds_sweep(data: dict, path: str) -> str:
    """One panel per resource: the bound's driving quantities dashed, our constructions solid,
    both against N (log2 axis) or k.  ``data`` is the ``bounds sweep --json`` object."""
    xkey, panels = sweep_series(data)
    fig, axes = _figure(max(1, len(panels)))
    if not panels:
        _empty(axes[0, 0], "no point of the sweep is inside the bound's regime")
    for ax, (resource, series) in zip(axes[:, 0], panels.items()):
        for label, is_bound, pts in series:
            pts = sorted(pts)
            ax.plot([x for x, _ in pts], [y for _, y in pts], "--" if is_bound else "-",
                    marker="o", markersize=3, label=label + (" (bound)" if is_bound else " (ours)"))
        ax.set_ylabel(resource)
        ax.legend(fontsize=7)
        ax.set_xlabel(xkey)
        if xkey == "N":
            ax.set_xscale("log", base=2)
    fig.suptitle(f"{data.get('id', '?')} — {data.get('source', '')} {data.get('status', '')}".strip(),
                 fontsize=10)
    return _save(fig, path)


# --- (b) depth against k ----------------------------------------------------------------------
def depth_vs_k(data: dict, path: str) -> str:
    """Layers against k from ``depth hop --json``: floor(log2 k)+2 [P] and 2+ceil(log2 k) [R]
    as steps, our verdicts as dots, and crosses where the printed recursion was refuted."""
    rows = sorted(data.get("rows") or [], key=lambda r: r["k"])
    fig, axes = _figure(1, height=3.4)
    ax = axes[0, 0]
    if not rows:
        _empty(ax, "no rows")
        return _save(fig, path)
    ks = [r["k"] for r in rows]
    ax.step(ks, [r["paper_depth"] for r in rows], where="mid", linestyle="--", color="tab:orange",
            label="paper: ⌊log2 k⌋ + 2 [P]")
    ax.step(ks, [r["our_depth"] for r in rows], where="mid", color="tab:blue",
            label="ours: 2 + ⌈log2 k⌉ [R]")
    ok = [r for r in rows if r["ours"]["verdict"] == "verified"]
    bad = [r for r in rows if r["ours"]["verdict"] != "verified"]
    ax.plot([r["k"] for r in ok], [r["our_depth"] for r in ok], "o", color="tab:green",
            label="ours verified")
    if bad:
        ax.plot([r["k"] for r in bad], [r["our_depth"] for r in bad], "o", color="tab:red",
                mfc="none", label="ours not verified")
    refuted = [r for r in rows if r["printed"]["verdict"] == "refuted"]
    if refuted:
        ax.plot([r["k"] for r in refuted], [r["paper_depth"] for r in refuted], "x", color="tab:red",
                markersize=8, label="printed recursion refuted")
    ax.set_xlabel("k (hops)")
    ax.set_ylabel("layers L")
    ax.set_xticks(ks)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7, loc="upper left")
    p = data.get("params", {})
    ax.set_title(f"sht24a.thm4_2: depth of hop_k (N = {p.get('N', '?')}, |Σ| = {p.get('alphabet', '?')})",
                 fontsize=10)
    return _save(fig, path)


# --- (c) witness growth -----------------------------------------------------------------------
WITNESS_PANELS = (("state_bits", "minimal RNN state (bits)"), ("oneway_bits", "one-way CC (bits)"))


def witness_series(cells: Iterable[dict], key: str) -> dict[str, list[tuple[int, float]]]:
    """``{"induction |Σ|=3": [(N, bits), ...], ...}`` for one column of ``witness table``;
    cells without a value (n/a, over the cap) are left out."""
    out: dict[str, list[tuple[int, float]]] = {}
    for c in cells:
        v = c.get(key)
        if v is None or v == "":
            continue
        task = "hop_2" if c.get("task") == "hop" else c.get("task", "?")
        alpha = c.get("alphabet")
        label = f"{task} {'marker' if alpha == 'marker' else f'|Σ|={alpha}'}"
        out.setdefault(label, []).append((int(c["N"]), float(v)))
    return {k: sorted(v) for k, v in out.items()}


def witness_growth(data: dict, path: str) -> str:
    """State bits and one-way bits against N, one line per task and alphabet, from
    ``witness table --json``: constant at a fixed alphabet for induction, growing with the
    marker alphabet (the Ω(N) RNN bound needs |Σ| ≳ N)."""
    cells = data.get("cells") or []
    fig, axes = _figure(1, 2, width=5.0, height=3.6)
    for ax, (key, title) in zip(axes[0], WITNESS_PANELS):
        series = witness_series(cells, key)
        if not series:
            _empty(ax, f"no {title}")
            continue
        for label, pts in series.items():
            style = "-" if label.startswith("induction") else "--"
            ax.plot([n for n, _ in pts], [b for _, b in pts], style, marker="o", markersize=3, label=label)
        ax.set_xlabel("N")
        ax.set_ylabel("bits")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=6)
    return _save(fig, path)


# --- (d) certificate margins per head ---------------------------------------------------------
def head_rows(report: dict) -> list[dict]:
    """The per-head certificate rows of a verify report (``evidence.heads``), or ``[]``."""
    return list(((report or {}).get("evidence") or {}).get("heads") or [])


def _label(report: dict) -> str:
    c = report.get("construction") or {}
    p = c.get("params") or {}
    name = c.get("name") or report.get("command", "?")
    bits = ", ".join(f"{k}={p[k]}" for k in ("k", "N") if k in p)
    return f"{name} ({bits})" if bits else name


def certificate_margins(reports: Sequence[dict], path: str) -> str:
    """For every head of every certified construction: the minimum score gap (left) and the
    output error beside the decoder radius (right, log scale).  ``reports`` are verify
    ``--json`` objects whose ``evidence.heads`` came from the certificate."""
    reports = [r for r in reports if head_rows(r)]
    n_heads = sum(len(head_rows(r)) for r in reports)
    fig, axes = _figure(1, 2, width=5.0, height=max(3.4, 0.4 * n_heads + 1.0))
    gap_ax, err_ax = axes[0]
    if not reports:
        _empty(gap_ax, "no certificate evidence")
        _empty(err_ax, "no certificate evidence")
        return _save(fig, path)
    labels, gaps, errors, colors, radii = [], [], [], [], []
    for r in reports:
        name = _label(r)
        radius = ((r.get("evidence") or {}).get("decode") or {}).get("radius")
        for h in head_rows(r):
            labels.append(f"{name} L{h['layer']}H{h['head']}")
            gaps.append(float(h["min_gap"]))
            errors.append(max(float(h["out_error"]), 1e-300))
            colors.append("tab:green" if h.get("ok") else "tab:red")
            radii.append(radius)
    ys = list(range(len(labels)))
    gap_ax.barh(ys, gaps, color=colors)
    gap_ax.set_yticks(ys)
    gap_ax.set_yticklabels(labels, fontsize=7)
    gap_ax.invert_yaxis()
    gap_ax.set_xlabel("min score gap (scaled)")
    gap_ax.set_title("certificate: score gap per head", fontsize=10)
    err_ax.barh(ys, errors, color=colors)
    for y, radius in zip(ys, radii):
        if radius:
            err_ax.plot([radius, radius], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
    err_ax.set_xscale("log")
    err_ax.set_yticks(ys)
    err_ax.set_yticklabels([])
    err_ax.invert_yaxis()
    err_ax.set_xlabel("output error (bar) vs decoder radius (line)")
    err_ax.set_title("certificate: output error per head", fontsize=10)
    lo = min(errors + [r for r in radii if r])
    err_ax.set_xlim(left=10 ** math.floor(math.log10(lo)) if lo > 0 else None)
    return _save(fig, path)

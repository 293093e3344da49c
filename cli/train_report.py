"""Tables, files and figures of ``attncheck train`` (cli/train.py; docs/experiments.md).

Pure bookkeeping on the JSON-ready rows the commands build: the err_k table and the verdict and
alignment tables (rich), ``table.csv`` / ``table.json``, the error-against-k figure with the
construction's depth 2 + ceil(log2 k) marked, and the per-position loss figure of ``compare-rnn``.
matplotlib is imported inside the drawing functions (Agg canvas, no pyplot); an SVG has no date.
"""
from __future__ import annotations

import csv
import json as jsonlib
import os

from attncheck.cli import render

#: largest |Sigma|^n enumerated by the exhaustive check of a trained model
EXHAUSTIVE_CAP = 1 << 16

def verify_n(N: int, S: int) -> int:
    """The largest n <= N with S^n <= EXHAUSTIVE_CAP (at least 1)."""
    n = 1
    while n < N and S ** (n + 1) <= EXHAUSTIVE_CAP:
        n += 1
    return n


def checked_ks(k_max: int) -> list[int]:
    """k = 1, 2, 4, ... <= k_max, and k_max: the hop counts whose models are saved and checked."""
    ks = [1 << m for m in range(0, max(1, k_max).bit_length()) if (1 << m) <= k_max]
    return sorted(set(ks + ([k_max] if k_max >= 1 else [])))


def verdict_cell(v: dict) -> str:
    return {"verified": "VERIFIED", "refuted": "REFUTED", "unknown": "UNKNOWN"}.get(v.get("verdict"), str(v.get("verdict")))


def align_summary(insp: dict, layers: int) -> dict:
    """Per layer l: the best alignment over its heads with find^(2^(l-2)) (prev for l = 1) and
    the role its best head claims (App. G.2)."""
    heads = insp.get("inspection", {}).get("heads", [])
    out = {}
    for l in range(1, layers + 1):
        role = "prev" if l == 1 else f"find^{1 << (l - 2)}"
        hs = [h for h in heads if h.get("layer") == l]
        vals = [h["roles"][role]["alignment"] for h in hs if role in h.get("roles", {})
                and h["roles"][role]["alignment"] is not None]
        best = max(hs, key=lambda h: h.get("best_alignment") or 0.0) if hs else None
        out[l] = {"role": role, "alignment": max(vals) if vals else None,
                  "best_head_role": best.get("best") if best else None,
                  "best_head_alignment": best.get("best_alignment") if best else None,
                  "claimed": sorted({h["claimed"] for h in hs if h.get("claimed")})}
    return out


def verdict_brief(v: dict) -> dict:
    ce = v.get("counterexample") or {}
    tokens = ce.get("tokens") if isinstance(ce, dict) else None
    return {"verdict": v.get("verdict"), "cases": v.get("cases"), "reason": v.get("reason"),
            "counterexample": tokens, "counterexample_position": ce.get("position") if isinstance(ce, dict) else None,
            "counterexample_no_repeat": None if not tokens else all(a != b for a, b in zip(tokens, tokens[1:]))}


def _layer(lay: dict, l: int) -> dict:
    return lay.get(l) or lay.get(str(l)) or {}


def _cells(r: dict, ck, max_layers: int) -> tuple[list, list, list, list, list]:
    """Per row: exhaustive verdicts, sampled verdicts, no-repeat inputs right / enumerated,
    alignments with find^(2^(l-2)), and each layer's best head's role."""
    ch = r.get("checks") or {}
    v = ch.get("verify", {})
    lay = (ch.get("inspect") or {}).get("layers", {})
    L = r["layers"]
    exh = [(v.get(str(k)) or {}).get("exhaustive", {}).get("verdict", "") for k in ck]
    smp = [(v.get(str(k)) or {}).get("sample", {}).get("verdict", "") for k in ck]
    nr = []
    for k in ck:
        c = ((v.get(str(k)) or {}).get("counts") or {}).get("no_repeat")
        nr.append(f"{c['all_right']}/{c['inputs']}" if c else "")
    al = [("" if _layer(lay, l).get("alignment") is None else f"{_layer(lay, l)['alignment']:.3f}") if l <= L else ""
          for l in range(1, max_layers + 1)]
    best = [(f"{_layer(lay, l).get('best_head_role') or ''}" if l <= L else "") for l in range(1, max_layers + 1)]
    return exh, smp, nr, al, best


def write_hop_outputs(out: str, rows: dict, ks: list[int], k_max: int) -> dict:
    """table.csv, table.json, err_vs_k.png/.svg."""
    if not rows:
        return {}
    Ls = sorted(rows)
    max_layers = max(Ls)
    ck = checked_ks(k_max)
    header = ["L", "params"] + [f"err_k{k}" for k in ks] + [f"exh_k{k}" for k in ck] + [f"smp_k{k}" for k in ck] \
        + [f"norepeat_right_k{k}" for k in ck] + [f"align_l{l}" for l in range(1, max_layers + 1)] \
        + [f"best_role_l{l}" for l in range(1, max_layers + 1)]
    lines = []
    for L in Ls:
        exh, smp, nr, al, best = _cells(rows[L], ck, max_layers)
        lines.append([L, rows[L]["params"]] + [f"{rows[L]['err'][str(k)]:.4f}" for k in ks] + exh + smp + nr + al + best)
    csv_path = os.path.join(out, "table.csv")
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(lines)
    json_path = os.path.join(out, "table.json")
    with open(json_path, "w") as fh:
        jsonlib.dump({"columns": header, "rows": lines, "runs": [rows[L] for L in Ls]}, fh, indent=2)
    figs = [os.path.join(out, "err_vs_k.png"), os.path.join(out, "err_vs_k.svg")]
    hop_figure(rows, ks, figs)
    return {"csv": csv_path, "json": json_path, "figures": figs}


def needed_depth(k: int) -> int:
    """2 + ceil(log2 k) (sht24a.thm4_2's construction), 1 for k = 0 (the identity: a copy)."""
    return 1 if k == 0 else 2 + (k - 1).bit_length()


def hop_figure(rows: dict, ks: list[int], paths: list[str]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7.0, 4.2))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray"]
    for i, L in enumerate(sorted(rows)):
        c = colours[i % len(colours)]
        e = [rows[L]["err"][str(k)] for k in ks]
        ax.plot(ks, e, "-", color=c, label=f"L = {L}")
        ok = [k for k in ks if needed_depth(k) <= L]
        ax.plot(ok, [rows[L]["err"][str(k)] for k in ok], "o", color=c, ms=6)
        no = [k for k in ks if needed_depth(k) > L]
        ax.plot(no, [rows[L]["err"][str(k)] for k in no], "o", color=c, ms=5, mfc="white")
        kmax_ok = max(ok) if ok else None
        if kmax_ok is not None:
            ax.axvline(kmax_ok + 0.5, color=c, ls=":", lw=0.8)
    ax.set_xlabel("k (hops)")
    ax.set_ylabel("err_k (non-⊥ positions)")
    ax.set_xticks(ks)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("filled: L >= 2 + ceil(log2 k) (the construction's depth); dotted: last such k", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for p in paths:
        svg = p.endswith(".svg")
        fig.savefig(p, dpi=120, metadata={"Date": None} if svg else None)


def err_table(rows: dict, ks):
    """The err_k table, rows L, columns k; a dot where L >= 2 + ceil(log2 k) (borderless, so
    k = 0..16 fits the 110 columns; the parameter counts go in the caption)."""
    from rich.table import Table
    t = Table(title="err_k: share of non-⊥ positions wrong (● where L >= 2 + ceil(log2 k))", box=None,
              padding=(0, 0), title_justify="left", caption_justify="left",
              caption="parameters: " + ", ".join(f"L={L} {rows[L]['params']:,}" for L in sorted(rows)))
    t.add_column("L", justify="right", no_wrap=True, min_width=2)
    for k in ks:
        t.add_column(f"k={k}", justify="right", no_wrap=True, min_width=6)
    for L in sorted(rows):
        t.add_row(str(L), *[f"{rows[L]['err'][str(k)]:.2f}" + ("●" if needed_depth(k) <= L else " ") for k in ks])
    return t


def hop_human(con, rows: dict, ks, k_max: int, stopped, files) -> None:
    if stopped:
        con.print(f"UNKNOWN: --budget spent; stopped at {stopped} (checkpoints saved; rerun with --resume)")
    if not rows:
        return
    ck = checked_ks(k_max)
    con.print(err_table(rows, ks))
    checked = [L for L in sorted(rows) if rows[L].get("checks")]
    if checked:
        n = rows[checked[0]]["checks"]["verify_N"]
        top = max(rows)
        vrows = []
        for L in checked:
            exh, smp, nr, _, _ = _cells(rows[L], ck, top)
            vrows.append([L] + [f"{e} / {s_} / {c}" for e, s_, c in zip(exh, smp, nr)])
        con.print(render.table(f"attncheck verify hop --from: exhaustive on |Σ|^{n} / sampled at N / no-repeat"
                               f" inputs of length {n} right at every position", ["L"] + [f"k={k}" for k in ck], vrows))
        ac = ["L"] + [f"l{l}:{'prev' if l == 1 else f'find^{1 << (l - 2)}'}" for l in range(1, top + 1)]
        arows = []
        for L in checked:
            _, _, _, al, best = _cells(rows[L], ck, top)
            arows.append([L] + [f"{a} ({b_})" if a else "" for a, b_ in zip(al, best)])
        con.print(render.table("alignment of layer l with find^(2^(l-2)), best head (App. G.2); in brackets the role"
                               " of the layer's best-aligned head", ac, arows))
    if files:
        con.print(f"wrote {files['csv']}, {files['json']}, " + ", ".join(files["figures"]))


def write_compare_outputs(out: str, res: dict, tdir: str) -> dict:
    """loss_by_position.csv, loss_by_position.png/.svg and result.json of ``compare-rnn``."""
    pos_csv = os.path.join(out, "loss_by_position.csv")
    with open(pos_csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["position", "transformer", "lstm"])
        for i, (a, b) in enumerate(zip(res["transformer"]["loss_by_position"], res["lstm"]["loss_by_position"]), 1):
            w.writerow([i, f"{a:.5f}", f"{b:.5f}"])
    figs = [os.path.join(out, "loss_by_position.png"), os.path.join(out, "loss_by_position.svg")]
    _compare_figure(res, figs)
    files = {"csv": pos_csv, "figures": figs, "transformer": tdir}
    with open(os.path.join(out, "result.json"), "w") as fh:
        jsonlib.dump({**res, "files": files}, fh, indent=2, default=str)
    return files


def _compare_figure(res: dict, paths: list[str]) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.5, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for name, c in (("transformer", "tab:blue"), ("lstm", "tab:red")):
        y = res[name]["loss_by_position"]
        ax.plot(range(1, len(y) + 1), y, color=c, label=f"{name} ({res[name]['params']:,} params)")
    ax.set_xscale("log")
    ax.set_xlabel("position in the context (log)")
    ax.set_ylabel("test loss (nats per token)")
    ax.set_title("induction heads: per-position test loss", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    for p in paths:
        fig.savefig(p, dpi=120, metadata={"Date": None} if p.endswith(".svg") else None)


def compare_human(con, res: dict) -> None:
    if res["stopped"] is not None:
        con.print(f"UNKNOWN: --budget spent; stopped at step {res['stopped']}")
    t, l = res["transformer"], res["lstm"]
    con.print(render.table("induction: matched transformer and LSTM", ("model", "params", "mean loss", "accuracy",
                                                                       "loss at 1 / 4 / 16 / N"),
                           [(n, r["params"], f"{r['mean_loss']:.4f}", f"{r['accuracy']:.3f}",
                             " / ".join(f"{r['loss_by_position'][i - 1]:.3f}" for i in (1, 4, 16, len(r['loss_by_position']))
                                        if i <= len(r["loss_by_position"])))
                            for n, r in (("transformer", t), ("lstm", l))]))
    mn = res.get("myhill_nerode")
    con.print(f"LSTM state: hidden {l['hidden']} -> h and c in float32 = {l['state_bits_float32']} bits; "
              + (f"Myhill-Nerode minimum at N={mn['N']}: {mn['max_classes']} states = {mn['bits']} bits"
                 if mn else "Myhill-Nerode minimum: not enumerable at this size"))
    con.print(f"wrote {res['files']['csv']}, " + ", ".join(res["files"]["figures"]) + f", {res['files']['transformer']}/")

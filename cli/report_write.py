"""Write the report object to ``DIR/report.json``, ``DIR/report.md`` and ``DIR/report.html``.

All three are rendered from the one object that :func:`report_build.build_report` returns.
The HTML is self-contained: the stylesheet is inline and every figure is embedded (PNG as a
base64 data URI, SVG inline), so the file can be mailed or attached to a CI run on its own.
"""
from __future__ import annotations

import base64
import html
import json
import os

EXIT_MEANING = ("exit code = the worst row: 0 every check reached its expected verdict; 1 a check was"
                " refuted unexpectedly, or a paper-literal variant expected to be refuted was not;"
                " 3 a check is undecided (UNKNOWN, out of budget); 4 internal error")
TAGS = ("[P] paper text, [P-abs] abstract only, [A] authors' artifacts, [S] third-party notes,"
        " [R] reconstructed for attncheck, [M] recalled, unconfirmed")
CHECK_COLUMNS = ("check", "theorem", "status", "claim", "verdict", "expected", "method", "evidence",
                 "time", "command")


def write_all(report: dict, out_dir: str) -> dict[str, str]:
    """Write the three files; returns ``{"json": path, "md": path, "html": path}``."""
    paths = {ext: os.path.join(out_dir, f"report.{ext}") for ext in ("json", "md", "html")}
    with open(paths["json"], "w", encoding="utf-8") as f:
        f.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    with open(paths["md"], "w", encoding="utf-8") as f:
        f.write(markdown(report))
    with open(paths["html"], "w", encoding="utf-8") as f:
        f.write(to_html(report, out_dir))
    return paths


def _status_of(report: dict) -> dict[str, str]:
    return {t["id"]: t["status"] for t in report["theorems"]}


def check_cells(report: dict, c: dict) -> list[str]:
    """The cells of one check row, in :data:`CHECK_COLUMNS` order."""
    verdict = c["verdict"].upper() + ("" if c["code"] == 0 else f" ({c['outcome']})")
    return [c["name"], c["theorem"], _status_of(report).get(c["theorem"], "[?]"), c["claim"], verdict,
            c["expect"], c["method"], c["evidence"], f"{c['time_s']:.1f} s", c["command"]]


def _title(t: dict) -> str:
    return t["title"] + (f" (an id of {t['paper'] or 'no paper'}, used here)" if t.get("outside") else "")


def _headline(report: dict) -> str:
    s = report["summary"]
    return (f"{s['checks']} checks: {s['verified']} verified, {s['refuted_as_expected']} paper-literal or"
            f" broken variants refuted as expected, {s['tabulated']} tabulated, {s['unknown']} unknown,"
            f" {s['error']} internal errors; {s['theorems_with_verdict']} of {s['theorems']} catalogue ids"
            f" with a verdict, {s['theorems_not_checkable']} not checkable, {s['theorems_not_run']} not run."
            f"  Result: {report['result']} (exit {report['exit_code']}).")


PROOF_COLUMNS = ("check", "proof", "weights", "independent checker", "weights file SHA-256")


def _proof_headline(report: dict) -> str:
    pr = report["proofs"]
    return (f"{pr['proofs']} proofs written to `{pr['dir']}` ({pr['accepted']} accepted, {pr['rejected']}"
            f" rejected, {pr['unknown']} unknown by the independent checker); index `{pr['index']}`."
            f"  Re-check one with `attncheck check-proof DIR/ROW.proof.json --from DIR/ROW.npz`.")


def proof_rows(report: dict) -> list[list[str]]:
    """One row per check with a proof, or without one for a stated reason (``--proof DIR``);
    checks that are no certificate check at all are left out."""
    rows = []
    for c in report["checks"]:
        e = c.get("proof") or {}
        if e.get("proof"):
            rows.append([c["name"], e["proof"], e["weights"], e["check"], e["weights_file_sha256"]])
        elif e and "not a sequence-task" not in e["why"]:
            rows.append([c["name"], "-", "-", e.get("check") or e["why"], "-"])
    return rows


# --- Markdown -----------------------------------------------------------------------------------
def _md(cell) -> str:
    return str(cell).replace("|", "\\|").replace("\n", " ")


def _md_table(cols, rows) -> list[str]:
    return (["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            + ["| " + " | ".join(_md(c) for c in r) + " |" for r in rows])


def markdown(report: dict) -> str:
    p = report["params"]
    lines = [f"# attncheck report: {report['paper']}", "", f"{report['title']}", "", _headline(report), "",
             f"Budget per check {p['budget']:g} s, {p['workers']} workers"
             + (f", only {', '.join(p['only'])}" if p.get("only") else "")
             + f"; attncheck {report['versions'].get('attncheck')}, Python {report['versions'].get('python')};"
             f" wall time {report['timing']['total_s']:.1f} s.", "", EXIT_MEANING + ".", "",
             "## Theorems", ""]
    lines += _md_table(("id", "status", "title", "verdict", "checks / reason"),
                       [(f"`{t['id']}`", t["status"], _title(t), t["verdict"],
                         ", ".join(t["checks"]) + (f" ({t['reason']})" if t["checks"] else t["reason"]))
                        for t in report["theorems"]])
    lines += ["", "## Checks", ""]
    rows = []
    for c in report["checks"]:
        cells = check_cells(report, c)
        cells[1], cells[-1] = f"`{cells[1]}`", f"`{cells[-1]}`"
        rows.append(cells)
    lines += _md_table(CHECK_COLUMNS, rows)
    if "proofs" in report:
        lines += ["", "## Proofs", "", _proof_headline(report), ""]
        lines += _md_table(PROOF_COLUMNS, [[f"`{x}`" if i in (1, 2) and x != "-" else x
                                             for i, x in enumerate(r)] for r in proof_rows(report)])
    lines += ["", "## Figures", ""]
    for f in report["figures"]:
        lines += [f"![{f['caption']}]({f['file']})", "", f"*{f['caption']}*", ""] if f["file"] else \
                 [f"*{f['name']}: {f['error']}*", ""]
    lines += ["## Status tags", "", TAGS + ".", ""]
    return "\n".join(lines)


# --- HTML ---------------------------------------------------------------------------------------
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 4px 6px; vertical-align: top; text-align: left; }
th { background: #f0f0f0; }
code { font-size: 0.95em; word-break: break-all; }
.v { font-weight: bold; white-space: nowrap; }
.verified { color: #11702b; } .refuted { color: #b00020; } .unknown { color: #9a6700; }
.error { color: #fff; background: #b00020; padding: 0 3px; } .tabulated { color: #335; }
.expected { color: #11702b; } .not { color: #666; font-weight: normal; }
figure { margin: 1em 0; } figure img, figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #444; }
.summary { background: #f7f7f7; border-left: 4px solid #888; padding: 0.6em 1em; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _verdict_class(verdict: str, code: int = 0, expect: str = "verified") -> str:
    if verdict == "refuted" and expect == "refuted" and code == 0:
        return "expected"
    return {"not checkable": "not", "not run": "not", "refuted as printed": "expected"}.get(
        verdict, verdict.split()[0])


def _figure_html(f: dict, out_dir: str) -> str:
    if not f["file"]:
        return f"<p><em>{_e(f['name'])}: {_e(f['error'])}</em></p>"
    path = os.path.join(out_dir, f["file"])
    if path.lower().endswith(".svg"):
        with open(path, encoding="utf-8") as fh:
            svg = fh.read()
        body = svg[svg.find("<svg"):]
    else:
        with open(path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        body = f'<img alt="{_e(f["caption"])}" src="data:image/png;base64,{data}">'
    return f"<figure>{body}<figcaption>{_e(f['caption'])}</figcaption></figure>"


def to_html(report: dict, out_dir: str) -> str:
    p = report["params"]
    t_rows = "".join(
        f"<tr><td><code>{_e(t['id'])}</code></td><td>{_e(t['status'])}</td><td>{_e(_title(t))}</td>"
        f"<td class='v {_verdict_class(t['verdict'])}'>{_e(t['verdict'])}</td>"
        f"<td>{_e(', '.join(t['checks']))}{' — ' if t['checks'] else ''}{_e(t['reason'])}</td></tr>"
        for t in report["theorems"])
    c_rows = []
    for c in report["checks"]:
        cells = check_cells(report, c)
        cls = _verdict_class(c["verdict"], c["code"], c["expect"])
        tds = [f"<td>{_e(cells[0])}</td>", f"<td><code>{_e(cells[1])}</code></td>"]
        tds += [f"<td>{_e(x)}</td>" for x in cells[2:4]] + [f"<td class='v {cls}'>{_e(cells[4])}</td>"]
        tds += [f"<td>{_e(x)}</td>" for x in cells[5:9]] + [f"<td><code>{_e(cells[9])}</code></td>"]
        c_rows.append("<tr>" + "".join(tds) + "</tr>")
    figs = "".join(_figure_html(f, out_dir) for f in report["figures"])
    proofs = ""
    if "proofs" in report:
        body = "".join("<tr>" + "".join(f"<td>{_e(x)}</td>" for x in r) + "</tr>" for r in proof_rows(report))
        proofs = (f"<h2>Proofs</h2><p>{_e(_proof_headline(report))}</p><table><tr>"
                  + "".join(f"<th>{_e(c)}</th>" for c in PROOF_COLUMNS) + f"</tr>{body}</table>")
    only = f", only {_e(', '.join(p['only']))}" if p.get("only") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>attncheck report: {_e(report['paper'])}</title>
<style>{CSS}</style></head><body>
<h1>attncheck report: {_e(report['paper'])}</h1>
<p>{_e(report['title'])}</p>
<p class="summary">{_e(_headline(report))}<br>{_e(EXIT_MEANING)}.</p>
<p>Budget per check {p['budget']:g} s, {p['workers']} workers{only}; attncheck
{_e(report['versions'].get('attncheck'))}, Python {_e(report['versions'].get('python'))};
wall time {report['timing']['total_s']:.1f} s.</p>
<h2>Theorems</h2>
<table><tr><th>id</th><th>status</th><th>title</th><th>verdict</th><th>checks / reason</th></tr>
{t_rows}</table>
<h2>Checks</h2>
<table><tr>{''.join(f'<th>{_e(c)}</th>' for c in CHECK_COLUMNS)}</tr>
{''.join(c_rows)}</table>
{proofs}
<h2>Figures</h2>
{figs}
<h2>Status tags</h2><p>{_e(TAGS)}.</p>
</body></html>
"""

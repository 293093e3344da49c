"""verify / run / build / precision for the k-hop head (``sht24a.thm4_2``).

The commands come from :func:`attncheck.cli.seqtask.make_commands` (same options, verdicts,
JSON keys and exit codes as the induction head) with three hop options: ``--k``, ``--residual``
(overwrite / additive) and ``--paper-part`` (which paper-literal part ``--variant paper``
builds).  ``verify hop`` adds two things to the shared pipeline, both inside the verdict's
``evidence``: the mechanism check per layer (attention of position i at layer l >= 3 lands on
``find^(2^(l-3))(i)``, read from emulator traces) and the two residual modes side by side.
"""
from __future__ import annotations

import dataclasses
import time

import click

from attncheck.cli import options as opt
from attncheck.cli import render, seqtask


def residual_option(f):
    return click.option("--residual", type=click.Choice(["overwrite", "additive"]), default="overwrite",
                         show_default=True,
                         help="overwrite: a per-layer element-wise map rewrites the pointer slots (width"
                              " O(1)); additive: paper-literal residual, fresh slots per layer (width O(log k)).")(f)


def paper_part_option(f):
    return click.option("--paper-part", "paper_part", type=click.Choice(["both", "recursion", "embedding"]),
                        default=None,
                        help="With --variant paper: the printed recursion (L = floor(log2 k) + 2), the"
                             " printed Lemma D.1/D.2 codes, or both (default both).")(f)


def _build_hop(**kw):
    from attncheck.constructions.hop import build_hop
    return build_hop(**kw)


HOP = seqtask.TaskSpec("hop", _build_hop, lambda kw: {"k": kw["k"]},
                       extra_options=(opt.k_option(required=True), residual_option, paper_part_option),
                       builder_keys=seqtask.TaskSpec.builder_keys + ("k", "residual", "paper_part"))
_verify_shared, run_hop, build_hop_cmd, precision_hop = seqtask.make_commands(HOP)


def schedule_rows(c) -> dict[int, str]:
    """What the schedule says layer l attends to: i-1, find^1(i), then find^(2^(l-3))(i)."""
    out = {1: "i-1", 2: "find^1(i)"}
    for l, t in enumerate(c.params["schedule"]["jumps"], start=3):
        out[l] = f"find^{t}(i)"
    return out


CALIBRATION_N = 256
_SECONDS_PER_LAYER: dict = {}


def certificate_seconds(N: int, layers: int, alphabet: int) -> float:
    """About how long one hop certificate takes: timed once at N0 = min(N, 256) and scaled by
    layers x (N+1)^2 (every pointer value is compared with every position).  At large N this
    over-estimates by up to 2x (measured 0.3-0.5 us per layer per (N+1)^2 for N = 256..2048)."""
    from attncheck.constructions.hop import build_hop
    from attncheck.verifiers.certificate import certify
    N0 = min(N, CALIBRATION_N)
    if (N0, alphabet) not in _SECONDS_PER_LAYER:
        c = build_hop(N0, 2, min(alphabet, N0))
        t = time.perf_counter()
        certify(c, "hop", {"k": 2}, c.fmt)
        _SECONDS_PER_LAYER[(N0, alphabet)] = (time.perf_counter() - t) / c.n_layers
    return _SECONDS_PER_LAYER[(N0, alphabet)] * layers * ((N + 1) / (N0 + 1)) ** 2


def mechanism_evidence(c, fmt, attention: str, count: int, seed: int, budget) -> dict:
    """The per-layer mechanism check, each layer also compared with the schedule's statement."""
    from attncheck.verifiers.mechanism import check_mechanism
    rep = check_mechanism(c, fmt, attention, count, seed, budget).to_json()
    says = schedule_rows(c)
    for h in rep["heads"]:
        h["schedule"] = says.get(h["layer"])
        h["agrees_with_schedule"] = h["intended"] == h["schedule"]
        h["ok"] = h["ok"] and h["agrees_with_schedule"]
    rep["ok"] = rep["skipped"] is None and all(h["ok"] for h in rep["heads"])
    return rep


def residual_modes(kw: dict) -> list[dict]:
    """Sizes of the same construction in both residual modes."""
    rows = []
    for mode in ("overwrite", "additive"):
        c = HOP.build(**{**seqtask._builder_kwargs(HOP, kw), "residual": mode})
        rows.append({"residual": mode, **c.size()})
    return rows


def combine(verdict, mech: dict, modes: list[dict]):
    """Attach the mechanism and residual-mode evidence; a VERIFIED output claim whose mechanism
    check fails becomes UNKNOWN (the promises the certificate relies on are then not what the
    trace shows)."""
    from attncheck.constructions.verdict import Status
    ev = {**verdict.evidence, "mechanism": mech, "residual_modes": modes}
    if verdict.status is Status.VERIFIED and mech["skipped"] is None and not mech["ok"]:
        return dataclasses.replace(verdict, status=Status.UNKNOWN, evidence=ev,
                                   reason=verdict.reason + "; but the attention trace does not follow"
                                          " the promised mechanism (see evidence.mechanism)")
    return dataclasses.replace(verdict, evidence=ev)


def _verify_fn(**kw):
    ctx = click.get_current_context()
    t0 = time.perf_counter()
    from attncheck.constructions.budget import Budget
    budget = Budget(kw.get("budget"))
    c = seqtask.load_or_build(HOP, kw, _NEEDED)
    fmt = seqtask.resolve_format(kw["precision"], c)
    t1 = time.perf_counter()
    verdict = seqtask.run_check(HOP, c, fmt, kw, budget)
    t2 = time.perf_counter()
    mech = mechanism_evidence(c, fmt, kw["attention"], kw["mechanism_inputs"], kw["seed"], budget)
    verdict = combine(verdict, mech, [] if budget.expired() else residual_modes(kw))
    t3 = time.perf_counter()
    report = render.envelope("verify hop", seqtask._params(kw, fmt), seed=kw["seed"],
                             timing={"build_s": t1 - t0, "check_s": t2 - t1, "mechanism_s": t3 - t2,
                                     "total_s": t3 - t0},
                             **verdict.to_json(), construction=c.to_json())
    render.emit(report, kw["as_json"], _verify_human(report))
    ctx.exit(verdict.exit_code)


def _verify_human(report):
    shared = render.verdict_human(report)

    def draw(con):
        c = report["construction"]
        con.print(render.esc(f"{c['theorem']} {c['status']}"))
        con.print(render.esc(f"schedule: {c['notes'][0]}"))
        shared(con)
        ev = report.get("evidence") or {}
        m = ev.get("mechanism")
        if m:
            title = (f"mechanism from traces ({m['inputs']} inputs, seed {m['seed']}, {m['format']},"
                     f" {m['attention']})")
            if m["skipped"]:
                con.print(f"  mechanism: skipped: {render.esc(m['skipped'])}")
            else:
                con.print(render.table(title, ("layer", "promise: attends to", "schedule says",
                                               "argmax hits", "min mass", "G.2 alignment", "ok"),
                                       [(h["layer"], h["intended"], h["schedule"],
                                         f"{h['argmax_hits']}/{h['pairs']}", f"{h['min_mass']:.6f}", f"{h['alignment']:.6f}",
                                         "yes" if h["ok"] else "NO") for h in m["heads"]]))
        if ev.get("residual_modes"):
            con.print(render.table("residual modes side by side",
                                   ("residual", "layers", "width", "format", "parameters", "map table"),
                                   [(r["residual"], r["layers"], r["width"], r["format"], r["parameters"],
                                     r["map_table_entries"]) for r in ev["residual_modes"]]))
    return draw


_PARAMS = list(_verify_shared.params)
_NEEDED = [p for p in _PARAMS if p.name in ("n", "k")]     # required unless --from gives them
verify_hop = click.Command(
    name="hop", callback=_verify_fn,
    params=_PARAMS + [click.Option(
        ["--mechanism-inputs", "mechanism_inputs"], type=click.IntRange(min=0), default=32, show_default=True,
        help="Probe inputs for the per-layer attention (mechanism) check; 0 skips it.")],
    help="Verify the k-hop head (sht24a.thm4_2): outputs by --mode, plus the attention mechanism per"
         " layer from traces.  Exit 0 verified, 1 refuted, 2 bad input, 3 unknown.")

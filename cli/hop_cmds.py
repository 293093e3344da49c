"""verify / run / build / precision for the k-hop head (``sht24a.thm4_2``).

The commands come from :func:`attncheck.cli.seqtask.make_commands` (same options, verdicts,
JSON keys and exit codes as the induction head) with three hop options: ``--k``, ``--residual``
(overwrite / additive) and ``--paper-part`` (which paper-literal part ``--variant paper``
builds).  ``verify hop`` adds two things to the shared pipeline, both inside the verdict's
``evidence``: the mechanism check per layer (attention of position i at layer l >= 3 lands on
``find^(2^(l-3))(i)``, read from emulator traces) and the two residual modes side by side.  The
rule that a failing mechanism demotes VERIFIED to UNKNOWN lives in
:func:`attncheck.verifiers.mechanism.with_mechanism`; this module only calls it.
"""
from __future__ import annotations

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


def mechanism_option(f):
    return click.option("--mechanism-inputs", "mechanism_inputs", type=click.IntRange(min=0), default=32,
                        show_default=True,
                        help="Probe inputs for the per-layer attention (mechanism) check; 0 skips it.")(f)


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


def residual_modes(p) -> list[dict]:
    """Sizes of the same construction in both residual modes."""
    rows = []
    for mode in ("overwrite", "additive"):
        c = HOP.build(**{**HOP.builder_kwargs(p), "residual": mode})
        rows.append({"residual": mode, **c.size()})
    return rows


def mechanism_and_modes(c, fmt, p, budget, verdict):
    """``verify hop`` after the output check: the mechanism per layer from traces and the two
    residual modes, attached as evidence (the demotion rule is
    :func:`attncheck.verifiers.mechanism.with_mechanism`)."""
    from attncheck.verifiers.mechanism import hop_mechanism, with_mechanism
    t0 = time.perf_counter()
    mech = hop_mechanism(c, fmt, p.attention, p.mechanism_inputs, p.seed, budget)
    verdict = with_mechanism(verdict, mech, residual_modes=[] if budget.expired() else residual_modes(p))
    return verdict, {"mechanism_s": time.perf_counter() - t0}


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


HOP = seqtask.TaskSpec(
    "hop", _build_hop, lambda p: {"k": p.k},
    extra_options=(opt.k_option(required=True), residual_option, paper_part_option),
    builder_keys=seqtask.TaskSpec.builder_keys + ("k", "residual", "paper_part"),
    verify_options=(mechanism_option,), after_check=mechanism_and_modes, verify_human=_verify_human,
    verify_help="Verify the k-hop head (sht24a.thm4_2): outputs by --mode, plus the attention mechanism per"
                " layer from traces.  Exit 0 verified, 1 refuted, 2 bad input, 3 unknown.")
verify_hop, run_hop, build_hop_cmd, precision_hop = seqtask.make_commands(HOP)

"""``attncheck reduction check rnn-multipass | rnn-pointer | cot-rounds | disj-match3`` and
``attncheck reduction collide``: the sequential-architecture separations (sht24a.cor5_2,
an21.prop4_12, sht24a.cor5_6) and the Match3 embedding (sht23.thm7) as finite identities, and the
search for a refutation of a given multi-layer RNN through its protocol's transcripts
(bounds/seq_reductions.py, bounds/rnn_collide.py; docs/sequential.md).

The identity checks are dispatched from ``reduction check`` in cli/witness.py (one registry of
ids for the user); their extra options are declared here (:func:`seq_options`).
"""
from __future__ import annotations

import time

import click

from attncheck.cli import render
from attncheck.cli.options import common_options, k_option
from attncheck.cli.params import WitnessParams, takes

#: Ids handled here (bounds/seq_reductions.py; kept literal so that --help imports nothing).
SEQ_IDS = ("rnn-multipass", "rnn-pointer", "cot-rounds", "disj-match3")
MODEL = click.Choice(["successor", "table", "elman"])


def seq_options(f):
    """The options of the sequential checks (``reduction check`` and ``reduction collide``)."""
    for opt in reversed((
        click.option("--layers", type=int, default=None,
                     help="rnn-*: layers L of the RNN (rnn-pointer: default k; rnn-multipass: 2)."),
        click.option("--model", type=MODEL, default=None,
                     help="rnn-*: successor (stacked successor tables, constructions/rnn.py), table"
                          " (seeded arbitrary cell, 2^s states) or elman (seeded tanh units, 2 bits each)."),
        click.option("--state-bits", "state_bits", type=int, default=None,
                     help="rnn-* with --model table|elman: state bits s of each layer."),
        click.option("--players", type=int, default=None,
                     help="rnn-multipass: blocks (players) the input is cut into [default: 3]."),
        click.option("--cot", type=int, default=None,
                     help="cot-rounds: chain-of-thought tokens N_CoT [default: 2]."),
        click.option("--H", "H", type=int, default=None, help="cot-rounds: heads H [default: 1]."),
        click.option("--from", "from_", type=click.Path(dir_okay=False), default=None,
                     help="rnn-pointer: the RNN of an .npz file (refute rnn's format: successor and"
                          " table cells) instead of --model."),
    )):
        f = opt(f)
    return f


def seq_given(p: WitnessParams) -> dict:
    return {"n": p.n, "q": p.q, "k": p.k, "N": p.N, "alphabet": p.alphabet, "players": p.players,
            "layers": p.layers, "state_bits": p.state_bits, "model": p.model, "cot": p.cot, "H": p.H,
            "from": p.from_}


def run_seq_check(p: WitnessParams, finish, with_sizes, progress) -> None:
    """``reduction check ID`` for the ids in :data:`SEQ_IDS` (``finish``: cli/witness.py's)."""
    from attncheck.bounds.seq_reductions import REDUCTIONS, check, planned
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.verdict import BadInput
    red = REDUCTIONS[p.id]
    given = seq_given(p)
    extra = [k for k, v in given.items() if v is not None and k not in red.params]
    if p.variant is not None:
        extra.append("variant")
    if extra:
        flag = lambda o: "--" + o.replace("_", "-")                                  # noqa: E731
        raise BadInput(f"{p.id} takes {', '.join(map(flag, red.params))}; not {', '.join(map(flag, extra))}")
    t0 = time.perf_counter()
    with progress(planned(p.id, given, p.mode, p.samples), f"reduction {p.id}") as step:
        v = with_sizes(check(p.id, given, p.mode, p.samples, p.seed or 0, Budget(p.budget), on_step=step))

    def draw(con):
        report = {"command": p.meta.command, "counterexample": v.to_json()["counterexample"]}
        for line in render.counterexample_lines(report):
            con.print(f"  {render.esc(line)}", soft_wrap=True)
        for line in consequence_lines(v.evidence or {}):
            con.print(f"  {render.esc(line)}", soft_wrap=True)
    finish(p, v, {}, t0, draw)


def consequence_lines(ev: dict) -> list[str]:
    """The protocol, the premise, the bound row and the conclusion, one line each."""
    out = []
    proto = ev.get("protocol")
    if proto and "message_bits_per_round" in proto:
        out.append(f"protocol: {proto['players']} players; {proto['rounds']} rounds of"
                   f" {'/'.join(map(str, proto['message_bits_per_round']))}-bit messages (one per layer),"
                   f" or 1 round of {proto['one_round_message_bits']}-bit messages;"
                   f" output {proto['output_bits']} bits")
    elif proto:
        out.append(f"protocol: {proto['players']} players; {proto['rounds']} rounds (N_CoT + 1) of"
                   f" {proto['message_bits']}-bit messages (H(m+1)p, H = {proto['H']}, m = {proto['m']})")
    if ev.get("embedding"):
        e = ev["embedding"]
        out.append(f"embedding: N = {e['N']}, M = {e['M']}, query x_1 = {e['query']}")
    if ev.get("premise"):
        pr = ev["premise"]
        out.append(f"premise ({pr['what']}): holds on {pr['holds_on']:,} of {pr['of']:,} instances")
    for key, label in (("bound", "bound"), ("one_round_bound", "bound, 1-round view")):
        b = ev.get(key)
        if b:
            out.append(f"{label}: {b['id']} [{b['status']}] {b['text']} -- {b['reading']}")
    for key in ("conclusion", "note"):
        if ev.get(key):
            out.append(f"{key}: {ev[key]}")
    return out


@click.command("collide")
@click.option("--q", "q", type=int, default=2, show_default=True, help="Layer size q of pointer chasing.")
@k_option(default=3)
@seq_options
@click.option("--search", type=click.Choice(["both", "rectangle"]), default="both", show_default=True,
              help="rectangle: report only what transcript collisions prove (no direct comparison).")
@click.option("--mode", type=click.Choice(["auto", "exhaustive", "sample"]), default="auto",
              show_default=True, help="auto = every input up to 200,000, else sample.")
@click.option("--samples", type=int, default=2000, show_default=True, help="Inputs drawn by sampling.")
@common_options
@takes(WitnessParams)
def reduction_collide(p: WitnessParams):
    """Refute a multi-layer RNN on hop_k (sht24a.cor5_2) from its protocol's transcripts: two
    pointer-chasing inputs that write the same board make every mix of their players' inputs
    write it too; a mix with another answer is a counterexample, replayed through the model.
    REFUTED, UNKNOWN, or VERIFIED when every input was run and answered correctly."""
    from attncheck.bounds import multipass
    from attncheck.bounds.rnn_collide import collide
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.verdict import BadInput
    if p.players is not None or p.cot is not None or p.H is not None:
        raise BadInput("collide takes --q, --k, --layers, --model, --state-bits; not --players, --cot, --H")
    if not (isinstance(p.q, int) and 1 <= p.q <= 4 and isinstance(p.k, int) and 1 <= p.k <= 6):
        raise BadInput(f"--q must be in 1..4 and --k in 1..6, got q = {p.q}, k = {p.k}")
    if p.from_:
        if p.layers is not None or p.model is not None or p.state_bits is not None:
            raise BadInput("--from gives the model; not --layers, --model or --state-bits")
        layers, V = multipass.load_model(p.from_)
        if V < 2 * p.q + 3:
            raise BadInput(f"{p.from_}: alphabet {V} is too small; q = {p.q} needs >= {2 * p.q + 3} symbols")
    else:
        layers = multipass.build_model(p.model or "successor", p.layers if p.layers is not None else max(1, p.k - 1), 2 * p.q + 3,
                                       p.state_bits, p.seed or 0)
    t0 = time.perf_counter()
    v = collide(layers, p.q, p.k, p.mode, p.samples, p.seed or 0, Budget(p.budget), p.search)
    obj = render.envelope(p.meta.command, p.to_json(), seed=p.seed,
                          timing={"total_s": time.perf_counter() - t0}, **v.to_json())

    def human(con):
        render.headline(con, obj, soft_wrap=True)
        for line in render.counterexample_lines(obj):
            con.print(f"  {render.esc(line)}", soft_wrap=True)
        ce = (v.counterexample.explanation if v.counterexample else {}) or {}
        for inst in ce.get("colliding", ()):
            con.print(f"  colliding input: matchings {inst['matchings']}, first half {inst['first_half']}",
                      soft_wrap=True, markup=False)
        b = v.evidence["bound"]
        con.print(f"  {v.evidence['transcripts']:,} distinct transcripts of {v.evidence['ran']:,} inputs run;"
                  f" {b['id']} [{b['status']}] {b['text']} -- {b['reading']}", soft_wrap=True, markup=False)
    render.emit(obj, p.json, human)
    click.get_current_context().exit(v.exit_code)

"""``attncheck refute one-layer TASK`` and ``attncheck refute rnn [TASK]``: lower bounds that find
the failing input of a given small model (docs/refute.md).

Each command is ``params -> model -> task side (bounds) -> search (verifiers) -> render``.  The
task side (the communication matrix of ``sht24b.one-layer-ih-lb``, the Myhill-Nerode classes of
``sht23.rnn-ih``) comes from :mod:`attncheck.bounds.witnesses` and never looks at the model;
the search and its replay come from :mod:`attncheck.verifiers.refute_oneway` and
:mod:`attncheck.verifiers.refute_rnn`, which never look at the task's definition beyond the
arrays handed to them and tasks.py for the replay.  The CLI joins them (docs/architecture.md).

Verdicts: REFUTED (exit 1) with a counterexample replayed through the emulator (or the RNN
runner); UNKNOWN (exit 3) when no collision was found or the budget ran out.  Refuting never
proves a model correct, so exit 0 is not used.  Bad input (a model with more than one layer, an
exact format, sizes over the enumeration cap) is one line and exit 2.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import click

from attncheck.cli import options as opt
from attncheck.cli import render
from attncheck.cli.main import LazyGroup
from attncheck.cli.params import Params, takes
from attncheck.constructions.verdict import BudgetExceeded, Method, Status, Verdict

MODELS = ("random", "ih-layer1", "ih-layer2", "match-at-two")
RNN_MODELS = ("successor", "table")
DEFAULT_RANDOM_FORMAT = "fixed:3.1"


@dataclass(frozen=True)
class RefuteParams(Params):
    """``refute one-layer`` and ``refute rnn``."""

    task: str | None = None
    from_: str | None = None
    model: str | None = None
    split: str | None = None
    H: int | None = None
    head_width: int | None = None
    state_bits: int | None = None
    layers: int | None = None
    last: int | None = None


@click.group(name="refute", cls=LazyGroup)
def refute():
    """Find the failing input of a given small model from a lower bound's argument: one-layer
    attention by one-way communication (sht24b.one-layer-ih-lb), RNNs by Myhill-Nerode classes
    (sht23.rnn-ih).  Exit 1 refuted (replayed), 3 unknown, 2 bad input; never 0."""


def _finish(p: RefuteParams, verdict, body: dict, t0: float, draw) -> None:
    obj = render.envelope(p.meta.command, p.to_json(), seed=p.seed,
                          timing={"total_s": time.perf_counter() - t0}, **verdict.to_json(), **body)
    render.emit(obj, p.json, lambda con: draw(con, obj))
    click.get_current_context().exit(verdict.exit_code)


def _spent(claim: str, e) -> "Verdict":
    """UNKNOWN when the budget ran out while the task's side was computed (before any search)."""
    return Verdict(Status.UNKNOWN, Method.EXHAUSTIVE, claim, "partial",
                   f"{e} while computing the task's side; stopped at {e.progress}")


# --- one layer ---------------------------------------------------------------------------------
def _one_layer_model(p: RefuteParams):
    """(construction, format, N, alphabet) from --from or --model."""
    from attncheck.constructions.precision import parse_format
    from attncheck.constructions.verdict import BadInput
    if p.from_ is not None:
        if p.given("model"):
            raise BadInput("give --from or --model, not both")
        from attncheck.constructions.exchange import load_model
        c = load_model(p.from_)
        N = p.N if p.N is not None else c.n
        alphabet = p.alphabet if p.alphabet is not None else min(c.alphabet, 3, N)
    else:
        if p.N is None:
            raise BadInput("--N is required unless --from gives the model")
        N = p.N
        model = p.model or "random"
        if model == "match-at-two":
            from attncheck.constructions.onelayer import match_at_two
            alphabet = p.alphabet if p.alphabet is not None else 2
            if N != 2:
                raise BadInput(f"--model match-at-two is built at N = 2, got --N {N}")
            c = match_at_two(alphabet)
        elif model == "random":
            from attncheck.constructions.onelayer import random_one_layer
            alphabet = opt.default_alphabet(N, p.alphabet)
            text = DEFAULT_RANDOM_FORMAT if p.precision == "declared" else p.precision
            c = random_one_layer(N, alphabet, H=p.H or 1, head_width=p.head_width or 1,
                                 fmt=text if text != "exact" else DEFAULT_RANDOM_FORMAT, seed=p.seed)
        else:
            from attncheck.constructions.induction import build_induction
            from attncheck.constructions.onelayer import layer_of
            alphabet = opt.default_alphabet(N, p.alphabet)
            c = layer_of(build_induction(N, alphabet), 0 if model == "ih-layer1" else 1)
    if (p.from_ is not None or (p.model or "random") != "random") and (p.given("H") or p.given("head_width")):
        raise BadInput("--H and --head-width shape the random model (--model random) only")
    if p.precision == "declared":
        fmt = c.fmt
    elif p.precision == "exact":
        fmt = parse_format("exact")
    else:
        fmt = parse_format(p.precision)
    return c, fmt, N, alphabet


def _instance(task: str, N: int, alphabet: int, split: str, k: int, budget, step, last: int | None = None):
    """The task side: the communication matrix and its distinct rows (bounds.witnesses); with
    ``last`` the columns with X_N = last only (the catalogue's fixed query)."""
    import numpy as np

    from attncheck.bounds.witnesses.domain import distinct_rows, make_domain
    from attncheck.bounds.witnesses.oneway import communication_matrix
    from attncheck.constructions.verdict import BadInput
    from attncheck.verifiers.refute_oneway import Instance
    d = make_domain(task, N, alphabet, k)
    if last is not None and not 0 <= last < alphabet:
        raise BadInput(f"--last must be a symbol code in 0..{alphabet - 1}, got {last}")
    mat, alice, bob = communication_matrix(task, N, alphabet, split, k, budget=budget, on_step=step)
    if not alice:
        raise BadInput(f"the {split} split gives Alice no position at N = {N}: nothing to refute; use"
                       " a larger --N or another --split")
    choices = d.choices
    if last is not None:
        if N not in bob:
            raise BadInput(f"--last fixes Bob's x_N, but the {split} split gives position N to Alice")
        mat = np.ascontiguousarray(mat.reshape(mat.shape[0], -1, alphabet)[:, :, last])   # X_N varies fastest
        choices = choices[:N - 1] + ((last,),)
    rows, ids = distinct_rows(mat, budget)
    return Instance(task, N, k, split, alice, bob, choices, mat, ids, rows,
                    {} if last is None else {"last": last})


@refute.command("one-layer")
@click.argument("task", type=click.Choice(["induction", "hop"]))
@click.option("--from", "from_", type=click.Path(exists=True), default=None,
              help="The model: a .npz construction file (build --out) or an exchange directory (export).")
@click.option("--model", type=click.Choice(MODELS), default=None,
              help="Without --from: a seeded random one-layer model (default), layer 1 or 2 of the"
                   " induction construction alone, or the hand-made model correct at N = 2.")
@opt.n_option(required=False)
@opt.alphabet_option(help_="Alphabet size |Σ| of the task's domain.  [default: the model's, at most min(3, N)]")
@opt.k_option(default=1)
@click.option("--split", default=None,
              help="Alice's positions: interleaved (default for induction, the INDEX split), halves,"
                   " prefix:T, block (hop, k >= 2: its default; halves for k = 1).")
@click.option("--last", type=click.IntRange(min=0), default=None,
              help="Fix Bob's last symbol x_N to this code (the catalogue's fixed query: one query per"
                   " head in Alice's message, rows of the matrix with X_N fixed).")
@click.option("--H", "H", type=click.IntRange(min=1), default=None, help="Heads of the random model [default: 1].")
@click.option("--head-width", "head_width", type=click.IntRange(min=1), default=None,
              help="Query/key and value width of the random model's heads [default: 1].")
@opt.precision_option(help_="'declared' (the model's own format; the random model's default is"
                            f" {DEFAULT_RANDOM_FORMAT}) or 'fixed:I.F'; 'exact' has no finite message (exit 2).")
@click.option("--attention", type=click.Choice(["softmax", "hardmax"]), default="softmax", show_default=True,
              help="Softmax at each head's temperature, or hardmax (ties averaged).")
@click.option("--samples", type=click.IntRange(min=1), default=20000, show_default=True,
              help="Alice inputs drawn (seeded) when there are more than 2^20 of them.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Also save the model refuted (.npz construction file).")
@opt.common_options
@takes(RefuteParams)
def one_layer(p: RefuteParams):
    """Refute a one-layer attention model on TASK at position N by one-way communication
    (sht24b.one-layer-ih-lb): two Alice inputs whose messages (partial softmax sums at every
    reachable row maximum, exactly as the emulator accumulates them) are equal but whose rows
    of the task's communication matrix differ give a full input the model gets wrong; it is
    replayed through the emulator.  'Guaranteed' when the model's distinct messages are fewer
    than the matrix's distinct rows."""
    from attncheck.bounds.witnesses.oneway import DEFAULT_SPLIT
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.verdict import BadInput
    from attncheck.verifiers.refute_oneway import MAX_ALICE, check_model, refute_one_layer
    t0 = time.perf_counter()
    if p.task == "induction" and p.k != 1:
        raise BadInput(f"--k applies to hop only (induction is hop_1), got k={p.k}")
    c, fmt, N, alphabet = _one_layer_model(p)
    check_model(c, fmt, N, alphabet)
    if p.out:
        from attncheck.constructions.exchange import is_exchange
        from attncheck.constructions.io import save_construction
        if is_exchange(c):
            raise BadInput(f"--out writes .npz construction files; {p.from_} is in the exchange format:"
                           " copy its directory instead")
        save_construction(c, p.out)
    split = p.split or ("halves" if p.task == "hop" and p.k < 2 else DEFAULT_SPLIT[p.task])  # block needs k >= 2
    budget = Budget(p.budget)
    try:
        with render.progress(None, "communication matrix") as step:
            inst = _instance(p.task, N, alphabet, split, p.k, budget, step, p.last)
    except BudgetExceeded as e:
        return _finish(p, _spent(f"the one-layer model {c.name} computes {p.task} at position N={N}", e),
                       {}, t0, _one_layer_human)
    total = len(inst.row_ids)
    with render.progress(min(total, p.samples) if total > MAX_ALICE else total, "Alice's messages") as step:
        verdict = refute_one_layer(c, fmt, p.attention, inst, samples=p.samples, seed=p.seed,
                                   budget=budget, on_step=step)
    size = c.size()
    body = {"model": {"name": c.name, "theorem": c.theorem, "status": c.status, "layers": size["layers"],
                      "heads": size["heads"], "width": size["width"], "format": str(fmt),
                      "params": dict(c.params)}}
    _finish(p, verdict, body, t0, _one_layer_human)


def _positions(pos) -> str:
    return ", ".join(str(t) for t in pos)


def _one_layer_human(con, r: dict) -> None:
    render.headline(con, r, soft_wrap=True)
    ev, m = r.get("evidence") or {}, r.get("model") or {}
    if not ev:
        return
    cat = ev.get("catalogue") or {}
    via = " via cc.oneway [standard]" if ev.get("theorem") != "cc.oneway" else " (the one-layer argument of sht24b.one-layer-ih-lb)"
    rows = [("theorem", f"{ev.get('theorem')} [{ev.get('status_tag')}]{via}"),
            ("model", f"{m.get('name')}: {m.get('layers')} layer, {m.get('heads')} head(s), width {m.get('width')},"
                      f" {m.get('format')}, {ev.get('attention')}"),
            ("split", f"{ev.get('split')}: Alice {_positions(ev.get('alice', []))}; Bob {_positions(ev.get('bob', []))}"),
            ("Alice inputs", f"{ev.get('scanned', 0):,} scanned of {ev.get('alice_inputs', 0):,} ({ev.get('search')})"),
            ("distinct messages", f"{ev.get('messages', 0):,}" + ("" if ev.get("messages_exact") else " (among those scanned)")
             + f" = {ev.get('message_bits')} bits"),
            ("distinct rows of the task", f"{ev.get('rows', 0):,} = {ev.get('rows_bits')} bits"),
            ("guaranteed (messages < rows)", "yes" if ev.get("guaranteed") else "no"),
            ("catalogue form H(m+1)p", f"{cat.get('H(m+1)p')} bits (H={cat.get('H')}, m={cat.get('m')}, p={cat.get('p')})"
             f" {'<' if ev.get('catalogue_below') else '>='} {ev.get('rows_bits')}: the form "
             + ("forces" if ev.get("catalogue_below") else "does not force") + " a collision"),
            ("closed form for this arithmetic", f"{ev.get('message_bits_closed_form'):,} bits (exact partial sums at"
             " every candidate maximum, every query symbol and head): the counted messages decide")]
    con.print(render.table(None, ("quantity", "value"), rows))
    _counterexample_footer(con, r)


def _counterexample_footer(con, r: dict) -> None:
    ce = r.get("counterexample")
    for line in render.counterexample_lines(r):
        con.print(f"  {render.esc(line)}")
    if ce:
        ex = ce.get("explanation", {})
        con.print(render.esc(f"  replayed: the partner input {render.fmt_seq(ex.get('partner', []))} (answer"
                             f" {render.fmt_token(ex.get('partner_expected'))}) gets the same output"
                             f" {render.fmt_token(ex.get('same_output'))}"))
    t = r.get("timing") or {}
    con.print(f"  time: {t.get('total_s', 0):.2f} s")


# --- RNN ---------------------------------------------------------------------------------------
def _rnn_model(p: RefuteParams):
    from attncheck.constructions.verdict import BadInput
    if p.from_ is not None:
        from attncheck.constructions.rnn_table import load_rnn
        for name in ("state_bits", "model", "layers"):
            if p.given(name):
                raise BadInput(f"{p.flag(name)} builds a model; give it or --from, not both")
        rnn = load_rnn(p.from_)
        N = p.N if p.N is not None else rnn.params["N"]
        alphabet = p.alphabet if p.alphabet is not None else rnn.alphabet
        return rnn, N, alphabet
    if p.N is None:
        raise BadInput("--N is required unless --from gives the RNN")
    alphabet = p.alphabet if p.alphabet is not None else 3
    model = p.model or "successor"
    if model not in RNN_MODELS:
        raise BadInput(f"--model {model!r} is not an RNN model; choose one of {', '.join(RNN_MODELS)}")
    if p.task == "hop" and p.state_bits is not None:
        raise BadInput("--state-bits builds induction RNNs; for hop use --layers (stacked successor cells)")
    if model == "table":
        from attncheck.constructions.rnn_table import random_table_rnn
        if p.state_bits is None:
            raise BadInput("--model table needs --state-bits s (2^s states)")
        if p.state_bits > 16:
            raise BadInput(f"--state-bits {p.state_bits} > 16: at most 2^16 table states")
        return random_table_rnn(p.N, alphabet, 1 << p.state_bits, p.seed), p.N, alphabet
    if p.state_bits is not None:
        from attncheck.constructions.rnn_table import quantised_successor
        return quantised_successor(p.N, alphabet, p.state_bits), p.N, alphabet
    from attncheck.constructions.rnn import build_rnn
    return build_rnn(p.task, p.N, alphabet, k=p.k, layers=p.layers), p.N, alphabet


@refute.command("rnn")
@click.argument("task", type=click.Choice(["induction", "hop"]), required=False, default=None)
@click.option("--from", "from_", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The RNN: a .npz file written by --out (its task, N, alphabet and k are the defaults).")
@opt.n_option(required=False)
@opt.alphabet_option(help_="Alphabet size |Σ|.  [default: the RNN's, or 3]")
@opt.k_option(default=1)
@click.option("--model", type=click.Choice(RNN_MODELS), default=None,
              help="Without --from: successor (the sht23.rnn-ih baseline; with --state-bits s merged into"
                   " 2^s states) or table (seeded random tables with 2^s states).  [default: successor]")
@click.option("--state-bits", "state_bits", type=click.IntRange(min=0), default=None,
              help="State bits s of the built RNN: 2^s states (one table cell).")
@click.option("--layers", type=click.IntRange(min=1), default=None,
              help="hop: stacked successor cells (default k; fewer cannot be right).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Also save the RNN refuted (.npz).")
@opt.common_options
@takes(RefuteParams)
def rnn_cmd(p: RefuteParams):
    """Refute an RNN on TASK at position N by Myhill-Nerode classes (sht23.rnn-ih): two prefixes
    with the same joint state but in different classes, and the suffix that separates them, give
    an input the RNN gets wrong; it is replayed through the RNN runner.  'Guaranteed' when the
    joint state space, or the states reached at a cut, are fewer than the classes there.  The
    successor baseline without --state-bits is correct, so it comes out UNKNOWN."""
    from attncheck.bounds.witnesses.domain import answers, make_domain
    from attncheck.bounds.witnesses.myhill_nerode import refine_ids
    from attncheck.constructions.budget import Budget
    from attncheck.verifiers.refute_rnn import Classes, refute_rnn
    from attncheck.constructions.verdict import BadInput
    t0 = time.perf_counter()
    rnn, N, alphabet = _rnn_model(p.replace(task=p.task or "induction"))
    task = p.task or (rnn.task if p.from_ else "induction")
    if p.from_ and rnn.task != task:
        raise BadInput(f"{p.from_} holds an RNN for {rnn.task!r}, not {task!r}")
    k = (p.k if p.given("k") or not p.from_ else rnn.params.get("k", 1)) if task == "hop" else 1
    if task != "hop" and p.k != 1:
        raise BadInput(f"--k applies to hop only (induction is hop_1), got k={p.k}")
    p = p.replace(task=task)
    budget = Budget(p.budget)
    d = make_domain(p.task, N, alphabet, k)
    try:
        with render.progress(None, "Myhill-Nerode classes") as step:
            ans = answers(d, budget, step)
            ids = refine_ids(ans, d.radix, budget, step)
    except BudgetExceeded as e:
        return _finish(p, _spent(f"the RNN {rnn.name} computes {task} at position N={N}", e), {}, t0, _rnn_human)
    if p.out:
        from attncheck.constructions.rnn_table import save_rnn
        save_rnn(rnn, p.out)
    with render.progress(N - 1, "cuts") as step:
        verdict = refute_rnn(rnn, Classes(p.task, N, alphabet, k, tuple(ids), ans), budget, step)
    body = {"model": rnn.to_json()}
    _finish(p, verdict, body, t0, _rnn_human)


def _rnn_human(con, r: dict) -> None:
    render.headline(con, r, soft_wrap=True)
    ev, m = r.get("evidence") or {}, r.get("model") or {}
    if not ev:
        return
    rows = [("theorem", f"{ev.get('theorem')} [{ev.get('status_tag')}]"),
            ("model", f"{m.get('name')}: {m.get('layers')} layer(s), {ev.get('joint_states', 0):,} joint states"
                      f" ({ev.get('state_bits')} state bits per layer at most)"),
            ("Myhill-Nerode classes (widest cut)", f"{ev.get('max_classes', 0):,} = {ev.get('class_bits')} bits"),
            ("guaranteed", f"yes: {ev.get('guarantee')}" if ev.get("guaranteed") else "no")]
    if ev.get("cut") is not None:
        rows.append(("collision", f"t = {ev['cut']}: prefixes {render.fmt_seq(ev['prefixes'][0])} and"
                                  f" {render.fmt_seq(ev['prefixes'][1])}, suffix {render.fmt_seq(ev['suffix'])}"))
    con.print(render.table(None, ("quantity", "value"), rows))
    cuts = [c for c in ev.get("cuts", []) if "states_reached" in c]
    if cuts:
        con.print(render.table("cuts searched (widest first)", ("t", "classes c_t", "states reached"),
                               [(c["t"], c["classes"], c["states_reached"]) for c in cuts]))
    _counterexample_footer(con, r)

"""``attncheck mpc ...`` and ``attncheck verify mpc ALGO``: MPC protocols and transformers.

Each command is params -> build -> check -> render (STYLE.md 1); the work lives in
``attncheck.constructions.mpc`` and the printing in :mod:`attncheck.cli.render`.

* ``mpc compile ALGO --N N``   the Thm 3.1 transformer of a protocol: layers, heads, width.
* ``verify mpc ALGO --N N``    protocol and transformer side by side, round by round.
* ``mpc covering``             Fact B.2 by brute force: smallest working d beside 12 b^2 ln n.
* ``mpc reverse --N N``        Thm 3.4: one attention layer as a 2D+3-round MPC protocol.
"""
from __future__ import annotations

import math
import time

import click

from attncheck.cli import render
from attncheck.cli.main import LazyGroup
from attncheck.cli.options import Range, common_options, n_option
from attncheck.cli.params import MpcParams, alias, takes
from attncheck.constructions.verdict import BadInput, BudgetExceeded, Method, Status, Verdict

ALGO_NAMES = ("cycles", "components", "broadcast", "prefix", "sort", "msf", "reach")
LOWMEM_ONLY = ("msf", "reach")          # protocols that exist only with s = ceil(N^delta) (default delta 1/2)
DEFAULT_DELTA = "1/2"


def _check_n(n: int) -> None:
    if n < 2:
        raise BadInput(f"--N must be >= 2, got {n}")


def routing_options(f):
    f = click.option("--hashing", type=click.Choice(["auto", "onehot", "paper", "random"]),
                     default="auto", show_default=True,
                     help="Fact B.2 matrix: auto = narrower of onehot (d = T s) and paper"
                          " (d = ceil(12 s^4 ln(T s))); random needs --slots.")(f)
    f = click.option("--slots", type=int, default=None, help="Packet slots d for --hashing random.")(f)
    f = click.option("--s", "s", type=int, default=None,
                     help="Local memory s in words (default: the protocol's own, 4).")(f)
    f = click.option("--codes", type=click.Choice(["poly", "random"]), default="poly", show_default=True,
                     help="Sparse-propagation codes: poly (exact ties, width 2s+2) or random signs"
                          " (SHT23 Thm 2; softmax only).")(f)
    return f


def _paper_columns(sim) -> dict:
    lim, N = sim.protocol.limits, sim.protocol.params.get("N", sim.tokens)
    lg = math.log2(max(N, 2))
    return {"thm3_1_layers": sim.protocol.rounds + 1,
            "s4_log2N": round(lim.s ** 4 * lg, 2),
            "heads_loglog": max(1, math.ceil(math.log2(max(lg, 1.0)))) if lg > 1 else 1,
            "fact_b2_slots": sim.hashing.to_json()["paper_slots"]}


def _construction_rows(sim, N: int) -> list[tuple[str, object]]:
    p, size = sim.protocol, sim.size()
    paper = _paper_columns(sim)
    return [("theorem", "sht24a.thm3_1 [P] statement; construction [R]"),
            ("protocol", f"{p.name} [{p.status}] for {p.theorem}"),
            ("MPC limits", f"q = {p.limits.q} machines, s = {p.limits.s} words, p = {p.limits.p} bits"),
            ("rounds R", p.rounds),
            ("layers L = R + 1", f"{size['layers']}   (log2 N = {math.log2(N):.3g})"),
            ("heads per layer", f"{size['heads']}   (paper: O(log log N), ceil(log2 log2 N) ="
                                f" {paper['heads_loglog']})"),
            ("width D", f"{size['width']}   (slots d = {size['slots']} x 5 fields, twice; query"
                        f" {size['query_width']}; paper driving s^4 log2 N = {paper['s4_log2N']})"),
            ("hashing", f"{sim.hashing.kind}, d = {sim.hashing.d} (Fact B.2 width"
                        f" {paper['fact_b2_slots']} for b = s^2 = {sim.hashing.b})"),
            ("codes", f"{sim.codes.kind}, margin {sim.codes.margin}, temperature {sim.temperature:.4g}"),
            ("tokens T", size["tokens"])]


# --- mpc compile ----------------------------------------------------------------------------
@click.group("mpc", cls=LazyGroup)
def mpc():
    """MPC protocols and their transformer simulations (sht24a.thm3_1, thm3_4, fact.sht24a.B2)."""


@mpc.command("compile")
@click.argument("algo", type=click.Choice(ALGO_NAMES))
@n_option()
@routing_options
@click.option("--delta", "delta", default=None,
              help="Local memory s = ceil(N^delta) words (the low-memory protocols); not with --s.")
@common_options
@takes(MpcParams)
def compile_cmd(p: MpcParams):
    """Build the L = R + 1 layer transformer of protocol ALGO at size N; report its size."""
    from attncheck.constructions.mpc.algos import get_algo
    from attncheck.constructions.mpc.simulate import compile_protocol
    t0 = time.perf_counter()
    algo, n = p.algo, p.N
    _check_n(n)
    if p.delta is not None or algo in LOWMEM_ONLY:
        from attncheck.constructions.mpc.lowmem import memory_words
        from attncheck.constructions.mpc.lowmem_algos import lowmem_algo
        if p.s is not None:
            raise BadInput("--s and --delta both set the local memory; give one of them")
        protocol = lowmem_algo(algo).build(n, memory_words(n, p.delta or DEFAULT_DELTA))
    else:
        protocol = get_algo(algo).build(n, p.s)
    sim = compile_protocol(protocol, hashing=p.hashing, slots=p.slots, codes=p.codes, seed=p.seed)
    report = render.envelope("mpc compile", p.to_json(), seed=p.seed,
                             timing={"total_s": time.perf_counter() - t0}, verdict=None,
                             construction=sim.to_json(), paper=_paper_columns(sim),
                             log2_N=round(math.log2(n), 6))

    def human(con):
        con.print(render.table(f"mpc compile {algo} --N {n}", ("quantity", "value"),
                               _construction_rows(sim, n)))
        for note in sim.notes:
            con.print(f"  [R] {note}")
    render.emit(report, p.json, human)


# --- verify mpc -----------------------------------------------------------------------------
def _verdict_human(report: dict, sim, N: int):
    def draw(con):
        v = report
        render.headline(con, v)
        rows = _construction_rows(sim, N)
        ev = v.get("evidence") or {}
        rows.append(("instances", ev.get("instances")))
        cert = ev.get("certificate", {})
        rows.append(("routing certificate", f"{cert.get('ok')} -- {cert.get('reason')}"))
        con.print(render.table(None, ("quantity", "value"), rows))
        ce = v.get("counterexample")
        for line in render.counterexample_lines(v):
            con.print(f"  {render.esc(line)}")
        if ce:
            x = ce["explanation"]
            if x.get("machine") is not None:
                when = "init routing" if x["round"] < 0 else f"protocol round {x['round']}"
                con.print(f"  after layer {x['layer']} ({when}), machine {x['machine']}:")
            con.print(f"    expected {render.esc(render.fmt_value(x.get('expected')))}")
            con.print(f"    got      {render.esc(render.fmt_value(x.get('got')))}")
            if x.get("attention") is not None:
                con.print("    routing head attends to " + ", ".join(
                    f"{'start' if a['token'] < 0 else 'token ' + str(a['token'])} ({a['weight']:.3g})"
                    for a in x["attention"]))
        con.print(f"  time: {report['timing'].get('total_s', 0):.2f} s")
    return draw


@click.command("mpc")
@click.argument("algo", type=click.Choice(ALGO_NAMES))
@click.option("--N", "N", type=Range(), required=True,
              help="Sequence length N (>= 2); with --delta also a list 16,64 or a range 16..1024"
                   " (a rounds table).")
@routing_options
@click.option("--delta", "delta", default=None,
              help="Local memory s = ceil(N^delta) words, 0 < delta < 1 (e.g. 0.5 or 1/3): the"
                   " low-memory broadcast/prefix/sort whose rounds depend on delta only;"
                   " not with --s.")
@click.option("--diameter", "diameter", type=int, default=None,
              help="reach only: promise that every component has diameter <= D; the protocol runs"
                   " ceil(log2 D) squarings [default: N - 1, no promise].")
@click.option("--mode", type=click.Choice(["auto", "exhaustive", "sample"]), default="auto",
              show_default=True, help="auto = every instance when the domain is small, else sample.")
@click.option("--samples", type=int, default=100, show_default=True, help="Instances for --mode sample.")
@click.option("--attention", type=click.Choice(["hardmax", "softmax"]), default="hardmax",
              show_default=True, help="Hardmax (exact ties) or softmax at the Lemma A.2 temperature.")
@click.option("--corrupt", type=click.Choice(["none", "start", "fields"]), default="none",
              show_default=True, help="Break the routing head on purpose (it must be refuted).")
@common_options
@takes(MpcParams)
def verify_mpc(p: MpcParams):
    """Run protocol ALGO and its compiled transformer side by side (sht24a.thm3_1)."""
    from attncheck.constructions.mpc.algos import get_algo
    from attncheck.verifiers.mpc_sidebyside import instances_for, side_by_side
    from attncheck.constructions.budget import Budget
    t0 = time.perf_counter()
    Ns = tuple(p.N)
    p = p.replace(N=Ns[0]) if len(Ns) == 1 else p               # one N reads as an int (JSON params)
    if p.diameter is not None and p.algo != "reach":
        raise BadInput(f"--diameter is the promise of reach; {p.algo} takes none")
    if p.delta is not None or len(Ns) > 1 or p.algo in LOWMEM_ONLY:
        return _verify_lowmem(p, Ns, t0)
    n, mode, samples = p.N, p.mode, p.samples
    _check_n(n)
    algo_ = get_algo(p.algo)
    count = instances_for(algo_, n, mode, samples, p.seed).count if mode != "sample" else samples
    with render.progress(count, f"verify mpc {p.algo}", enabled=not p.json) as advance:
        res = side_by_side(algo_, n, mode=mode, samples=samples, seed=p.seed, hashing=p.hashing,
                           slots=p.slots, codes=p.codes, attention=p.attention, corrupt=p.corrupt,
                           s=p.s, budget=Budget(p.budget), advance=advance)
    report = render.envelope("verify mpc", p.to_json(), seed=p.seed,
                             timing={"total_s": time.perf_counter() - t0},
                             **res.verdict.to_json(), construction=res.simulation.to_json(),
                             log2_N=round(math.log2(n), 6))
    render.emit(report, p.json, _verdict_human(report, res.simulation, n))
    click.get_current_context().exit(res.verdict.exit_code)


def _verify_lowmem(p: MpcParams, Ns: tuple[int, ...], t0: float):
    """``verify mpc ALGO --delta D --N ...``: the low-memory protocol at s = ceil(N^delta); one
    N that compiles runs like ``verify mpc``, otherwise a rounds table over N
    (:mod:`attncheck.verifiers.mpc_lowmem`)."""
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.mpc.lowmem import memory_words, parse_delta
    from attncheck.constructions.mpc.lowmem_algos import lowmem_algo, reach_algo
    from attncheck.verifiers.mpc_lowmem import check_size, rounds_table
    from attncheck.verifiers.mpc_sidebyside import side_by_side
    if p.delta is None and p.algo not in LOWMEM_ONLY:
        raise BadInput(f"a list or range of --N ({','.join(map(str, Ns))}) needs --delta")
    if p.s is not None:
        raise BadInput(f"--s and --delta both set the local memory; give one of them ({p.algo} with"
                       f" --delta uses s = ceil(N^delta){', default delta 1/2' if p.algo in LOWMEM_ONLY else ''})")
    delta = parse_delta(p.delta if p.delta is not None else DEFAULT_DELTA)
    for n in Ns:
        _check_n(n)
        check_size(n)
    if p.diameter is not None and p.algo != "reach":
        raise BadInput(f"--diameter is the promise of reach; {p.algo} takes none")
    algo_ = reach_algo(p.diameter) if p.algo == "reach" else lowmem_algo(p.algo)
    if len(Ns) == 1:
        n, s = Ns[0], memory_words(Ns[0], delta)
        try:
            with render.progress(None, f"verify mpc {p.algo}", enabled=not p.json) as advance:
                res = side_by_side(algo_, n, mode=p.mode, samples=p.samples, seed=p.seed,
                                   hashing=p.hashing, slots=p.slots, codes=p.codes, attention=p.attention,
                                   corrupt=p.corrupt, s=s, budget=Budget(p.budget), advance=advance)
        except BadInput:
            if p.corrupt != "none":
                raise                                    # a corrupted head needs the compiled transformer
            res = None                                   # the transformer does not compile: a table row
        if res is not None:
            report = render.envelope("verify mpc", p.to_json(), seed=p.seed,
                                     timing={"total_s": time.perf_counter() - t0},
                                     **res.verdict.to_json(), construction=res.simulation.to_json(),
                                     log2_N=round(math.log2(n), 6), delta=str(delta), s=s)
            render.emit(report, p.json, _verdict_human(report, res.simulation, n))
            click.get_current_context().exit(res.verdict.exit_code)
    if p.corrupt != "none":
        raise BadInput("--corrupt runs on one compiled N; give one --N")
    with render.progress(None, f"verify mpc {p.algo} --delta {delta}", enabled=not p.json) as advance:
        tab = rounds_table(algo_, Ns, delta, mode=p.mode, samples=p.samples, seed=p.seed,
                           hashing=p.hashing, codes=p.codes, attention=p.attention,
                           budget=Budget(p.budget), advance=advance)
    report = render.envelope("verify mpc", p.to_json(), seed=p.seed,
                             timing={"total_s": time.perf_counter() - t0}, **tab.verdict.to_json())

    def human(con):
        render.headline(con, report)
        for line in render.counterexample_lines(report):
            con.print(f"  {render.esc(line)}")
        con.print(render.table(f"{p.algo} with s = ceil(N^{delta}) words", (
            "N", "s", "machines q", "rounds R", "log2 N", "verdict", "method", "cases", "transformer"),
            [(r.N, r.s, r.q, r.rounds, f"{math.log2(r.N):.3g}", r.verdict.status.value,
              r.verdict.method.value, r.verdict.cases, r.transformer) for r in tab.rows]))
        con.print(f"  time: {report['timing']['total_s']:.2f} s")
    render.emit(report, p.json, human)
    click.get_current_context().exit(tab.verdict.exit_code)


# --- mpc covering ---------------------------------------------------------------------------
@mpc.command("covering")
@click.option("--rows", "rows", type=Range(), default="4,8,16", show_default=True,
              help="Rows n of the matrix (message ids): a list 4,8,16 or a range a..b[:*r|:+d].")
@alias("--n", "rows", type=int, multiple=True)
@click.option("--set-size", "set_size", type=Range(geometric=False), default="1,2", show_default=True,
              help="Bound b on the size of the sets to isolate: a list 1,2 or a range a..b.")
@alias("--b", "set_size", type=int, multiple=True)
@click.option("--trials", type=int, default=20, show_default=True, help="Seeded draws per width.")
@common_options
@takes(MpcParams)
def covering_cmd(p: MpcParams):
    """Fact B.2 by brute force: smallest working d beside ceil(12 b^2 ln n)."""
    from attncheck.verifiers.mpc_covering import covering_cost, covering_row
    from attncheck.constructions.budget import Budget
    t0 = time.perf_counter()
    ns, bs, trials, seed = p.rows, p.set_size, p.trials, p.seed
    if trials < 1:
        raise BadInput(f"--trials must be >= 1, got {trials}")
    for n in ns:
        for b in bs:
            if n < 2 or not 1 <= b <= n:
                raise BadInput(f"need rows n >= 2 ({p.flag('rows')}) and a set size 1 <= b <= n"
                               f" ({p.flag('set_size')}), got n={n}, b={b}")
            if covering_cost(n, b) > 200_000:
                raise BadInput(f"n={n}, b={b}: each brute-force check examines {covering_cost(n, b)}"
                               f" (row, others) pairs; the limit is 200000")
    bud, rows = Budget(p.budget), []
    try:
        for n in ns:
            for b in bs:
                rows.append(covering_row(n, b, trials, seed, budget=bud))
                bud.check(rows=len(rows))
        status = Status.VERIFIED if all(r.paper_rate > 0 for r in rows) else Status.UNKNOWN
        reason = ("a seeded draw at d = ceil(12 b^2 ln n) covers every |S| <= b in each case"
                  if status is Status.VERIFIED else "no seeded draw covered at the paper width somewhere")
    except BudgetExceeded as e:                  # honest UNKNOWN
        status, reason = Status.UNKNOWN, f"{e}; {len(rows)} rows done"
    v = Verdict(status, Method.EXHAUSTIVE, "fact.sht24a.B2 [P]: some A in {0,1}^(n x d), d ="
                " ceil(12 b^2 ln n), isolates every member of every |S| <= b",
                sum(covering_cost(r.n, r.b) for r in rows), reason,
                evidence={"rows": [r.to_json() for r in rows]})
    report = render.envelope("mpc covering", p.to_json(), seed=seed,
                             timing={"total_s": time.perf_counter() - t0}, **v.to_json())

    def human(con):
        render.headline(con, report)
        con.print(render.table("Fact B.2 covering (brute force over all |S| <= b)",
                               ("n", "b", "12 b^2 ln n", "covering draws there", "smallest random d",
                                "exact min d [R]"),
                               [(r.n, r.b, r.paper_d, f"{round(r.paper_rate * r.trials)}/{r.trials}",
                                 f"{r.random_d} ({r.random_successes}/{r.trials})", r.exact_d or "-")
                                for r in rows]))
    render.emit(report, p.json, human)
    click.get_current_context().exit(v.exit_code)


# --- mpc reverse ----------------------------------------------------------------------------
@mpc.command("reverse")
@n_option(default=5)
@click.option("--branching", type=int, default=2, show_default=True, help="Tree branching b.")
@click.option("--attention", type=click.Choice(["hardmax", "softmax"]), default="hardmax",
              show_default=True)
@click.option("--samples", type=int, default=20, show_default=True,
              help="Inputs when |Σ|^N is too large to enumerate.")
@common_options
@takes(MpcParams)
def reverse_cmd(p: MpcParams):
    """sht24a.thm3_4: each layer of the induction head as a 2D+3-round MPC protocol."""
    from attncheck.verifiers.mpc_reverse import check_reverse
    from attncheck.constructions.budget import Budget
    t0 = time.perf_counter()
    _check_n(p.N)
    with render.progress(None, "mpc reverse", enabled=not p.json) as advance:
        v, info = check_reverse(p.N, p.branching, p.attention, p.samples, p.seed, Budget(p.budget), advance)
    report = render.envelope("mpc reverse", p.to_json(), seed=p.seed,
                             timing={"total_s": time.perf_counter() - t0}, **v.to_json())

    def human(con):
        render.headline(con, report)
        for line in render.counterexample_lines(report):
            con.print(f"  {render.esc(line)}")
        con.print(render.table(None, ("layer", "tree depth D", "rounds", "2D + 3", "machines q",
                                      "memory s", "b = floor(s/(4mH))", "max |diff|"),
                               [(r["layer"], r["depth"], r["rounds"], r["expected_rounds"], r["q"],
                                 r["s"], r["paper_branching"], r["max_diff"]) for r in info["layers"]]))
    render.emit(report, p.json, human)
    click.get_current_context().exit(v.exit_code)

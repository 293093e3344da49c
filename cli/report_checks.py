"""The registry of ``attncheck report``: which attncheck commands check which paper.

A :class:`Check` is data -- the argv of one attncheck command (run with ``--json``), the
catalogue ids it gives evidence for, and the verdict it must reach.  ``expect="refuted"``
marks a paper-literal variant or a deliberately broken construction: its refutation (a
replayed counterexample) is the evidence, e.g. Lemma D.2 as printed (docs/theorems.md section 11
item 2) or Thm 4.2's printed recursion (item 1).  ``expect="tabulated"`` marks a command that
prints a table without a verdict (a bound evaluated beside our sizes, a sweep, a build).

Instance sizes are chosen so that ``attncheck report sht24a`` stays well under five minutes
on two cores (benchmarks/report.py measures it): certificates at N = 64, exhaustive checks at
N <= 9, SMT queries at N <= 5.

Extension by registration (STYLE.md 14): add a :class:`Check` to :data:`CHECKS`.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Papers the report knows, with their titles (``all`` runs the union).
PAPERS: dict[str, str] = {
    "sht24a": "Sanford, Hsu, Telgarsky: Transformers, parallel computation, and logarithmic depth"
              " (ICML 2024)",
    "sht24b": "Sanford, Hsu, Telgarsky: One-layer transformers fail to solve the induction heads task"
              " (2024)",
    "sht23": "Sanford, Hsu, Telgarsky: Representational strengths and limitations of transformers"
             " (NeurIPS 2023)",
}
ALL = "all"
EXPECT = ("verified", "refuted", "tabulated")
KINDS = ("construction", "erratum", "bound", "witness", "reduction", "smt", "mpc", "depth")
FIGURES = ("sweep", "depth", "witness", "margins")

A, B, C = "sht24a", "sht24b", "sht23"


@dataclass(frozen=True)
class Check:
    """One attncheck command of the report.

    ``theorems``: catalogue ids it gives evidence for (the first is the row's id);
    ``argv``: the command's arguments without ``--json`` and ``--budget``;
    ``expect``: ``verified``, ``refuted`` (paper-literal or broken on purpose) or ``tabulated``;
    ``budget``: whether the command takes ``--budget``; ``figure``: which figure of
    :mod:`attncheck.cli.figures` is drawn from its JSON (None: none)."""

    name: str
    theorems: tuple[str, ...]
    argv: tuple[str, ...]
    papers: tuple[str, ...]
    expect: str = "verified"
    kind: str = "construction"
    budget: bool = True
    note: str = ""
    figure: str | None = None

    @property
    def theorem(self) -> str:
        return self.theorems[0]


def _c(name, theorems, command, papers, **kw) -> Check:
    return Check(name, tuple(theorems.split()), tuple(command.split()), tuple(papers.split()), **kw)


def _bound(bid: str, papers: str, extra: str = "--N 64 --k 8", also: str = "") -> Check:
    return _c(f"bound.{bid}", f"{bid} {also}", f"bounds table {extra} --only {bid}", papers,
              expect="tabulated", kind="bound",
              note="the bound's driving quantities beside the sizes our constructions use")


CHECKS: tuple[Check, ...] = (
    # --- SHT24a section 4.2: k-hop induction heads (sht24a.thm4_2) and its lemmas -------------
    _c("hop.k8", "sht24a.thm4_2 lemma.sht24a.D1 lemma.sht24a.D2 lemma.sht24a.A2",
       "verify hop --k 8 --N 64", A, note="certificate over all 3^64 inputs, 5 layers, one head each",
       figure="margins"),
    _c("hop.k5", "sht24a.thm4_2", "verify hop --k 5 --N 64", A,
       note="k not a power of two: 2+ceil(log2 k) = 5 layers"),
    _c("hop.k3-exhaustive", "sht24a.thm4_2 task.hopk", "verify hop --k 3 --N 8 --mode exhaustive", A,
       note="every input of 3^8 against the plain-Python hop_k"),
    _c("hop.k8-additive", "sht24a.thm4_2 erratum.4 model.sht24a", "verify hop --k 8 --N 64 --residual additive", A,
       note="the additive residual of Def 2.2 (fresh slots per layer)"),
    _c("hop.example", "task.hopk", "run hop --input baebcabebdea --k 2 --alphabet 5", A,
       expect="tabulated", budget=False, note="the paper's example: hop_2 at the last token is c"),
    _c("inspect.hop-roles", "sht24a.emp", "inspect hop --k 4 --N 16 --residual additive", A,
       expect="tabulated", note="App. G.2's alignment of each head with find^(2^m) on our 4-layer head"
       " (the GPT-2 training runs are not reproduced)"),
    _c("depth.hop", "sht24a.thm4_2 erratum.1 erratum.4", "depth hop --k-max 8 --N 32", A, kind="depth",
       figure="depth", note="stated vs needed depth for k = 1..8, and the reach of pointer programs"),
    _c("smt.certify-hop", "sht24a.thm4_2", "smt certify hop --N 5 --k 2 --alphabet 2", A, kind="smt",
       note="z3: no input of 2^5 is decoded wrongly (a third method beside exhaustive and certificate)"),
    _c("erratum.hop-recursion", "sht24a.thm4_2 erratum.1",
       "verify hop --k 3 --N 16 --variant paper --paper-part recursion --mode sample", A,
       expect="refuted", kind="erratum",
       note="erratum 1: the printed recursion at floor(log2 k)+2 layers computes another hop count"),
    _c("erratum.hop-embedding", "lemma.sht24a.D1 erratum.3 lemma.sht24a.D2 sht24a.thm4_2",
       "verify hop --k 3 --N 16 --variant paper --paper-part embedding --mode sample", A,
       expect="refuted", kind="erratum", note="erratum 2: the printed Lemma D.1/D.2 codes inside hop_k"),
    _c("ih.N64", "sht24b.two-layer-ub ih.sht lemma.sht24a.D1 lemma.sht24a.D2 lemma.sht24a.A2 model.sht24a",
       "verify induction --N 64", f"{A} {B}", note="certificate over all 3^64 inputs", figure="margins"),
    _c("erratum.ih-embedding", "lemma.sht24a.D2 erratum.2 lemma.sht24a.D1 sht24b.two-layer-ub",
       "verify induction --N 8 --variant paper", f"{A} {B}", expect="refuted", kind="erratum",
       note="errata 2 and 3: Lemma D.2 as printed (and positions mod N) returns wrong tokens"),
    _c("build.ih", "model.sht24a", "build induction --N 64", A, expect="tabulated", budget=False,
       note="the emulated model: layers, heads, width and bits of a Def 2.2 transformer"),
    _c("bounds.sweep-hop", "sht24a.thm4_2", "bounds sweep sht24a.thm4_2 --N 16..4096 --k 8", A,
       expect="tabulated", kind="bound", figure="sweep",
       note="depth, heads, width and bits of hop_8 against the bound as N grows"),
    # --- SHT24a section 4.1: MPC <-> transformers --------------------------------------------
    _c("mpc.cycles", "sht24a.thm3_1 task.1v2cycle model.mpc lemma.sht24a.B5 lemma.sht24a.3_2 prop.sht24a.B1",
       "verify mpc cycles --N 16", A, kind="mpc",
       note="routing certificate plus seeded instances compared round by round"),
    _c("mpc.components", "sht24a.thm3_1 sht24a.cor3_3 task.graph_tokens", "verify mpc components --N 16",
       A, kind="mpc", note="connected components from the edge-list input"),
    _c("mpc.sort", "sht24a.thm3_1 lemma.sht24a.3_2", "verify mpc sort --N 8", A, kind="mpc"),
    _c("mpc.broadcast", "lemma.sht24a.B4 lemma.sht24a.B6 sht24a.thm3_1", "verify mpc broadcast --N 16", A,
       kind="mpc", note="the init and final layers of every compiled protocol"),
    _c("mpc.prefix", "prop.sht24a.B1 sht24a.thm3_1", "verify mpc prefix --N 8", A, kind="mpc"),
    _c("mpc.broken-routing", "lemma.sht24a.3_2 prop.sht24a.B1", "verify mpc cycles --N 16 --corrupt start",
       A, expect="refuted", kind="mpc", note="a routing head broken on purpose must be refuted"),
    _c("mpc.covering", "fact.sht24a.B2", "mpc covering", A, kind="mpc",
       note="the covering property by brute force beside ceil(12 b^2 ln n)"),
    _c("mpc.reverse", "sht24a.thm3_4", "mpc reverse --N 5", A, kind="mpc",
       note="each induction-head layer as a 2D+3-round MPC protocol, bit for bit"),
    _c("mpc.lowmem-broadcast", "model.mpc sht24a.thm3_1", "verify mpc broadcast --N 16 --delta 0.5", A,
       kind="mpc", note="s = ceil(N^delta) = 4: 2 rounds at every N of 16..1024 (docs/mpc.md), compiled here"),
    _c("mpc.lowmem-prefix", "model.mpc sht24a.thm3_1", "verify mpc prefix --N 16 --delta 0.5", A, kind="mpc",
       note="fan-in s-1 tree prefix sums: 5 rounds at every N of 16..1024, compiled at N = 16"),
    _c("mpc.lowmem-sort", "model.mpc sht24a.thm3_1", "verify mpc sort --N 16 --delta 0.5", A, kind="mpc",
       note="rank sort over block pairs: 6 rounds at every N of 16..1024; compiled at N = 16 (T = 136 tokens)"),
    _c("mpc.components-any-degree", "sht24a.cor3_3 sht24a.thm3_1", "verify mpc components --N 8 --delta 0.5", A,
       kind="mpc", note="Borůvka over static trees, any degree, O(log^2 N / delta) rounds (not O(log D))"),
    _c("mpc.reach", "sht24a.cor3_3 sht24a.thm3_1", "verify mpc reach --N 6", A, kind="mpc",
       note="components of any degree by Boolean squaring: R = 8 + 7 ceil(log2 D) at delta 1/2 (O(log D)),"
            " O(N^3/s) memory; compiled, 22 layers"),
    _c("mpc.msf", "sht24a.cor3_3 sht24a.thm3_1", "verify mpc msf --N 5", A, kind="mpc",
       note="Cor B.9's minimum spanning forest: every graph on 5 vertices with <= 4 edges and 0/1 weights"
            " against Kruskal, compiled (57 layers)"),
    # --- SHT24a separations: reductions and witnesses ----------------------------------------
    _c("reduction.cycle-gluing", "sht24a.cor3_5", "reduction check cycle-gluing --n 4 --N 12", A,
       kind="reduction"),
    _c("erratum.cycle-gluing", "sht24a.cor3_5 erratum.9",
       "reduction check cycle-gluing --n 4 --N 12 --variant paper", A, expect="refuted", kind="erratum",
       note="k = floor(N/n) copies overrun the edge budget"),
    _c("reduction.cycle-gadget", "sht24a.cor4_3 task.cycle_gadget erratum.5",
       "reduction check cycle-gadget --k 4", A, kind="reduction"),
    _c("reduction.pointer-hop", "sht24a.propE_4 task.hopk_blackboard cc.blackboard task.pointer_chasing",
       "reduction check pointer-hop --q 2 --k 3", A, kind="reduction"),
    _c("witness.oneway-hop", "sht24a.propE_4", "witness one-way-cc hop --N 9 --k 2 --split block", A,
       kind="witness"),
    _c("smt.comm-hop", "sht24a.propE_4", "smt comm hop --N 9 --k 2 --split block", A, kind="smt"),
    _c("rnn.hop", "sht24a.cor5_2", "verify rnn hop --N 8 --k 2", A,
       note="an explicit k-layer RNN computes hop_k on every input"),
    _c("witness.rnn-hop", "sht24a.cor5_2", "witness rnn-states hop --N 9 --k 2", A, kind="witness"),
    _c("reduction.rnn-multipass", "sht24a.cor5_2 cc.blackboard",
       "reduction check rnn-multipass --N 6 --players 3 --layers 2", A, kind="reduction",
       note="a 2-layer successor RNN = a 2-round protocol with s-bit messages = 1 round of 2s bits, every input"),
    _c("reduction.rnn-multipass-table", "sht24a.cor5_2",
       "reduction check rnn-multipass --N 6 --players 3 --layers 3 --model table --state-bits 2", A,
       kind="reduction", note="the same identity for a seeded arbitrary cell with 2-bit states"),
    _c("reduction.rnn-pointer", "sht24a.cor5_2 sht24a.propE_4 task.hopk_blackboard",
       "reduction check rnn-pointer --q 2 --k 3", A, kind="reduction",
       note="pointer chasing -> hop_k -> 3-layer RNN -> 3-round protocol; the an21.prop4_12 row beside it"),
    _c("refute.rnn-pointer", "sht24a.cor5_2",
       "reduction collide --q 2 --k 3 --layers 2 --search rectangle", A, expect="refuted", kind="reduction",
       note="an RNN with fewer layers than hops, refuted from two inputs that write the same board"),
    _c("reduction.cot-rounds", "sht24a.cor5_6 erratum.6", "reduction check cot-rounds --q 2 --k 3 --cot 2", A,
       kind="reduction", note="one layer with N_CoT = 2 tokens is a 3-round protocol: N_CoT >= k-1"),
    _c("witness.table", "sht23.rnn-ih sht24a.cor5_2 sht24b.one-layer-ih-lb sht24a.propE_4",
       "witness table --N 5,7,9,11", f"{A} {B} {C}", kind="witness", figure="witness",
       note="exact state bits and one-way bits against N per alphabet"),
    *(_bound(b, A) for b in ("sht24a.thm3_1", "lemma.sht24a.3_2", "sht24a.thm3_4", "sht24a.cor3_3",
                             "sht24a.cor3_5", "sht24a.thm4_2", "an21.prop4_12", "sht24a.propE_4",
                             "sht24a.cor5_2", "sht24a.cor5_3", "sht24a.cor5_4", "sht24a.thm5_1")),
    _bound("sht24a.cor5_6", A, also="erratum.6"),
    _bound("sht24a.cor4_3", A, "--N 512 --k 8"),
    # --- SHT24b ----------------------------------------------------------------------------
    _c("ih.N8-exhaustive", "sht24b.two-layer-ub task.ih", "verify induction --N 8 --mode exhaustive", B,
       note="every input of 3^8"),
    _c("ih.hardmax", "sht24b.two-layer-ub", "verify induction --N 64 --attention hardmax", B),
    _c("ih.random-codes", "sht24b.two-layer-ub ih.sht", "verify induction --N 64 --encoding random", f"{A} {B}",
       note="random sign codes of width O(log N) (Bietti et al. style)"),
    _c("smt.certify-ih", "sht24b.two-layer-ub", "smt certify induction --N 4", B, kind="smt"),
    _c("ih.example", "task.ih", "run induction --input abcab", B, expect="tabulated", budget=False),
    _c("reduction.index-ih", "sht24b.one-layer-ih-lb", "reduction check index-ih --n 10", B,
       kind="reduction"),
    _c("witness.oneway-ih", "sht24b.one-layer-ih-lb", "witness one-way-cc induction --N 9", B,
       kind="witness"),
    _c("smt.one-layer", "sht24b.one-layer-ih-lb model.sht24b",
       "smt one-layer induction --N 5 --alphabet 3 --H 1 --head-width 1 --precision fixed:2.0", B, kind="smt",
       note="UNSAT: no model of the finite one-layer class solves induction at this size"),
    _c("smt.separate", "sht24b.gap sht24b.one-layer-ih-lb sht24b.two-layer-ub",
       "smt separate induction --N 3 --alphabet 3 --H 1 --head-width 1 --precision fixed:2.0", B, kind="smt",
       note="one layer UNSAT, two layers SAT at the same size"),
    _c("smt.comm-ih", "sht24b.one-layer-ih-lb cc.oneway", "smt comm induction --N 7", B, kind="smt"),
    _c("refute.one-layer-ih", "sht24b.one-layer-ih-lb cc.oneway",
       "refute one-layer induction --N 11 --H 2 --precision fixed:2.0", B, expect="refuted", kind="witness",
       note="the bound acting on a model: a seeded 2-head one-layer model with fewer Alice messages than"
            " rows (guaranteed), its failing input replayed through the emulator"),
    _c("refute.ih-layer2", "sht24b.one-layer-ih-lb", "refute one-layer induction --N 9 --model ih-layer2", B,
       expect="refuted", kind="witness",
       note="the induction head's lastOccurrence layer alone is one layer: refuted by the same argument"),
    _c("witness.rank-index", "cc.oneway task.index", "witness rank index --q 8", B, kind="witness",
       note="all 2^n rows of the INDEX matrix are distinct: one-way CC n"),
    _c("witness.ngram", "ngram.ih", "witness ngram --order 2 --N 8", B, kind="witness",
       note="an order-2 n-gram table errs on inputs that share their last two tokens"),
    _c("bounds.sweep-ih", "sht24b.two-layer-ub", "bounds sweep sht24b.two-layer-ub --N 16..4096", B,
       expect="tabulated", kind="bound", figure="sweep"),
    *(_bound(b, B) for b in ("sht24b.one-layer-ih-lb", "sht24b.two-layer-ub")),
    # --- SHT23 -----------------------------------------------------------------------------
    _c("qsa.random", "sht23.thm2 task.qsa", "verify qsa --N 8 --q 2", C, note="every 2-subset of 8"),
    _c("qsa.moment", "sht23.thm3", "verify qsa --N 8 --q 2 --codes moment", C),
    _c("qsa.width", "sht23.thm2 sht23.thm3", "search width qsa --N 16 --q 2", C,
       note="smallest width with a certificate for every 2-subset, beside q log2 N and 2q+1"),
    _c("reduction.disj-qsa", "sht23.thm4", "reduction check disj-qsa --q 6", C, kind="reduction"),
    _c("reduction.disj-match3", "sht23.thm7 task.match3 task.disj", "reduction check disj-match3 --n 4", C,
       kind="reduction", note="Match3(X)_1 = 1 - DISJ(a,b) under all four index conventions"),
    _c("witness.rank-disj", "sht23.thm4 sht23.thm7 task.disj", "witness rank disj --q 6", C, kind="witness"),
    _c("match2", "sht23.match2_ub task.match2", "verify match2 --N 5 --alphabet 5", C),
    _c("match2.no-self", "sht23.match2_ub", "verify match2 --N 5 --alphabet 5 --no-allow-self", C),
    _c("match2.no-threshold", "sht23.match2_ub", "verify match2 --N 5 --alphabet 5 --variant no-threshold", C,
       expect="refuted", note="without the start-token threshold the head says 'match' on near misses"),
    _c("match3", "sht23.match3_variants task.match3", "verify match3 --N 4 --alphabet 5", C),
    _c("rnn.induction", "sht23.rnn-ih", "verify rnn induction --N 8", C),
    _c("refute.rnn-ih", "sht23.rnn-ih", "refute rnn induction --N 8 --state-bits 3", C, expect="refuted",
       kind="witness", note="the successor RNN merged into 8 states (< 18 Myhill-Nerode classes): two"
                            " prefixes share a state, the separating suffix is replayed"),
    _c("rnn.index", "sht23.thm11 sht23.rnn-ih", "verify rnn index --N 9", C),
    _c("reduction.index-stream", "sht23.rnn-ih sht23.thm11", "reduction check index-stream --n 8", C,
       kind="reduction"),
    _c("witness.rnn-marker", "sht23.rnn-ih", "witness rnn-states induction --N 9 --marker", C,
       kind="witness"),
    _c("bounds.sweep-qsa", "sht23.thm2", "bounds sweep sht23.thm2 --N 16..1024", C, expect="tabulated",
       kind="bound", figure="sweep"),
    *(_bound(b, C) for b in ("sht23.thm2", "sht23.thm3", "sht23.thm4", "sht23.thm7", "sht23.thm10",
                             "sht23.thm11", "sht23.match2_ub")),
    _bound("sht23.rnn-ih", C, "--N 64 --alphabet 34"),
)

#: Catalogue ids that the report deliberately runs no command for, with the reason (ids the
#: catalogue itself marks "not checkable: ..." need no entry here).
NOT_RUN: dict[str, str] = {}


def papers_of(paper: str) -> tuple[str, ...]:
    """``all`` -> every paper; a paper name -> itself (unknown names are refused by the CLI)."""
    return tuple(PAPERS) if paper == ALL else (paper,)


def checks_for(paper: str) -> tuple[Check, ...]:
    """The checks of one paper (or of all), in registry order."""
    wanted = set(papers_of(paper))
    return tuple(c for c in CHECKS if wanted & set(c.papers))


def covered(checks) -> set[str]:
    """Every catalogue id some check gives evidence for."""
    return {t for c in checks for t in c.theorems}


def select(checks, only) -> tuple[Check, ...]:
    """Checks named in ``only`` (a check name or a theorem id it covers); all when empty."""
    if not only:
        return tuple(checks)
    keys = set(only)
    return tuple(c for c in checks if c.name in keys or keys & set(c.theorems))

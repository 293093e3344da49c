"""Hypothesis strategies for the command line of any click command, from its parameters (issue 9).

Nothing here knows a particular command: values are chosen from the parameter's click type and
python name.  Sizes stay small most of the time (each call must be cheap) and a fixed list of
nasty values is mixed in: N = 1, negative and huge integers, non-integers, malformed
``--precision``, unknown choices and names, unwritable or tampered paths, conflicting flags.
"""
from __future__ import annotations

from dataclasses import dataclass

import click
import numpy as np
from hypothesis import strategies as st

from attncheck.cli.options import Range

NASTY_INT = ["0", "-1", "1", "-7", "1000000", "2147483648", "99999999999999999999", "1.5", "x", "",
             "1e3", "0x10", "nan"]
NASTY_FLOAT = ["0", "-1", "nan", "inf", "-inf", "1e-12", "1e308", "abc", ""]
NASTY_STR = ["", " ", "x", "-1", "1/0", "..", "é", "a" * 300, "--json", "fixed:"]
PRECISIONS = ["declared", "exact", "fixed:9.11", "fixed:8.8", "fixed:4.2", "fixed:2.1", "fixed:8",
              "fixed:a.b", "fixed:-1.3", "fixed:0.0", "fixed:40.40", "fixed:9.11.1", "FIXED:9.11",
              "banana", ""]
RANGES = ["4", "4..8", "8,16", "2..6", "16..4", "x..y", "2..1000000000", "-4..4", "1e9", "4..", ""]

# python name -> (small range, what "small" means for it)
SIZES = {"N": (2, 7)}
LETTERS = {"alphabet": (2, 4), "head_width": (1, 4), "old_m": (1, 4), "old_M": (2, 5), "old_D": (1, 2)}
COUNTS = {"samples": (1, 40), "trials": (1, 20), "tries": (1, 10)}
#: Ids a positional ``id`` argument takes, per command (the first is a valid one).
BOUND_IDS = ["sht24a.thm4_2", "sht24b.one-layer-ih-lb", "sht23.thm2", "pnp24.thm1", "sht24a.propE_4",
             "nosuch.bound"]
REDUCTION_IDS = ["index-ih", "index-stream", "pointer-hop", "cycle-gadget", "disj-qsa", "cycle-gluing",
                 "nosuch-reduction"]
THEOREM_IDS = ["sht24a.thm4_2", "sht24b.two-layer-ub", "nosuch.theorem"]
IDS = {("bounds", "show"): BOUND_IDS, ("bounds", "sweep"): BOUND_IDS, ("reduction", "check"): REDUCTION_IDS,
       ("theorems",): THEOREM_IDS}


@dataclass(frozen=True)
class Files:
    """Paths the path-valued options draw from (made once per session by the fuzz test)."""

    tmp: str          # a writable directory
    saved: str        # a valid construction file (build induction --out)
    truncated: str    # its first bytes only
    garbage: str      # not a zip file
    tampered: str     # a zip with a wrong-shaped weight


def make_files(tmp) -> Files:
    """A valid saved induction head (N = 6) and three broken copies of it in directory ``tmp``."""
    from attncheck.constructions.induction import build_induction
    from attncheck.constructions.io import save_construction
    saved = str(tmp / "ih6.npz")
    save_construction(build_induction(6, 3), saved)
    raw = open(saved, "rb").read()
    (tmp / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (tmp / "garbage.npz").write_bytes(b"not a zip file at all\n" * 10)
    with np.load(saved) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["L1H0/W_Q"] = arrays["L1H0/W_Q"][:-1]              # one row short
    with open(tmp / "tampered.npz", "wb") as fh:
        np.savez(fh, **arrays)
    return Files(str(tmp), saved, str(tmp / "truncated.npz"), str(tmp / "garbage.npz"),
                 str(tmp / "tampered.npz"))


def typical(p, files: Files, path: tuple[str, ...] = ()) -> str:
    """A plausible value for a required parameter (so the nasty value under test is the only bad one)."""
    if isinstance(p.type, click.Choice):
        return str(p.type.choices[0])
    if isinstance(p.type, click.Path):
        return files.saved
    if p.name == "id" and path in IDS:
        return IDS[path][0]
    if isinstance(p.type, click.types.IntParamType):
        return {"N": "6", "alphabet": "3"}.get(p.name, "2")
    return "x"


#: Small values for options that are optional but usually wanted (sizes needed unless --from),
#: and per command where a default or the usual small value is slow.
SMALL = {"N": "6", "k": "2", "input": "abcaba", "k_max": "4"}
SMALL_FOR = {("mpc", "reverse"): {"N": "3"}, ("witness", "table"): {"N": "3,5"},
             ("verify", "match2"): {"alphabet": "3"}, ("verify", "match3"): {"alphabet": "3"}}


def small_values(leaf) -> dict:
    return {**SMALL, **SMALL_FOR.get(leaf.path, {})}


def base_line(leaf, files: Files, skip=(), small: bool = True, budget: str | None = "0.3") -> list[str]:
    """A command line for ``leaf`` with plausible values: positional arguments, required options,
    (with ``small``) the :data:`SMALL` options it has, and ``--budget`` when it takes one."""
    argv = list(leaf.path) + [typical(a, files, leaf.path) for a in leaf.arguments]
    values = small_values(leaf)
    for p in leaf.options:
        if p.name in skip:
            continue
        if small and p.name in values:
            argv += [p.opts[0], values[p.name]]
        elif p.required:
            argv += [p.opts[0], typical(p, files, leaf.path)]
    if budget is not None and leaf.has("budget") and "budget" not in skip:
        argv += ["--budget", budget]
    return argv


_GOOD: dict = {}


def good_base(leaf, files: Files, budget: str | None = "0.3"):
    """The first of (with small options, required only) that runs (exit 0/1/3), else the first.

    Returns (argv, the keyword arguments of base_line that made it, the outcome of running
    ``argv + ["--json"]``); cached per command and budget."""
    key = (leaf.path, budget)
    if key not in _GOOD:
        from cli_harness import invoke
        for kw in (dict(small=True, budget=budget), dict(small=False, budget=budget)):
            o = invoke(base_line(leaf, files, **kw) + ["--json"])
            if key not in _GOOD or o.code in (0, 1, 3):
                _GOOD[key] = (kw, o)
            if o.code in (0, 1, 3):
                break
    kw, o = _GOOD[key]
    return base_line(leaf, files, **kw), kw, o


def _ints(lo: int, hi: int, nasty_weight: int = 1) -> st.SearchStrategy[str]:
    small = st.integers(lo, hi).map(str)
    return st.one_of(*([small] * 6), *([st.sampled_from(NASTY_INT)] * nasty_weight))


def _int_values(name: str) -> st.SearchStrategy[str]:
    if name in SIZES:
        lo, hi = SIZES[name]
        return st.one_of(_ints(lo, hi), st.integers(8, 16).map(str))
    if name in LETTERS:
        return _ints(*LETTERS[name])
    if name in COUNTS:
        return _ints(*COUNTS[name])
    if name == "seed":
        return st.one_of(st.integers(0, 3).map(str), st.sampled_from(["-1", "4294967296", "2" * 30, "x"]))
    return _ints(0, 4)


def _float_values(name: str) -> st.SearchStrategy[str]:
    if name == "budget":        # a small budget most of the time: every call must stay cheap
        return st.one_of(*([st.sampled_from(["0.3", "0.5", "1", "2"])] * 8),
                         st.sampled_from(["0", "-1", "nan", "-inf", "1e-12", "abc", ""]))
    return st.one_of(st.floats(0.01, 1.0).map(lambda x: f"{x:.3g}"), st.sampled_from(NASTY_FLOAT))


def _path_values(name: str, files: Files) -> st.SearchStrategy[str]:
    t = files.tmp
    if name == "from_":
        return st.sampled_from([files.saved, files.saved, files.truncated, files.garbage, files.tampered,
                                f"{t}/missing.npz", t, ""])
    return st.sampled_from([f"{t}/out.npz", f"{t}/plot.svg", f"{t}/no/such/dir/x.npz", t,
                            "/proc/version", ""])


def _str_values(p: click.Parameter) -> st.SearchStrategy[str]:
    name = p.name
    if name == "precision":
        return st.sampled_from(PRECISIONS)
    if name == "input":
        return st.one_of(st.text("abcdz", min_size=1, max_size=8),
                         st.lists(st.integers(-1, 4), min_size=1, max_size=8).map(lambda v: ",".join(map(str, v))),
                         st.sampled_from(["", ",", "0,,1", "a b", "a" * 200, "ab\u00e9"]))
    if name == "id":
        return st.sampled_from(BOUND_IDS + REDUCTION_IDS + THEOREM_IDS + ["", "x"])
    if name in ("eps", "delta"):                          # fractions given as text
        return st.sampled_from(RANGES + ["1/4", "0.5", "1/0", "-1/2"])
    return st.one_of(st.sampled_from(NASTY_STR), st.text(max_size=6))


def values(p: click.Parameter, files: Files) -> st.SearchStrategy[str]:
    """One value (a command-line token) for parameter ``p``."""
    t = p.type
    if isinstance(t, Range):                              # one or more integers: 64, 5,9,13, a..b
        return st.sampled_from(RANGES)
    if isinstance(t, click.Choice):
        return st.one_of(*([st.sampled_from(list(t.choices))] * 8),
                         st.sampled_from(["banana", "", str(t.choices[0]).upper()]))
    if isinstance(t, click.types.IntParamType):
        return _int_values(p.name)
    if isinstance(t, click.types.FloatParamType):
        return _float_values(p.name)
    if isinstance(t, click.Path):
        return _path_values(p.name, files)
    return _str_values(p)


def option_tokens(p: click.Option, files: Files, present_weight: int) -> st.SearchStrategy[list[str]]:
    """The tokens one option contributes: [] (absent), [flag], or [--opt, value] (several for
    ``multiple``).  ``present_weight`` (out of 10) biases towards giving it."""
    name = p.opts[0]
    if p.is_flag and p.secondary_opts:
        return st.sampled_from([[], [name], [p.secondary_opts[0]]])
    if p.is_flag:
        return st.sampled_from([[]] * (10 - present_weight) + [[name]] * present_weight)
    if p.name == "budget":                                # always bounded: no call may run long
        return values(p, files).map(lambda v: [name, v])
    one = values(p, files).map(lambda v: [name, v])
    if p.multiple:
        return st.lists(one, max_size=2).map(lambda xs: [tok for x in xs for tok in x])
    return st.one_of(*([st.just([])] * (10 - present_weight)), *([one] * present_weight))


def command_lines(leaf, files: Files) -> st.SearchStrategy[list[str]]:
    """Whole argument vectors for ``leaf`` (a cli_harness.Leaf): positional arguments first,
    then its options in a random order, sometimes an unknown option."""
    args = [values(a, files) for a in leaf.arguments]
    opts = []
    for p in leaf.options:
        if p.required or p.name in ("N", "json"):
            w = 9
        else:
            w = 4
        opts.append(option_tokens(p, files, w))
    noise = st.sampled_from([[]] * 12 + [["--no-such-option"], ["--json", "--json"], ["--help"]])

    @st.composite
    def build(draw):
        head = [draw(a) for a in args]
        if head and draw(st.integers(0, 19)) == 0:
            head = head[:-1]                                   # a missing positional argument
        groups = [draw(o) for o in opts] + [draw(noise)]
        groups = draw(st.permutations(groups))
        return list(leaf.path) + head + [tok for g in groups for tok in g]
    return build()

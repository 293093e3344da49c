"""Input families of the SMT impossibility queries and their answers at the last position.

A family is a finite list of token sequences and, for each, the answer the model must give at
position N (docs/theorems.md section 9.4 template 2).  Two families:

* ``full``  -- every ``x`` in ``Sigma^N``; answer ``task.ih`` at N (``induction_heads(x)[N-1]``);
* ``index`` -- the INDEX embedding of ``sht24b.one-layer-ih-lb`` [R]: ``N = 2n'+1``,
  ``Sigma`` contains ``0, 1`` and the marker ``? = 2``;
  ``x = (b_1, a_1, ..., b_n', a_n', ?)`` with ``a`` in ``{0,1}^n'`` (Alice) and ``b_j = ?`` iff
  ``j = i*`` else ``0`` (Bob).  The only earlier ``?`` sits at ``2i*-1``, so the induction-head
  answer at N is ``a_{i*}``; :func:`index_family` asserts that identity on every member.

Answers are symbol codes with the bottom symbol encoded as ``alphabet`` (one more class).
Ground truth is :func:`attncheck.constructions.tasks.induction_heads` (plain Python).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from attncheck.constructions.tasks import induction_heads
from attncheck.constructions.verdict import BadInput

FAMILIES = ("full", "index")
MARK = 2
#: Largest family enumerated (inputs), and largest N for the synthesis queries.
MAX_INPUTS = 1 << 16
MAX_N = 15


@dataclass(frozen=True)
class Family:
    """``inputs[i]`` is a token tuple of length N, ``answers[i]`` its class at position N."""

    name: str
    N: int
    alphabet: int
    inputs: tuple[tuple[int, ...], ...]
    answers: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.inputs)

    @property
    def bot(self) -> int:
        return self.alphabet

    def tokens_at(self, t: int) -> tuple[int, ...]:
        """Symbols that occur at 1-indexed position t in the family (sorted)."""
        return tuple(sorted({x[t - 1] for x in self.inputs}))

    def describe(self) -> str:
        if self.name == "index":
            n1 = (self.N - 1) // 2
            return (f"INDEX family: {self.size} inputs (a in {{0,1}}^{n1}, i* in 1..{n1}) over"
                    f" |Σ|={self.alphabet}, answer τ_N = a_i*")
        return f"all {self.alphabet}^{self.N} = {self.size} inputs, answer τ_N (induction head at N)"

    def to_json(self) -> dict:
        return {"name": self.name, "N": self.N, "alphabet": self.alphabet, "inputs": self.size,
                "description": self.describe()}


def _answer(x, alphabet: int) -> int:
    v = induction_heads(list(x))[-1]
    return alphabet if v is None else int(v)


def full_family(N: int, alphabet: int) -> Family:
    xs = tuple(itertools.product(range(alphabet), repeat=N))
    return Family("full", N, alphabet, xs, tuple(_answer(x, alphabet) for x in xs))


def index_input(a, i_star: int) -> tuple[int, ...]:
    """``(b_1, a_1, ..., b_n', a_n', ?)`` with the marker at ``b_{i*}`` (i* 1-indexed)."""
    out = []
    for j, bit in enumerate(a, start=1):
        out += [MARK if j == i_star else 0, int(bit)]
    return tuple(out + [MARK])


def index_family(N: int, alphabet: int) -> Family:
    n1 = (N - 1) // 2
    xs, ys = [], []
    for a in itertools.product((0, 1), repeat=n1):
        for i_star in range(1, n1 + 1):
            x = index_input(a, i_star)
            y = _answer(x, alphabet)
            if y != a[i_star - 1]:       # the reduction identity (step 3 of the INDEX reduction)
                raise AssertionError(f"INDEX embedding broken at a={a}, i*={i_star}: τ_N={y}")
            xs.append(x)
            ys.append(y)
    return Family("index", N, alphabet, tuple(xs), tuple(ys))


def make_family(name: str, N: int, alphabet: int) -> Family:
    """Validate (BadInput, one line) and build a family."""
    if name not in FAMILIES:
        raise BadInput(f"unknown family {name!r} (full, index)")
    if not isinstance(N, int) or N < 2:
        raise BadInput(f"--N must be an integer >= 2, got {N}")
    if N > MAX_N:
        raise BadInput(f"--N {N} is beyond the SMT queries' limit {MAX_N}")
    if alphabet < 2:
        raise BadInput(f"--alphabet must be >= 2, got {alphabet}")
    if name == "index":
        if N < 3 or N % 2 == 0:
            raise BadInput(f"the INDEX family needs an odd N = 2n'+1 >= 3, got N={N}")
        if alphabet < 3:
            raise BadInput(f"the INDEX family uses the symbols 0, 1 and ?=2: --alphabet >= 3, got {alphabet}")
        size = ((N - 1) // 2) * 2 ** ((N - 1) // 2)
    else:
        size = alphabet ** N
    if size > MAX_INPUTS:
        raise BadInput(f"the {name} family at N={N}, |Σ|={alphabet} has {size:,} inputs; at most"
                       f" {MAX_INPUTS:,} are supported")
    return index_family(N, alphabet) if name == "index" else full_family(N, alphabet)

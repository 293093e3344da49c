"""Parameters shared by many bounds and a compact constructor for quantities.

The *model under test* parameters (m, H, p) are the ``--D``, ``--H``, ``--word-bits`` options of
``attncheck bounds table``; when not given, m and p default to ``⌈log2 N⌉`` (the paper's
``p = Θ(log N)`` regime with constant 1) and H to 1, and every report prints what was used.
"""
from __future__ import annotations

from fractions import Fraction

from attncheck.bounds.intmath import ceil_log2
from attncheck.bounds.records import Param, Quantity

#: Largest N (and n) accepted: beyond 2^64 the real-valued quantities leave float range
#: long before anything a table could mean.
MAX_N = 2 ** 64

N = Param("N", "N", "sequence length (tokens)", lo=2, hi=MAX_N)
K = Param("k", "k", "number of hops / players", lo=1)
M_WIDTH = Param("m", "m", "embedding dimension (width) of the model under test", lo=1,
                derive=lambda p: ceil_log2(p["N"]), derive_text="⌈log2 N⌉", option="--D")
HEADS = Param("H", "H", "attention heads per layer of the model under test", lo=1, default=1)
PREC = Param("p", "p", "bits of precision of the model under test", lo=1,
             derive=lambda p: ceil_log2(p["N"]), derive_text="⌈log2 N⌉", option="--word-bits")
ALPHABET = Param("alphabet", "|Σ|", "alphabet size", lo=2, default=3)
EPS = Param("eps", "ε", "exponent slack ε", kind="frac", lo=0, hi=1, lo_open=True, hi_open=True,
            default=Fraction(1, 4))
DIAM = Param("diam", "D", "largest component diameter of the input graph", lo=1,
             derive=lambda p: p["N"], derive_text="N", option="--diameter")
Q_SPARSE = Param("q", "q", "sparsity: size of each averaged set (qSA)", lo=1, default=2)
D_PRIME = Param("dprime", "d′", "dimension of the averaged vectors z_i (qSA)", lo=1, default=1)
N_FUNC = Param("n", "n", "size of the domain (n = N unless given)", lo=2, hi=MAX_N,
               derive=lambda p: p["N"], derive_text="N")


def qty(key: str, label: str, text: str, expr: str, kind: str, fn, tag: str,
        constant: str = "c unknown", resource: str | None = None) -> Quantity:
    """A :class:`Quantity`; ``constant`` defaults to a hidden one (O/Ω)."""
    return Quantity(key=key, label=label, text=text, expr=expr, kind=kind, fn=fn, tag=tag,
                    constant=constant, resource=resource)


def vacuous_note(value: Fraction, what: str) -> tuple[str, ...]:
    """A note when an Ω(·) threshold is below 1 (the bound says nothing at these sizes)."""
    if value < 1:
        return (f"{what} = {value} < 1: vacuous at these sizes (the bound is asymptotic)",)
    return ()

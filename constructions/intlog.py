"""Integer logarithms base 2, in integers only (STYLE.md practice 9).

The one definition of ``⌈log2 n⌉`` and ``⌊log2 n⌋`` in attncheck: the depth of the k-hop head
(``2 + ⌈log2 k⌉`` [R] against the paper's ``⌊log2 k⌋ + 2`` of ``sht24a.thm4_2``) and the exact
bound formulas of :mod:`attncheck.bounds.intmath` (which adds its argument checks) both use it.
Floating point ``math.log2`` is wrong near powers of two once n passes 2^53, and sympy's
``ceiling(log(n, 2))`` already at n = 2^31 + 1; bit lengths are exact for every int:

* ``⌈log2 n⌉ = (n - 1).bit_length()``: the least t with ``2^t >= n``;
* ``⌊log2 n⌋ = n.bit_length() - 1``: the greatest t with ``2^t <= n``.

>>> [ceil_log2(n) for n in (1, 2, 3, 4, 5, 2 ** 60 + 1)]
[0, 1, 2, 2, 3, 61]
>>> [floor_log2(n) for n in (1, 2, 3, 4, 5, 2 ** 60 - 1)]
[0, 1, 1, 2, 2, 59]
"""
from __future__ import annotations


def ceil_log2(n: int) -> int:
    """``⌈log2 n⌉`` for an integer n >= 1."""
    return (n - 1).bit_length()


def floor_log2(n: int) -> int:
    """``⌊log2 n⌋`` for an integer n >= 1."""
    return n.bit_length() - 1

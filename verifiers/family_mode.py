"""Which check a finite family without a certificate gets (Match ``sht23.match2_ub`` /
``sht23.match3_variants``, the RNN baselines ``sht23.rnn-ih``, ``sht24a.cor5_2``).

These families are decided by enumeration only: ``auto`` is exhaustive when the family fits the
limit, else sampling (which never verifies); ``certificate`` is refused.
"""
from __future__ import annotations

from attncheck.constructions.verdict import BadInput


def resolve_mode(what: str, mode: str, total: int, limit: int, samples: int) -> str:
    """``auto`` -> exhaustive when the finite family of ``total`` members fits ``limit``, else
    sample; refuse what cannot be honoured (one line naming the value)."""
    if mode == "certificate":
        raise BadInput(f"{what} has no certificate mode; use --mode exhaustive or sample")
    if mode == "exhaustive" and total > limit:
        raise BadInput(f"exhaustive {what} has {total} inputs, over the limit {limit};"
                       f" use smaller sizes or --mode sample")
    if mode == "sample" and samples < 1:
        raise BadInput(f"--samples must be >= 1, got {samples}")
    return ("exhaustive" if total <= limit else "sample") if mode == "auto" else mode

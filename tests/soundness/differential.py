"""The differential soundness fuzzer: certificate VERIFIED => exhaustive VERIFIED (issue 12).

One *trial* edits a built construction's file contents (:mod:`file_edits`), loads them with
the strict loader, and asks the certificate.  Whenever the certificate says VERIFIED,
exhaustive mode (every input of Sigma^N, independent of the certificate's reasoning) must say
VERIFIED too, and on hardmax the SMT certify query must not find a counterexample.  With
``classify=True`` exhaustive mode runs on every loaded mutant, so the run also reports how
many mutants are really wrong and how many correct ones the certificate still verifies (its
completeness).  Used by tests/soundness/test_differential_fuzz.py (a few hundred trials) and
benchmarks/soundness.py (10,000 and more).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import file_edits as E
from attncheck.constructions.io import from_arrays
from attncheck.verifiers.certificate import certify
from attncheck.verifiers.exhaustive import check_exhaustive
from attncheck.constructions.verdict import BadInput, Status


@dataclass
class Tally:
    tried: int = 0
    rejected: int = 0              # the strict loader refused the file (one line, exit 2)
    loaded: int = 0
    really_wrong: int = 0          # exhaustive REFUTED (classified trials only)
    correct: int = 0               # exhaustive VERIFIED (classified trials only)
    cert_verified: int = 0
    caught: int = 0                # really wrong and not VERIFIED by the certificate
    correct_verified: int = 0      # correct and VERIFIED by the certificate (completeness)
    smt_asked: int = 0
    false_verified: list = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        for k, v in vars(other).items():
            setattr(self, k, getattr(self, k) + v)

    def lines(self) -> list[str]:
        out = [f"mutants tried {self.tried}: rejected by the loader {self.rejected}, loaded {self.loaded}"]
        if self.really_wrong + self.correct:
            out.append(f"really wrong {self.really_wrong}, caught by the certificate {self.caught}"
                       f" ({100.0 * self.caught / max(self.really_wrong, 1):.1f} %)")
            out.append(f"correct {self.correct}, still verified by the certificate {self.correct_verified}"
                       f" ({100.0 * self.correct_verified / max(self.correct, 1):.1f} % completeness)")
        out.append(f"certificate VERIFIED {self.cert_verified}; SMT certify asked {self.smt_asked}")
        out.append(f"false VERIFIED {len(self.false_verified)}")
        return out


def trial(fam: E.FileFamily, base: dict, rng: np.random.Generator, n_edits: int, attention: str,
          classify: bool, smt=None, certifier=certify, edits=E.EDITS) -> Tally:
    """One mutant: edit, load, certify (with ``certifier``), and compare with exhaustive mode
    (and SMT)."""
    t = Tally(tried=1)
    arrays, what = E.mutate(base, rng, n_edits, edits)
    try:
        c = from_arrays(arrays, "edited file")
    except BadInput:
        t.rejected = 1
        return t
    t.loaded = 1
    params = dict(fam.params)
    if "k" in params and "k" in c.params:
        params["k"] = c.params["k"]                     # the claim is about the file's own k
    cert = certifier(c, fam.task, params, c.fmt, attention)
    verified = cert.status is Status.VERIFIED
    t.cert_verified = int(verified)
    if not (verified or classify):
        return t
    ex = check_exhaustive(c, fam.task, params, c.fmt, attention)
    wrong = ex.status is not Status.VERIFIED
    if classify:
        t.really_wrong, t.correct = int(wrong), int(not wrong)
        t.caught = int(wrong and not verified)
        t.correct_verified = int(verified and not wrong)
    if verified and wrong:
        t.false_verified.append((fam.name, attention, what, ex.reason))
    if verified and smt is not None and attention == "hardmax":
        v = smt(fam.name, c, fam.task, params, c.fmt)          # None: not asked for this family
        t.smt_asked = int(v is not None)
        if v is not None and v.status is Status.REFUTED:
            t.false_verified.append((fam.name, attention, what, f"SMT certify refutes: {v.reason}"))
    return t


def run(trials: int, seed: int, classify: bool, smt=None, progress=None, certifier=certify,
        edits=E.EDITS) -> dict[str, Tally]:
    """``trials`` mutants spread over the families, attentions and one or two edits each."""
    fams = E.families()
    bases = {f.name: E.contents(f.build()) for f in fams}
    rng = np.random.default_rng(seed)
    out: dict[str, Tally] = {f.name: Tally() for f in fams}
    for i in range(trials):
        fam = fams[i % len(fams)]
        attention = ("softmax", "hardmax")[(i // len(fams)) % 2]
        n_edits = 1 if rng.random() < 0.6 else 2
        out[fam.name].add(trial(fam, bases[fam.name], rng, n_edits, attention, classify, smt,
                                certifier, edits))
        if progress is not None:
            progress(i + 1)
    return out

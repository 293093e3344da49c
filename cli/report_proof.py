"""``attncheck report ... --proof DIR``: a proof file per certificate-VERIFIED row (issue 19).

The report does not build proofs itself.  Each row that runs ``verify induction|hop`` in
certificate or auto mode gets two options appended to its argv (:func:`plan`):

    --proof DIR/<row>.proof.json --proof-weights DIR/<row>.npz

so the row's own process writes the proof of its certificate VERIFIED
(:func:`attncheck.verifiers.proof_emit.build_proof`), saves the weights it is about (the
``build --out`` writer) and runs the independent checker on the two files, exactly as
``attncheck check-proof DIR/<row>.proof.json --from DIR/<row>.npz`` does, within the row's own
``--budget`` (cli/proof_cmd.py).  :func:`entry` turns what the row reports into its ``proof``
object -- the files and the checker's outcome (``accepted``, ``rejected: LINE``, ``unknown:
budget``), or ``no proof`` and why -- and :func:`write_index` lists them in ``DIR/index.json`` with
the SHA-256 of every weights file, so a paper's CI can re-check every proof in a loop
(docs/report.md).  A row that is not a certificate VERIFIED gets no file, and its entry says why.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

from attncheck.cli.report_checks import Check
from attncheck.constructions.verdict import BadInput

INDEX = "index.json"
INDEX_FORMAT = "attncheck-report-proofs"
INDEX_VERSION = 1
#: The sequence tasks whose certificate writes proofs (``verify TASK``).
PROOF_TASKS = ("induction", "hop")
CERTIFICATE_MODES = ("auto", "certificate")


def prepare_dir(path: str) -> str:
    """Create ``path`` and prove it is writable, or raise BadInput (one line, exit 2)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise BadInput(f"--proof {path!r} is a file, not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise BadInput(f"--proof {path!r}: cannot write there ({e.strerror or e})") from None
    return path


def stem(check: Check) -> str:
    """The file stem of a row's proof: its name, with anything but letters, digits, '.', '-' and
    '_' read as '-' (``hop.k8`` -> ``hop.k8.proof.json``, ``hop.k8.npz``)."""
    return "".join(ch if ch.isalnum() or ch in ".-_" else "-" for ch in check.name)


def files(check: Check) -> tuple[str, str]:
    """(proof, weights) file names of a row, relative to the proof directory."""
    return f"{stem(check)}.proof.json", f"{stem(check)}.npz"


def _option(argv, name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def why_not(check: Check) -> str | None:
    """Why a row can carry no proof whatever its verdict (None: it may)."""
    argv = check.argv
    if argv[:1] != ("verify",) or len(argv) < 2 or argv[1] not in PROOF_TASKS:
        return "not a sequence-task certificate check"
    if "--from" in argv:
        return "weights read with --from: not part of the report's proof set"
    mode = _option(argv, "--mode") or "auto"
    if mode not in CERTIFICATE_MODES:
        return {"exhaustive": "exhaustive (--mode exhaustive: no certificate)",
                "sample": "sampled (--mode sample: no certificate)"}.get(mode, f"--mode {mode}")
    return None


def plan(check: Check, proof_dir: str) -> tuple[str, ...]:
    """The options appended to a row's argv (none when it can carry no proof).  Files of an
    earlier run at the same names are removed first, so the directory only ever holds what this
    run wrote."""
    if why_not(check) is not None:
        return ()
    proof, weights = (os.path.join(proof_dir, f) for f in files(check))
    _remove(proof, weights)
    return ("--proof", proof, "--proof-weights", weights)


def _remove(*paths: str) -> None:
    for p in paths:
        if os.path.isfile(p):
            os.remove(p)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _outcome(check: str) -> str:
    """The checker's outcome as the row shows it: ``accepted``, ``rejected: LINE``, or
    ``unknown: budget`` when the row's budget ran out during the check."""
    if check.startswith("unknown") and "budget" in check:
        return "unknown: budget"
    return check


def entry(row, proof_dir: str) -> dict:
    """The ``proof`` object of one report row (``row``: a :class:`report_run.Row`).

    With a proof: ``{"proof": FILE, "weights": FILE, "check": OUTCOME, "weights_file_sha256",
    "weights_digest", "bytes"}`` (file names relative to ``proof_dir``); without:
    ``{"proof": None, "why": "no proof: ..."}``.  A file the row wrote but that does not back its
    final verdict (the mechanism check demoted it, the process was killed) is removed."""
    why = why_not(row.check)
    if why is not None:
        return {"proof": None, "why": f"no proof: {why}"}
    pname, wname = files(row.check)
    ppath, wpath = os.path.join(proof_dir, pname), os.path.join(proof_dir, wname)
    got = (row.data or {}).get("proof") if isinstance(row.data, dict) else None

    def without(reason: str, **more) -> dict:
        _remove(ppath, wpath)
        return {"proof": None, "why": f"no proof: {reason}", **more}

    if row.method == "out of budget":                       # killed: no JSON, files may be partial
        return without("the check was killed after overrunning its budget", check="unknown: budget")
    if not isinstance(got, dict):
        return without(f"the command reported no proof (verdict {row.verdict})")
    if not got.get("written"):
        if row.verdict != "verified":
            return without(f"not verified ({row.verdict})")
        return without(f"{row.method} ({got.get('why', 'no certificate VERIFIED')})")
    if row.verdict != "verified" or row.method != "certificate":
        return without(f"the certificate's VERIFIED is not the row's verdict ({row.verdict}, {row.method})")
    if not (os.path.isfile(ppath) and os.path.isfile(wpath)):
        return without("the proof or weights file is missing after the run", check="error")
    return {"proof": pname, "weights": wname, "check": _outcome(str(got.get("check", "unknown"))),
            "bytes": got.get("bytes"), "weights_file_sha256": _sha256(wpath),
            "weights_digest": got.get("weights_sha256")}


def entries(rows, proof_dir: str) -> dict[str, dict]:
    """Row name -> its ``proof`` object, for every row."""
    return {r.check.name: entry(r, proof_dir) for r in rows}


def summary(by_row: dict[str, dict]) -> dict:
    """Counts of the rows' proof outcomes."""
    with_proof = [e for e in by_row.values() if e["proof"]]
    return {"proofs": len(with_proof), "accepted": sum(e["check"] == "accepted" for e in with_proof),
            "rejected": sum(e["check"].startswith("rejected") for e in with_proof),
            "unknown": sum(e["check"].startswith("unknown") for e in with_proof),
            "without_proof": len(by_row) - len(with_proof)}


def write_index(rows, by_row: dict[str, dict], proof_dir: str, paper: str) -> str:
    """Write ``proof_dir/index.json``: every row with a proof (row, theorem, files, outcome,
    SHA-256 of the weights file, the proof's digest over the weights, the row's command), then
    every row without one and why.  Returns its path."""
    proofs, without = [], []
    for r in rows:
        e = by_row[r.check.name]
        if e["proof"]:
            proofs.append({"row": r.check.name, "theorem": r.check.theorem, **e, "command": r.command})
        else:
            without.append({"row": r.check.name, "why": e["why"]})
    obj = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "paper": paper,
           "check_with": "attncheck check-proof PROOF --from WEIGHTS (paths relative to this file)",
           "summary": summary(by_row), "proofs": proofs, "without_proof": without}
    path = os.path.join(proof_dir, INDEX)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    return path

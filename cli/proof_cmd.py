"""``attncheck check-proof``: re-check a certificate's proof against the weights (issue 19).

\b
  attncheck build induction --N 1024 --alphabet 8 --out w.npz
  attncheck verify induction --from w.npz --mode certificate --proof p.json
  attncheck check-proof p.json --from w.npz            exit 0 accepted, 1 rejected (first failing line)

Pipeline: load the proof (JSON, gzip allowed) and the weights (``--from``: npz of ``build --out`` or
an exchange directory) -> :func:`attncheck.verifiers.proofcheck.check` (exact arithmetic, no
certificate code) -> render.  Exit codes: 0 accepted, 1 rejected, 2 bad input or a malformed
proof, 3 out of budget.  ``proof_option`` is the ``--proof FILE`` option of ``verify
induction|hop`` (with ``--proof-weights FILE.npz``); :func:`write_after_verify` writes the proof
after a certificate VERIFIED (``report --proof DIR`` passes both to its certificate rows).
"""
from __future__ import annotations

import hashlib
import os
import time

import click

from attncheck.cli import render
from attncheck.cli.options import budget_option, json_option


def _store(ctx, param, value):
    ctx.meta[f"attncheck.{param.name}"] = value
    return value


def proof_option(f):
    """``--proof FILE`` and ``--proof-weights FILE.npz`` (verify induction|hop): kept out of the
    parameter object (ctx.meta)."""
    f = click.option("--proof-weights", "proof_weights", type=click.Path(dir_okay=False), default=None,
                     expose_value=False, callback=_store, help="With --proof: also save the weights the proof"
                     " is about (.npz, as 'build --out') and check the proof against that file.")(f)
    return click.option("--proof", "proof", type=click.Path(dir_okay=False), default=None, expose_value=False,
                        callback=_store, help="After a certificate VERIFIED, write its proof (JSON; .gz:"
                        " gzip) for 'attncheck check-proof FILE --from WEIGHTS' (needs --mode certificate or"
                        " auto).")(f)


def requested() -> str | None:
    return click.get_current_context().meta.get("attncheck.proof")


def weights_requested() -> str | None:
    return click.get_current_context().meta.get("attncheck.proof_weights")


def record_for(mode: str) -> dict | None:
    """A dict for the certificate to record into when ``--proof`` was given, else None."""
    if weights_requested() is not None:
        src = click.get_current_context().params.get("from_")
        if requested() is None:
            raise click.BadParameter("--proof-weights needs --proof", param_hint="--proof-weights")
        if src and os.path.isdir(src):
            raise click.BadParameter(f"the weights of an exchange directory are {src} itself (check the"
                                     " proof with --from it)", param_hint="--proof-weights")
    if requested() is None:
        return None
    if mode not in ("certificate", "auto"):
        raise click.BadParameter("--proof needs --mode certificate or auto", param_hint="--proof")
    return {}


def write_after_verify(c, task: str, tparams: dict, fmt, attention: str, verdict, record: dict | None,
                       budget=None) -> dict:
    """Write the proof of a certificate VERIFIED to the requested path, then re-read it and run the
    independent checker on it, as ``check-proof`` would (within ``budget``); returns the report's
    extra keys (``{"proof": {..., "check": "accepted" | "rejected: LINE" | "unknown: ..."}}``, or
    nothing without ``--proof``).  The verdict is the certificate's either way: the check says
    whether the written file will convince the small checker (it may be looser, docs/soundness.md)."""
    from attncheck.constructions.verdict import Method, Status
    from attncheck.verifiers.proof_emit import build_proof, write_proof
    path = requested()
    if path is None:
        return {}
    if verdict.status is not Status.VERIFIED or verdict.method is not Method.CERTIFICATE:
        return {"proof": {"path": None, "written": False, "why": "only a certificate VERIFIED carries a proof"}}
    if record:
        proof = build_proof(c, task, tparams, fmt, attention, record)
    else:                                                     # an exchange export: its hypotheses' certificate
        from attncheck.verifiers.proof_emit import prove_exchange
        proof = prove_exchange(click.get_current_context().params["from_"], c, task, tparams, fmt, attention)
        if proof is None:
            return {"proof": {"path": None, "written": False, "why": "the certificate of the recorded"
                              " hypotheses does not close"}}
    size = write_proof(proof, path)
    entry = {"path": path, "written": True, "bytes": size, "weights_sha256": proof["weights_sha256"]}
    weights = weights_requested()
    if weights is not None:                        # the weights as a file: the check reads them back
        from attncheck.constructions.exchange import load_model
        from attncheck.constructions.io import save_construction
        save_construction(c, weights)
        with open(weights, "rb") as fh:
            entry.update(weights=weights, weights_file_sha256=hashlib.sha256(fh.read()).hexdigest())
        c = load_model(weights)
    return {"proof": {**entry, "check": _self_check(path, c, budget)}}


def _self_check(path: str, c, budget) -> str:
    """``check-proof`` on the file just written, against the weights ``c`` was run from (read back
    from ``--proof-weights`` when given)."""
    from attncheck.constructions.exchange import read_exchange
    from attncheck.constructions.verdict import BudgetExceeded
    from attncheck.verifiers import proofcheck
    src = click.get_current_context().params.get("from_")
    exchange = read_exchange(src) if src and os.path.isdir(src) else None
    tick = None if budget is None else (lambda: budget.check(stage="check-proof"))
    try:
        proofcheck.check(proofcheck.load_proof(path), c, tick=tick, exchange=exchange)
    except proofcheck.Reject as e:
        return f"rejected: {e}"
    except BudgetExceeded as e:
        return f"unknown: {e}"
    return "accepted"


def with_note(report: dict, human):
    """The verify command's human output ``human(report)``, then a line about the proof."""
    draw, entry = human(report), report.get("proof")
    if entry is None:
        return draw

    def both(con):
        draw(con)
        if entry["written"]:
            con.print(f"proof written: {render.esc(entry['path'])} ({entry['bytes']} bytes); check it with"
                      f" 'attncheck check-proof {render.esc(entry['path'])}"
                      f" --from {render.esc(entry.get('weights') or 'WEIGHTS')}'")
            colour = "green" if entry["check"] == "accepted" else "yellow"
            con.print(f"the independent checker on it: [{colour}]{render.esc(entry['check'])}[/]")
        else:
            con.print(f"[yellow]no proof written[/]: {render.esc(entry['why'])}")
    return both


@click.command("check-proof")
@click.argument("proof_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--from", "from_", required=True, metavar="WEIGHTS",
              help="The weights the proof is about: an .npz from 'attncheck build ... --out' or an exchange"
                   " directory.")
@json_option
@budget_option
def check_proof(proof_file: str, from_: str, json: bool, budget: float | None):
    """Re-check a certificate's proof in exact arithmetic (exit 0 accepted, 1 rejected)."""
    from attncheck.constructions.budget import Budget
    from attncheck.constructions.exchange import load_model, read_exchange, to_construction
    from attncheck.constructions.verdict import BadInput, BudgetExceeded
    from attncheck.verifiers import proofcheck
    t0 = time.perf_counter()
    clock = Budget(budget)
    try:
        proof = proofcheck.load_proof(proof_file)
    except proofcheck.Malformed as e:
        raise BadInput(str(e)) from e
    exchange = read_exchange(from_) if os.path.isdir(from_) else None
    c = to_construction(exchange) if exchange is not None else load_model(from_)
    rc, status, line = 0, "accepted", ""
    try:
        line = proofcheck.check(proof, c, tick=lambda: clock.check(stage="check-proof"), exchange=exchange)
    except proofcheck.Reject as e:
        rc, status, line = 1, "rejected", str(e)
    except proofcheck.Malformed as e:
        raise BadInput(f"malformed proof: {e}") from e
    except BudgetExceeded as e:
        rc, status, line = 3, "unknown", str(e)
    obj = render.envelope("check-proof", {"proof": proof_file, "from": from_, "budget": budget},
                          verdict=status, reason=line, task=proof.get("task"), format=proof.get("number_format"),
                          attention=proof.get("attention"), weights_sha256=proof.get("weights_sha256"),
                          timing={"total_s": time.perf_counter() - t0})
    colour = {"accepted": "green", "rejected": "red"}.get(status, "yellow")
    render.emit(obj, json, lambda con: con.print(f"[bold {colour}]{status.upper()}[/] {render.esc(line)}"))
    click.get_current_context().exit(rc)

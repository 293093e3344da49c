"""Print the mutation score (generated / really wrong / caught) after the run."""


def pytest_terminal_summary(terminalreporter):
    import soundness_mutants as M
    if not M.SCORES and not M.SKIPPED:
        return
    tr = terminalreporter
    tr.section("attncheck mutation score (issue 9)")
    total = M.Score()
    for name, s in M.SCORES.items():
        tr.write_line(f"{name}: {s.line()}")
        for kind, (g, w, c) in sorted(s.by_kind.items()):
            tr.write_line(f"    {kind}: generated {g}, really wrong {w}, caught {c}")
        total.generated += s.generated
        total.wrong += s.wrong
        total.caught += s.caught
        total.equivalent_certified += s.equivalent_certified
        total.asked_smt += s.asked_smt
    tr.write_line(f"ALL: {total.line()}")
    for name, why in M.SKIPPED.items():
        tr.write_line(f"skipped {name}: {why}")

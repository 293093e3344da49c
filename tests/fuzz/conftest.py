"""Print the fuzzing figures (calls, exit codes, slowest call per entry) after the run."""


def pytest_terminal_summary(terminalreporter):
    import cli_harness as H
    if not H.STATS["calls"]:
        return
    tr = terminalreporter
    tr.section("attncheck CLI fuzzing (issue 9)")
    exits = ", ".join(f"{k}: {v}" for k, v in sorted(H.STATS.items()) if k.startswith("exit "))
    tr.write_line(f"fuzz cases run: {H.STATS['calls']} ({exits}); calls matching a reported violation"
                  f" (KNOWN) not run: {H.STATS['known violations skipped']}")
    entries = sorted((k[6:], v) for k, v in H.STATS.items() if k.startswith("entry "))
    tr.write_line("per entry: " + ", ".join(f"{k} {v} (max {H.SLOWEST.get(k, 0):.1f} s)" for k, v in entries))
    missing = H.registered_but_missing()
    if missing:
        tr.write_line("registered but not present yet (not fuzzed): " + ", ".join(missing))

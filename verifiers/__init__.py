"""Verifiers: number formats, the emulator, exhaustive / certificate / sample / SMT checks."""

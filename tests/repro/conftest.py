"""The repro suite drives the command discovery of the fuzz suite (tests/fuzz/cli_harness.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

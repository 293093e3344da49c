"""Data package: project documents that the installed tool reads (``theorems.md``)."""

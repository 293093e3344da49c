"""Explicit transformer (and baseline) constructions: real weights, run by the one emulator."""

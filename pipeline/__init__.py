"""Orchestration of srb-surveil: configuration, loading, the run's stages and the CLI.

The only package that reads configuration, files and the clock; it passes them down
to ``models`` (statistics), ``expectations`` (quality gates) and ``reports``.
"""

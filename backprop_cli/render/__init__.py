"""Renderers: a Trace (and its Checks) shown as Rich tables, JSON, and more.

Render knows nothing of Typer: each function takes a trace and returns text, a Rich
renderable or a plain dict, and `cli.py` decides where it goes.
"""

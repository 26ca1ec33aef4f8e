"""Winnow core: the pure-Python library behind the app and the CLI (never imports Streamlit)."""

__version__ = "0.1.0"

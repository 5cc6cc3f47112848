"""Cadang: backup and restore for government IT offices."""

__version__ = "0.1.0"

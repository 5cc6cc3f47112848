"""The plan layer: the office's inventory (YAML), sources per application, runs and restores.

Knows nothing of Django; the server (a later issue) uses it. See docs/ARCHITECTURE.md."""

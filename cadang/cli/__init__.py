"""The command line: one module per command; parse, call the engine, print."""

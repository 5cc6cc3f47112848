"""Sources: what is backed up besides plain files (database dumps, command output).

Each source streams into the engine without temporary dump files. ``process`` is the one
place that runs subprocesses and interprets their exit codes.
"""

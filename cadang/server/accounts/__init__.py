"""People and their roles from the procedures; log-in, lockout, language."""

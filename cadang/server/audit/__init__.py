"""The append-only audit log; each entry carries the hash of the one before it."""

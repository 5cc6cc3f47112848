"""The Backup Execution Form (SOP 002) and its approval chain, with standard times."""

"""Schedules per priority, the scheduler inside the server process, runs and their results."""

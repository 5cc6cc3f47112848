"""Checks: before a run (database, antivirus, network, storage) and after it (verify).

Every check yields a :class:`~cadang.checks.base.CheckRecord` (what, when, result,
details); the records of one check-before form a :class:`~cadang.checks.base.Checklist`.
Checks know nothing of the plan file: the plan layer builds them from the plan and decides
what a result means for the run (see ``cadang.plan.prechecks``).
"""

"""The server: people, roles, schedules, forms and approvals on top of the plan layer (Django).

Dependencies point down: the server uses :mod:`cadang.plan` (and through it the checks,
sources and engine); nothing below imports Django. One Django app per concept:

- ``accounts``   people, roles (operator, verifier, approver, head, unit, crypto, auditor,
                 admin), per-user language, log-in lockout (django-axes)
- ``inventory``  the plan as the server holds it: applications, owners, priorities,
                 classifications, sources, repositories; import and export of the plan file
- ``runs``       schedules per priority, the scheduler, runs and their per-source results
- ``approvals``  the Backup Execution Form (SOP 002) and its chain: operator confirms, Kasi
                 verifies or returns, Kabid approves the month; standard times (mutu baku)
- ``notify``     notifications by e-mail (SMTP) and webhook, each delivery logged
- ``audit``      the append-only, hash-chained audit log
"""

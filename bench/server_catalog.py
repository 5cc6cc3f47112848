"""A year of an office's backups in a fresh catalog, for the server benchmark (bench/server.py).

200 applications of 25 units (realistic names, owners, priorities, classifications, 1-3
sources each), one run a day for each over a year with its per-source results, the Backup
Execution Form of every run with its steps (months before the last approved by the Kabid,
the last weeks mixed: awaiting confirmation, awaiting verification, returned, verified),
the notifications of failed runs, and the hash-chained audit log of it all. Rows go in with
``bulk_create``; the run reports and checklists are copies of a real ``cadang run``'s JSON
(taken once by bench/server.py), so the catalog holds what a real year would.

Call :func:`build` in a process where Django is set up on the target catalog
(:func:`cadang.server.bootstrap.setup`, migrated, defaults present).
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from cadang.plan.model import Plan
from cadang.server.accounts.models import Profile, Role
from cadang.server.approvals.filling import form_number
from cadang.server.approvals.models import (
    DEFAULT_STANDARD_MINUTES,
    BackupExecutionForm,
    FormState,
    FormStep,
    MonthlyApproval,
    Step,
)
from cadang.server.audit.log import GENESIS, entry_hash
from cadang.server.audit.models import AuditEntry
from cadang.server.inventory.catalog import store_plan
from cadang.server.inventory.models import Application
from cadang.server.notify.models import Channel, Event, Notification
from cadang.server.runs.models import Run, RunStatus, SourceRun, Trigger

PASSWORD = "bench-password-2026"
BATCH = 2000

# (owner, code): the units (OPD) of a regency's government.
UNITS = [
    ("Sekretariat Daerah", "setda"),
    ("Dinas Kependudukan dan Pencatatan Sipil", "disdukcapil"),
    ("Dinas Komunikasi dan Informatika", "diskominfo"),
    ("Badan Kepegawaian dan Pengembangan SDM", "bkpsdm"),
    ("Badan Pengelolaan Keuangan dan Aset Daerah", "bpkad"),
    ("Badan Perencanaan Pembangunan Daerah", "bappeda"),
    ("Dinas Pendidikan", "disdik"),
    ("Dinas Kesehatan", "dinkes"),
    ("RSUD Kabupaten", "rsud"),
    ("Dinas Sosial", "dinsos"),
    ("Dinas Penanaman Modal dan PTSP", "dpmptsp"),
    ("Inspektorat", "inspektorat"),
    ("Dinas Pekerjaan Umum dan Penataan Ruang", "dpupr"),
    ("Dinas Perhubungan", "dishub"),
    ("Satuan Polisi Pamong Praja", "satpolpp"),
    ("Badan Penanggulangan Bencana Daerah", "bpbd"),
    ("Dinas Pertanian dan Ketahanan Pangan", "distan"),
    ("Dinas Lingkungan Hidup", "dlh"),
    ("Badan Pendapatan Daerah", "bapenda"),
    ("Dinas Perumahan dan Kawasan Permukiman", "disperkim"),
    ("Dinas Tenaga Kerja", "disnaker"),
    ("Dinas Koperasi dan UMKM", "diskop"),
    ("Dinas Perpustakaan dan Kearsipan", "dispusip"),
    ("Sekretariat DPRD", "setwan"),
    ("Dinas Pariwisata dan Kebudayaan", "disparbud"),
]

# Applications Indonesian local governments run (national systems and local ones).
SYSTEMS = [
    "simpeg",
    "siak",
    "sipd",
    "e-kinerja",
    "simda",
    "sakip",
    "lpse",
    "jdih",
    "ppid",
    "sirup",
    "simbg",
    "siskeudes",
    "e-office",
    "srikandi",
    "simpus",
    "simrs",
    "e-rapor",
    "dapodik",
    "sipkd",
    "simral",
    "e-budgeting",
    "e-planning",
    "sismiop",
    "bphtb",
    "pbb-online",
    "e-retribusi",
    "oss-daerah",
    "sicantik",
    "lapor",
    "sp4n",
    "simonev",
    "siladu",
    "sipadu",
    "e-surat",
    "arsip-digital",
    "simak-bmd",
    "sipp",
    "siperi",
    "e-absensi",
    "presensi",
    "website",
    "portal-data",
    "satu-data",
    "geoportal",
    "cctv-arsip",
    "dtks",
    "siks-ng",
    "e-pustaka",
    "simtaru",
    "sikda",
    "e-puskesmas",
    "sianjab",
    "e-sppd",
    "simbada",
]

DB_KINDS = ["postgres", "mariadb", "oracle", "sqlite"]


@dataclass
class Counts:
    applications: int = 0
    runs: int = 0
    source_runs: int = 0
    forms: int = 0
    form_steps: int = 0
    approvals: int = 0
    notifications: int = 0
    audit_entries: int = 0
    users: dict[str, str] = field(default_factory=dict)  # username -> role


def plan_data(apps: int, rng: random.Random) -> dict[str, Any]:
    """A valid plan of ``apps`` applications (validated by the plan model on import)."""
    applications: list[dict[str, Any]] = []
    used: set[str] = set()
    i = 0
    while len(applications) < apps:
        system = SYSTEMS[i % len(SYSTEMS)]
        owner, code = UNITS[(i * 7) % len(UNITS)]
        i += 1
        name = system if system not in used else f"{system}-{code}"
        if name in used:
            name = f"{system}-{code}-{i}"
        used.add(name)
        priority = rng.choices(["daily", "weekly", "monthly"], weights=[6, 3, 1])[0]
        classification = rng.choices(["internal", "public", "confidential"], weights=[5, 3, 2])[0]
        kind = rng.choice(DB_KINDS)
        db: dict[str, Any] = {"name": "db", "type": kind}
        if kind == "postgres":
            db["databases"] = [name.replace("-", "_")]
        elif kind == "mariadb":
            db["databases"] = [name.replace("-", "_")]
            db["option_file"] = f"/etc/cadang/{code}.my.cnf"
        elif kind == "oracle":
            db.update(connect=f"{code}@ORCL", schemas=[name.replace("-", "_").upper()])
            db["password_file"] = f"/etc/cadang/{code}.oracle"
        else:
            db["path"] = f"/srv/{code}/{name}/data.sqlite3"
        sources = [db]
        extra = rng.choice([0, 1, 1, 2])
        if extra >= 1:
            sources.append({"name": "code", "type": "files", "paths": [f"/srv/{code}/{name}/app"]})
        if extra >= 2:
            sources.append(
                {"name": "dokumen", "type": "files", "paths": [f"/srv/{code}/{name}/uploads"]}
            )
        applications.append(
            {
                "name": name,
                "owner": owner,
                "priority": priority,
                "classification": classification,
                "sources": sources,
            }
        )
    return {
        "organization": {"name": "Dinas Komunikasi dan Informatika (bench)", "code": "kominfo"},
        "repositories": {
            "main": {"path": "/srv/cadang/main", "password_file": "/etc/cadang/pass"},
            "external-disk": {"path": "/media/cadang/hdd1", "password_file": "/etc/cadang/pass"},
        },
        "copies": ["external-disk"],
        "escalation": [
            {"name": "Made Wirawan", "role": "Kasi", "email": "kasi@example.go.id"},
            {"name": "Ketut Sudarma", "role": "Kabid", "email": "kabid@example.go.id"},
        ],
        "applications": applications,
    }


def make_users() -> dict[str, User]:
    people = [
        ("adb1", Role.OPERATOR, "Wayan Adi", ""),
        ("adb2", Role.OPERATOR, "Nyoman Sari", ""),
        ("adb3", Role.OPERATOR, "Putu Eka", ""),
        ("sandiman", Role.CRYPTO, "Kadek Dwi", ""),
        ("kasi", Role.VERIFIER, "Made Wirawan", ""),
        ("kabid", Role.APPROVER, "Ketut Sudarma", ""),
        ("kadis", Role.HEAD, "Gede Arsana", ""),
        ("auditor", Role.AUDITOR, "Luh Ayu", ""),
        ("admin", Role.ADMIN, "Komang Jaya", ""),
        ("opd-bkpsdm", Role.UNIT, "Operator BKPSDM", UNITS[3][0]),
        ("opd-dinkes", Role.UNIT, "Operator Dinkes", UNITS[7][0]),
    ]
    users: dict[str, User] = {}
    for username, role, full_name, unit in people:
        first, _sep, last = full_name.partition(" ")
        user = User.objects.create_user(
            username=username,
            password=PASSWORD,
            first_name=first,
            last_name=last,
            email=f"{username}@example.go.id",
            is_staff=role is Role.ADMIN,
        )
        Profile.objects.create(user=user, role=role, unit=unit, language="en")
        users[username] = user
    return users


@dataclass
class Template:
    """A real run's report and checklist (RunReport.to_json, Checklist.to_json) to copy."""

    report: dict[str, Any]
    checklist: dict[str, Any]

    def source_entry(self) -> dict[str, Any]:
        return dict(self.report["applications"][0]["sources"][0])


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


class AuditTrail:
    """Events collected with their times; written in time order with the hash chain."""

    def __init__(self) -> None:
        self.events: list[tuple[dt.datetime, str, str, str, dict[str, Any]]] = []

    def add(
        self, at: dt.datetime, actor: str, action: str, target: str, details: dict[str, Any]
    ) -> None:
        self.events.append((at, actor, action, target, details))

    def write(self) -> int:
        self.events.sort(key=lambda e: e[0])
        prev = GENESIS
        rows: list[AuditEntry] = []
        for seq, (at, actor, action, target, details) in enumerate(self.events, start=1):
            h = entry_hash(prev, seq, at, actor, action, target, details)
            rows.append(
                AuditEntry(
                    seq=seq,
                    at=at,
                    actor=actor,
                    action=action,
                    target=target,
                    details=details,
                    prev_hash=prev,
                    hash=h,
                )
            )
            prev = h
            if len(rows) >= BATCH:
                AuditEntry.objects.bulk_create(rows)
                rows = []
        AuditEntry.objects.bulk_create(rows)
        return len(self.events)


@dataclass
class FormPlan:
    """The steps one form has taken by ``today`` and its resulting state."""

    state: str
    steps: list[tuple[str, str | None, dt.datetime, str, int | None, float | None]]
    remarks: str = ""
    return_reason: str = ""


def form_plan(
    finished: dt.datetime,
    today: dt.datetime,
    approval_at: dt.datetime | None,
    operator: str,
    rng: random.Random,
) -> FormPlan:
    """Which steps a form finished at ``finished`` has had by ``today``."""
    std = {s.value: m for s, m in DEFAULT_STANDARD_MINUTES.items()}
    steps: list[tuple[str, str | None, dt.datetime, str, int | None, float | None]] = [
        (Step.FILLED, None, finished, "", None, None)
    ]
    age = (today - finished).total_seconds() / 86400
    # The last days: some forms still wait for their operator or their Kasi.
    if age < 1 or (age < 3 and rng.random() < 0.15):
        return FormPlan(FormState.AWAITING_CONFIRMATION, steps)
    # The operator looks at the night's forms when the office opens at 08:00.
    work_start = finished.replace(hour=8, minute=0, second=0)
    if work_start < finished:
        work_start += dt.timedelta(days=1)
    confirm_minutes = rng.uniform(5, 150)  # sometimes past the 90 minutes' standard
    confirmed_at = work_start + dt.timedelta(minutes=confirm_minutes)
    remarks = rng.choice(
        ["", "", "Berjalan normal.", "Ukuran naik karena data bulan baru.", "Sudah dicek."]
    )
    steps.append(
        (Step.CONFIRMED, operator, confirmed_at, remarks, std[Step.CONFIRMED], confirm_minutes)
    )
    returned = rng.random() < 0.02
    if returned and age >= 2:
        back_minutes = rng.uniform(5, 40)
        back_at = confirmed_at + dt.timedelta(minutes=back_minutes)
        reason = "Keterangan ukuran cadangan belum diisi."
        steps.append((Step.RETURNED, "kasi", back_at, reason, std[Step.VERIFIED], back_minutes))
        if age < 4:
            return FormPlan(FormState.RETURNED, steps, remarks, reason)
        confirmed_at = back_at + dt.timedelta(hours=rng.uniform(1, 20))
        steps.append(
            (Step.CONFIRMED, operator, confirmed_at, "Sudah dilengkapi.", std[Step.CONFIRMED], 60.0)
        )
    if age < 3 and rng.random() < 0.5:
        return FormPlan(FormState.AWAITING_VERIFICATION, steps, remarks)
    verify_minutes = rng.uniform(3, 35)  # sometimes past the 20 minutes' standard
    verified_at = confirmed_at + dt.timedelta(minutes=verify_minutes)
    steps.append((Step.VERIFIED, "kasi", verified_at, "", std[Step.VERIFIED], verify_minutes))
    if approval_at is None:
        return FormPlan(FormState.VERIFIED, steps, remarks)
    approve_minutes = (approval_at - verified_at).total_seconds() / 60
    steps.append((Step.APPROVED, "kabid", approval_at, "", std[Step.APPROVED], approve_minutes))
    return FormPlan(FormState.APPROVED, steps, remarks)


def build(
    *,
    apps: int,
    days: int,
    template: Template,
    today: dt.date | None = None,
    seed: int = 5,
    echo: Any = print,
) -> Counts:
    """Fill the (empty, migrated) catalog; returns what was made."""
    rng = random.Random(seed)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    now = dt.datetime.now(zone).replace(microsecond=0)
    today = today or now.date()
    now = min(now, dt.datetime.combine(today, dt.time(15, 0), zone))
    counts = Counts()
    # auto_now_add would stamp every row "now": a year's rows carry their own times.
    for model, name in ((Run, "queued_at"), (Notification, "created_at")):
        model._meta.get_field(name).auto_now_add = False  # type: ignore[attr-defined]
    trail = AuditTrail()

    with transaction.atomic():
        users = make_users()
        counts.users = {u: str(p.role) for u, p in ((u, users[u].profile) for u in users)}
        plan = Plan.model_validate(plan_data(apps, rng))
        store_plan(plan, source_file="bench-plan.yaml")
        applications = list(Application.objects.order_by("position"))
        counts.applications = len(applications)
        first_day = today - dt.timedelta(days=days - 1)
        for u in users:
            trail.add(
                dt.datetime.combine(first_day, dt.time(7, 0), zone) - dt.timedelta(days=1),
                "cli",
                "user_created",
                u,
                {"role": str(users[u].profile.role)},
            )
        operators = ["adb1", "adb2", "adb3"]

        # The Kabid approves each month on the 3rd of the next one, once it is over.
        approvals: dict[dt.date, MonthlyApproval] = {}
        month = first_day.replace(day=1)
        while True:
            nxt = (month + dt.timedelta(days=32)).replace(day=1)
            approve_at = dt.datetime.combine(nxt + dt.timedelta(days=2), dt.time(10, 0), zone)
            if approve_at > now:
                break
            approvals[month] = MonthlyApproval(
                month=month, approved_by=users["kabid"], approved_at=approve_at, remarks=""
            )
            month = nxt
        MonthlyApproval.objects.bulk_create(approvals.values())
        counts.approvals = len(approvals)

        sizes = {
            a.pk: [rng.randint(20, 4000) * 2**20 for _ in a.source_names] for a in applications
        }
        seq_by_year: dict[int, int] = {}
        form_count: dict[dt.date, int] = {}
        for day_index in range(days):
            day = first_day + dt.timedelta(days=day_index)
            if dt.datetime.combine(day, dt.time(1, 0), zone) > now:
                break
            runs: list[Run] = []
            meta: list[tuple[Application, list[dict[str, Any]], str]] = []
            for pos, app in enumerate(applications):
                started = dt.datetime.combine(day, dt.time(1, 0), zone) + dt.timedelta(
                    seconds=pos * 17
                )
                roll = rng.random()
                status = (
                    RunStatus.FAILED
                    if roll < 0.012
                    else RunStatus.PARTIAL
                    if roll < 0.03
                    else RunStatus.SUCCEEDED
                )
                operator = operators[pos % len(operators)]
                srcs: list[dict[str, Any]] = []
                t = started + dt.timedelta(seconds=4)
                for k, (src_cfg, size) in enumerate(
                    zip(app.config["sources"], sizes[app.pk], strict=True)
                ):
                    size = int(size * (1 + day_index * 0.0008))
                    failed = (status == RunStatus.FAILED and k == 0) or (
                        status == RunStatus.PARTIAL and k == len(app.source_names) - 1
                    )
                    duration = round(size / 2**20 / rng.uniform(40, 120), 3)
                    entry = template.source_entry()
                    entry.update(
                        app=app.name,
                        owner=app.owner,
                        priority=app.priority,
                        classification=app.classification,
                        source=src_cfg["name"],
                        kind=src_cfg["type"],
                        repository="main",
                        status="failed" if failed else "succeeded",
                        label=f"kominfo-{app.name}-{src_cfg['name']}-{started:%Y%m%d-%H%M}",
                        snapshot_id="" if failed else _hex(rng),
                        started=t.isoformat(),
                        duration=duration,
                        files=rng.randint(1, 40000) if src_cfg["type"] == "files" else 1,
                        size=0 if failed else size,
                        data_added=0 if failed else int(size * rng.uniform(0.001, 0.03)),
                        error="pg_dump: koneksi ditolak" if failed else "",
                        hint="periksa layanan basis data" if failed else "",
                        verified="" if failed else "passed",
                        verification=""
                        if failed
                        else f"baca ulang: {size // 2**20} MiB; uji pemulihan: identik",
                    )
                    srcs.append(entry)
                    t += dt.timedelta(seconds=duration + 1)
                finished = t + dt.timedelta(seconds=rng.uniform(2, 30))
                report = copy.deepcopy(template.report)
                report.update(started=started.isoformat(), duration=(finished - started).seconds)
                report["applications"] = [
                    {
                        "name": app.name,
                        "owner": app.owner,
                        "priority": app.priority,
                        "classification": app.classification,
                        "repository": "main",
                        "sources": srcs,
                        "status": status.value,
                    }
                ]
                report["totals"] = {
                    "sources": len(srcs),
                    "succeeded": sum(s["status"] == "succeeded" for s in srcs),
                    "partial": 0,
                    "failed": sum(s["status"] == "failed" for s in srcs),
                    "size": sum(s["size"] for s in srcs),
                    "data_added": sum(s["data_added"] for s in srcs),
                }
                checklist = copy.deepcopy(template.checklist)
                checklist.update(started=started.isoformat(), apps=[app.name])
                report["checks"] = checklist
                runs.append(
                    Run(
                        application=app,
                        trigger=Trigger.SCHEDULE,
                        status=status,
                        scheduled_for=dt.datetime.combine(day, dt.time(1, 0), zone),
                        queued_at=started - dt.timedelta(seconds=1),
                        started_at=started,
                        finished_at=finished,
                        progress="",
                        checklist=checklist,
                        report=report,
                        error="" if status == RunStatus.SUCCEEDED else srcs[0]["error"],
                        hostname="srv-backup-01",
                    )
                )
                meta.append((app, srcs, operator))
            Run.objects.bulk_create(runs)
            source_rows: list[SourceRun] = []
            forms: list[BackupExecutionForm] = []
            plans: list[FormPlan] = []
            notes: list[Notification] = []
            for run, (app, srcs, operator) in zip(runs, meta, strict=True):
                assert run.pk is not None, "bulk_create must return primary keys"
                assert run.finished_at is not None and run.started_at is not None
                for s in srcs:
                    source_rows.append(
                        SourceRun(
                            run=run,
                            source=s["source"],
                            kind=s["kind"],
                            repository=s["repository"],
                            status=s["status"],
                            label=s["label"],
                            snapshot_id=s["snapshot_id"],
                            started_at=dt.datetime.fromisoformat(s["started"]),
                            duration=s["duration"],
                            files=s["files"],
                            size=s["size"],
                            data_added=s["data_added"],
                            error=s["error"],
                            hint=s["hint"],
                            verified=s["verified"],
                            verification=s["verification"],
                        )
                    )
                trail.add(run.started_at, "", "run_started", f"run {run.pk}", {"app": app.name})
                trail.add(
                    run.finished_at,
                    "",
                    "run_finished",
                    f"run {run.pk}",
                    {"app": app.name, "status": run.status},
                )
                when = run.finished_at.astimezone(zone)
                seq = seq_by_year.get(when.year, 0) + 1
                seq_by_year[when.year] = seq
                month = when.date().replace(day=1)
                approval = approvals.get(month)
                fp = form_plan(
                    run.finished_at, now, approval.approved_at if approval else None, operator, rng
                )
                plans.append(fp)
                last_at = fp.steps[-1][2]
                forms.append(
                    BackupExecutionForm(
                        number=form_number(seq, when),
                        year=when.year,
                        seq=seq,
                        run=run,
                        application=app,
                        month=month,
                        state=fp.state,
                        filled={
                            "application": app.name,
                            "owner": app.owner,
                            "priority": app.priority,
                            "classification": app.classification,
                            "operator": "",
                            "trigger": run.trigger,
                            "hostname": run.hostname,
                            "started": run.started_at.isoformat(),
                            "finished": run.finished_at.isoformat(),
                            "status": run.status,
                            "error": run.error,
                            "checks": run.checklist,
                            "sources": [
                                {k: s[k] for k in ("source", "kind", "repository", "status")}
                                | {
                                    k: s[k]
                                    for k in (
                                        "label",
                                        "snapshot_id",
                                        "size",
                                        "data_added",
                                        "files",
                                        "duration",
                                        "error",
                                        "verified",
                                        "verification",
                                    )
                                }
                                for s in srcs
                            ],
                            "copies": [],
                            "retention": run.report["retention"] if run.report else [],
                        },
                        created_at=run.finished_at,
                        state_since=last_at,
                        operator_remarks=fp.remarks,
                        return_reason=fp.return_reason,
                    )
                )
                if fp.state == FormState.APPROVED:
                    form_count[month] = form_count.get(month, 0) + 1
                if run.status != RunStatus.SUCCEEDED:
                    for who in ("kasi", "kabid"):
                        notes.append(
                            Notification(
                                event=Event.BACKUP_FAILED,
                                channel=Channel.EMAIL,
                                recipient=f"{who}@example.go.id",
                                subject=f"[Cadang] Pencadangan {app.name} gagal",
                                body=f"Run {run.pk} aplikasi {app.name}: {run.error}",
                                payload={"run": run.pk, "application": app.name},
                                dedupe_key=f"backup_failed:{run.pk}",
                                created_at=run.finished_at,
                                sent_at=run.finished_at + dt.timedelta(seconds=2),
                                delivered=True,
                            )
                        )
            SourceRun.objects.bulk_create(source_rows, batch_size=BATCH)
            BackupExecutionForm.objects.bulk_create(forms, batch_size=BATCH)
            Notification.objects.bulk_create(notes, batch_size=BATCH)
            steps: list[FormStep] = []
            for form, fp in zip(forms, plans, strict=True):
                for step, who, at, remarks, std, actual in fp.steps:
                    approval = approvals.get(form.month) if step == Step.APPROVED else None
                    steps.append(
                        FormStep(
                            form=form,
                            step=step,
                            user=users[who] if who else None,
                            at=at,
                            remarks=remarks,
                            standard_minutes=std,
                            actual_minutes=actual,
                            approval=approval,
                        )
                    )
                    if step != Step.APPROVED:
                        trail.add(at, who or "", f"form_{step}", form.number, {"run": form.run_id})
            FormStep.objects.bulk_create(steps, batch_size=BATCH)
            counts.runs += len(runs)
            counts.source_runs += len(source_rows)
            counts.forms += len(forms)
            counts.form_steps += len(steps)
            counts.notifications += len(notes)
            if day_index % 30 == 0:
                echo(f"  {day}: {counts.runs} runs so far")
        for month, approval in approvals.items():
            approval.form_count = form_count.get(month, 0)
            approval.save(update_fields=["form_count"])
            trail.add(
                approval.approved_at,
                "kabid",
                "month_approved",
                f"{month:%Y-%m}",
                {"forms": approval.form_count},
            )
        counts.audit_entries = trail.write()
    return counts

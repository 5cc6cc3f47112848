"""The audit log's pages: the entries, newest first, with filters; checking the chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from cadang.server.accounts.roles import role_required
from cadang.server.audit.chain import verify_chain
from cadang.server.audit.log import record
from cadang.server.audit.models import AuditEntry
from cadang.server.audit.wording import describe

PER_PAGE = 50
ACTIONS_CACHE_SECONDS = 300


class EntryFilter(forms.Form):
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["action"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("any")), *((a, a) for a in known_actions())]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the office's time zone: dates on the page are office dates."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered_entries(form: EntryFilter) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-seq")
    if not form.is_valid():
        return entries
    data = form.cleaned_data
    if data["actor"]:
        entries = entries.filter(actor__icontains=data["actor"].strip())
    if data["action"]:
        entries = entries.filter(action=data["action"])
    if data["since"]:
        entries = entries.filter(at__gte=_day_start(data["since"]))
    if data["until"]:
        entries = entries.filter(at__lt=_day_start(data["until"] + dt.timedelta(days=1)))
    return entries


def known_actions() -> list[str]:
    """The actions in the log, for the filter. A DISTINCT over the whole log is a full scan
    (hundreds of thousands of entries after a year), so the list is kept for five minutes."""

    def scan() -> list[str]:
        rows = AuditEntry.objects.order_by("action").values_list("action", flat=True)
        return list(rows.distinct())

    actions = cache.get_or_set("cadang-audit-actions", scan, ACTIONS_CACHE_SECONDS)
    return list(actions or [])


class LogPaginator(Paginator):  # type: ignore[type-arg]
    """Counts the unfiltered log by its newest entry's number: the log is append-only and
    numbered from 1 without gaps, and COUNT(*) would read every entry. (A log with a gap was
    tampered with; `cadang audit verify` says so, and the count is then off by the gap.)"""

    @cached_property
    def count(self) -> int:
        last = AuditEntry.objects.aggregate(last=Max("seq"))["last"]
        return int(last or 0)


def _page(request: HttpRequest, entries: QuerySet[AuditEntry], filtered: bool) -> Page[AuditEntry]:
    paginator = Paginator(entries, PER_PAGE) if filtered else LogPaginator(entries, PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


@role_required("view_audit")
def entry_list(request: HttpRequest) -> HttpResponse:
    form = EntryFilter(request.GET or None)
    filtered = form.is_valid() and any(form.cleaned_data.values())
    page = _page(request, filtered_entries(form), filtered)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@role_required("view_audit")
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    report = verify_chain()
    record(
        "audit_chain_verified",
        user=request.user,
        details={
            "entries": report.entries,
            "intact": report.intact,
            "problems": report.problem_count,
        },
    )
    return render(
        request,
        "audit/verify.html",
        {
            "report": report,
            "problems": [describe(p) for p in report.problems],
            "notes": [describe(p) for p in report.notes],
            "more": report.problem_count - len(report.problems),
        },
    )

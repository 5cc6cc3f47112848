"""The month's report (SOP 003), the Kabid's approval of it, its summary for the Kadis."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cadang.server.accounts.models import Role
from cadang.server.accounts.roles import can, role_of, role_required, visible_applications
from cadang.server.approvals import document, report, workflow
from cadang.server.approvals.forms import RemarksForm
from cadang.server.approvals.models import FormState, FormStep, MonthlyApproval, Step
from cadang.server.approvals.months import month_is_over, month_start, next_month
from cadang.server.approvals.rows import wait_text
from cadang.server.approvals.standards import NEXT_STEP, all_standard_minutes, waiting

KEEP_SECONDS = 3600


def month_of(year: int, month: int) -> dt.date:
    """The first day of the month in the address; 404 for a month that does not exist."""
    if not (2000 <= year <= 9999 and 1 <= month <= 12):
        raise Http404(_("No such month."))
    return dt.date(year, month, 1)


@role_required("view_monthly_report")
def month_report(request: HttpRequest, year: int, month: int) -> HttpResponse:
    first = month_of(year, month)
    now = timezone.now()
    # Everyone who reads the month sees every application (a requesting unit does not read
    # it); were that to change, the unit's own applications limit the report.
    scope = visible_applications(request.user) if role_of(request.user) is Role.UNIT else None
    approval = MonthlyApproval.objects.select_related("approved_by").filter(month=first).first()
    approval_step = (
        FormStep.objects.filter(approval=approval, step=Step.APPROVED).first() if approval else None
    )
    context: dict[str, Any] = {
        "month": first,
        "approval": approval,
        "approval_step": approval_step,
        "report": None,
    }
    if approval is not None and scope is None:
        # An approved month's forms can change no more, and the Kadis and auditors read the
        # same months again and again: its report is rendered once an hour, not per request.
        stamp = approval.approved_at.timestamp()  # a test database may reuse an approval's id
        key = f"approvals:month:{first}:{approval.pk}:{stamp}:{get_language()}"
        body = cache.get(key)
        if body is None:
            context["report"] = report.build(first, scope)
            body = render_to_string("approvals/_month_body.html", context, request)
            cache.set(key, body, KEEP_SECONDS)
        context["body"] = mark_safe(body)  # noqa: S308 (our own rendered template)
        data = None
    else:
        data = report.build(first, scope)
        context["report"] = data
        context["body"] = render_to_string("approvals/_month_body.html", context, request)
    over = month_is_over(first, now)
    wait = None
    ready = data is not None and approval is None and over and data.all_verified
    if ready and data is not None and data.last_verified is not None:
        step = NEXT_STEP[FormState.VERIFIED]
        wait = wait_text(waiting(data.last_verified, step, now, all_standard_minutes()))
    previous = month_start(first - dt.timedelta(days=1))
    context.update(
        office=document.office_name(),
        over=over,
        wait=wait,
        can_approve=ready and can(request.user, "approve_month"),
        remarks_form=RemarksForm(),
        previous=previous,
        next=next_month(first),
    )
    return render(request, "approvals/month.html", context)


@role_required("approve_month")
@require_POST
def approve(request: HttpRequest, year: int, month: int) -> HttpResponse:
    first = month_of(year, month)
    data = RemarksForm(request.POST)
    if not data.is_valid():
        messages.error(request, _("The remarks are too long."))
    else:
        try:
            approval = workflow.approve_month(first, request.user, data.cleaned_data["remarks"])
        except workflow.WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("The month %(month)s is approved (%(count)d forms).")
                % {"month": first.strftime("%Y-%m"), "count": approval.form_count},
            )
    return redirect("approvals:month", year=first.year, month=first.month)

"""Pages of the forms: the list, one form as a document with its actions, the inbox.

A requesting unit sees only the forms of its own applications; another unit's form is a
404. Every action is a POST; a step that may not be taken becomes a message on the form's
page, never an error page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cadang.server.accounts.models import Role
from cadang.server.accounts.roles import can, role_of, role_required, visible_applications
from cadang.server.approvals import document, workflow
from cadang.server.approvals.forms import FilterForm, RemarksForm, ReturnForm
from cadang.server.approvals.models import BackupExecutionForm, FormState, MonthlyApproval
from cadang.server.approvals.months import month_start, ready_months
from cadang.server.approvals.rows import form_rows, wait_text
from cadang.server.approvals.standards import NEXT_STEP, all_standard_minutes, waiting

PER_PAGE = 50
LIST_FIELDS = (
    "number",
    "month",
    "state",
    "state_since",
    "created_at",
    "application__name",
    "application__owner",
    "run__status",
)


def visible_forms(request: HttpRequest) -> QuerySet[BackupExecutionForm]:
    """The forms the user may see, with only what a list shows (no frozen document)."""
    forms = BackupExecutionForm.objects.select_related("application", "run").only(*LIST_FIELDS)
    if role_of(request.user) is Role.UNIT:
        forms = forms.filter(application__in=visible_applications(request.user))
    return forms


def visible_form(request: HttpRequest, pk: int) -> BackupExecutionForm:
    """The form ``pk`` if the user may see it; 404 for another unit's form."""
    # The page shows the frozen document, not the run's own (large) JSON.
    forms = BackupExecutionForm.objects.select_related("application", "run").defer(
        "run__checklist", "run__report", "run__progress"
    )
    if role_of(request.user) is Role.UNIT:
        forms = forms.filter(application__in=visible_applications(request.user))
    return get_object_or_404(forms, pk=pk)


def page_of(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))


def form_page(request: HttpRequest, forms: QuerySet[BackupExecutionForm]) -> Any:
    """A page of ``forms`` (ordered): the page's ids first, then only those rows. A deep page
    of tens of thousands of forms then skips index entries, not joined rows."""
    page = page_of(request, forms.values_list("pk", flat=True))
    by_id = forms.order_by().in_bulk(list(page.object_list))
    page.object_list = [by_id[pk] for pk in page.object_list if pk in by_id]
    return page


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@role_required("view_forms")
def form_list(request: HttpRequest) -> HttpResponse:
    names = list(
        visible_applications(request.user)
        .order_by("position", "name")
        .values_list("name", flat=True)
    )
    filters = FilterForm(request.GET or None, applications=names)
    forms = visible_forms(request)
    month = None
    if filters.is_valid():
        month = filters.cleaned_data["month"]
        if month is not None:
            forms = forms.filter(month=month)
        if filters.cleaned_data["state"]:
            forms = forms.filter(state=filters.cleaned_data["state"])
        if filters.cleaned_data["application"]:
            forms = forms.filter(application__name=filters.cleaned_data["application"])
    page = form_page(request, forms.order_by("-created_at", "-id"))
    chosen = filters.data if filters.is_bound else {}
    return render(
        request,
        "approvals/list.html",
        {
            "filters": filters,
            "applications": names,
            "states": FormState.choices,
            "chosen_state": chosen.get("state", ""),
            "chosen_application": chosen.get("application", ""),
            "chosen_month": chosen.get("month", ""),
            "page": page,
            "rows": form_rows(page.object_list),
            "query": query_without_page(request),
            # The month report linked: the chosen month, or the last month that has ended.
            "report_month": month
            or month_start(month_start(timezone.localdate()) - dt.timedelta(days=1)),
        },
    )


@role_required("view_forms")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    form = visible_form(request, pk)
    doc = document.build(form)
    state = FormState(form.state)
    user = request.user
    return render(
        request,
        "approvals/detail.html",
        {
            "doc": doc,
            "form": form,
            "can_confirm": can(user, "confirm_form")
            and state in (FormState.AWAITING_CONFIRMATION, FormState.RETURNED),
            "can_verify": can(user, "verify_form")
            and state == FormState.AWAITING_VERIFICATION
            and (doc.confirmed_by is None or doc.confirmed_by.pk != user.pk),
            "can_see_month": can(user, "view_monthly_report"),
            "remarks_form": RemarksForm(),
            "return_form": ReturnForm(),
        },
    )


def _first_error(form: Any) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return _("The input is not valid.")


def _take_step(
    request: HttpRequest,
    pk: int,
    data: RemarksForm | ReturnForm,
    step: Callable[[BackupExecutionForm, Any, str], object],
    field: str,
    done: str,
) -> HttpResponse:
    """One step of the chain from a POSTed form: the step's own checks (state, role,
    separation of duties) decide; their refusal, or bad input, becomes a message."""
    form = visible_form(request, pk)
    if not data.is_valid():
        messages.error(request, _first_error(data))
    else:
        try:
            step(form, request.user, data.cleaned_data[field])
        except workflow.WorkflowError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done % {"number": form.number})
    return redirect("approvals:detail", pk=form.pk)


@role_required("confirm_form")
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(
        request,
        pk,
        RemarksForm(request.POST),
        workflow.confirm,
        "remarks",
        _("Form %(number)s confirmed."),
    )


@role_required("verify_form")
@require_POST
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(
        request,
        pk,
        RemarksForm(request.POST),
        workflow.verify,
        "remarks",
        _("Form %(number)s verified."),
    )


@role_required("verify_form")
@require_POST
def return_form(request: HttpRequest, pk: int) -> HttpResponse:
    return _take_step(
        request,
        pk,
        ReturnForm(request.POST),
        workflow.return_form,
        "reason",
        _("Form %(number)s returned to the operator."),
    )


# The states each role's inbox holds.
INBOX_STATES = {
    Role.OPERATOR: [FormState.AWAITING_CONFIRMATION, FormState.RETURNED],
    Role.CRYPTO: [FormState.AWAITING_CONFIRMATION, FormState.RETURNED],
    Role.VERIFIER: [FormState.AWAITING_VERIFICATION],
}


@role_required("view_forms")
def inbox(request: HttpRequest) -> HttpResponse:
    """What awaits the signed-in person, oldest first, with how long it has waited."""
    now = timezone.now()
    role = role_of(request.user)
    standards = all_standard_minutes()
    context: dict[str, Any] = {"role": role, "kind": "none"}
    if role in INBOX_STATES:
        forms = visible_forms(request).filter(state__in=INBOX_STATES[role])
        page = form_page(request, forms.order_by("state_since", "id"))
        context.update(kind="forms", page=page, rows=form_rows(page.object_list, now, standards))
    elif role is Role.APPROVER:
        step = NEXT_STEP[FormState.VERIFIED]
        context.update(
            kind="months",
            rows=[
                (m, wait_text(waiting(m.ready_since, step, now, standards)))
                for m in ready_months(now)
            ],
        )
    elif role is Role.HEAD:
        page = page_of(request, MonthlyApproval.objects.select_related("approved_by"))
        context.update(kind="summaries", page=page, rows=list(page.object_list))
    return render(request, "approvals/inbox.html", context)

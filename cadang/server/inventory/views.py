"""Pages of the inventory: the list, one application, its edit, the review; the plan's
import and export are in :mod:`cadang.server.inventory.transfer_views`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cadang.server.accounts.roles import can, role_required, visible_applications
from cadang.server.inventory.catalog import NoPlanError
from cadang.server.inventory.editing import EditRejected, current_values, save_edit
from cadang.server.inventory.forms import EditForm, ReviewForm
from cadang.server.inventory.listing import (
    Filters,
    application_rows,
    owners,
    run_link,
    secret_origin,
    source_settings,
    status_label,
)
from cadang.server.inventory.models import (
    CLASSIFICATION_CHOICES,
    PRIORITY_CHOICES,
    InventoryReview,
    OfficePlan,
)
from cadang.server.inventory.reviews import mark_reviewed, review_status
from cadang.server.runs.models import Run


@role_required("view_inventory")
def application_list(request: HttpRequest) -> HttpResponse:
    filters = Filters(
        priority=request.GET.get("priority", ""),
        owner=request.GET.get("owner", ""),
        removed=request.GET.get("removed") == "1",
    )
    # Labels translated once, not once per row: the page lists every application.
    priority_labels = {value: str(label) for value, label in PRIORITY_CHOICES}
    classification_labels = {value: str(label) for value, label in CLASSIFICATION_CHOICES}
    rows = [
        {
            "app": app,
            "priority_label": priority_labels.get(app.priority, app.priority),
            "classification_label": classification_labels.get(
                app.classification, app.classification
            ),
            "sources": len(app.config.get("sources") or []),
            "last_status": app.last_run_status,  # type: ignore[attr-defined]
            "last_status_label": status_label(app.last_run_status),  # type: ignore[attr-defined]
            "last_at": app.last_run_at,  # type: ignore[attr-defined]
        }
        for app in application_rows(request.user, filters)
    ]
    return render(
        request,
        "inventory/list.html",
        {
            "rows": rows,
            "filters": filters,
            "priorities": PRIORITY_CHOICES,
            "owners": owners(request.user),
            "review": review_status(timezone.now()),
            "review_form": ReviewForm() if can(request.user, "edit_inventory") else None,
            "office": OfficePlan.load(),
        },
    )


@role_required("view_inventory")
def detail(request: HttpRequest, name: str) -> HttpResponse:
    app = get_object_or_404(visible_applications(request.user), name=name)
    sources = [
        {
            "name": s.get("name", ""),
            "type": s.get("type", ""),
            "settings": source_settings(s),
            "secret": secret_origin(s),
        }
        for s in app.config.get("sources") or []
    ]
    runs = [
        {"run": run, "url": run_link(run.pk), "status_label": status_label(run.status)}
        for run in Run.objects.filter(application=app).order_by("-queued_at", "-id")[:20]
    ]
    return render(
        request,
        "inventory/detail.html",
        {
            "app": app,
            "values": current_values(app.config),
            "sources": sources,
            "changes": app.changes.select_related("changed_by")[:100],
            "runs": runs,
        },
    )


def _repositories() -> list[str]:
    office = OfficePlan.load()
    return [str(n) for n in (office.document.get("repositories") or {})] if office else []


@role_required("edit_inventory")
def edit(request: HttpRequest, name: str) -> HttpResponse:
    app = get_object_or_404(visible_applications(request.user), name=name)
    if not app.active:
        messages.error(request, _("This application is no longer in the plan."))
        return redirect("inventory:detail", name=app.name)
    repositories = _repositories()
    if request.method == "POST":
        form = EditForm(request.POST, repositories=repositories)
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
            try:
                changed = save_edit(app, values, form.cleaned_data["reason"], request.user)
            except EditRejected as exc:
                for problem in exc.problems:
                    form.add_error(problem.field, problem.message)
            except NoPlanError:
                form.add_error(None, _("The server holds no plan yet: import one first."))
            else:
                if changed:
                    messages.success(request, _("The changes were saved."))
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect("inventory:detail", name=app.name)
    else:
        form = EditForm(initial=current_values(app.config), repositories=repositories)
    return render(request, "inventory/edit.html", {"app": app, "form": form})


@role_required("edit_inventory")
@require_POST
def review(request: HttpRequest) -> HttpResponse:
    form = ReviewForm(request.POST)
    if form.is_valid():
        mark_reviewed(request.user, form.cleaned_data["remarks"], timezone.now())
        messages.success(request, _("The inventory was marked as reviewed."))
    else:
        messages.error(request, _("The review could not be recorded."))
    return redirect("inventory:list")


@role_required("view_inventory")
def reviews(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "inventory/reviews.html",
        {
            "reviews": InventoryReview.objects.select_related("reviewed_by")[:100],
            "review": review_status(timezone.now()),
        },
    )

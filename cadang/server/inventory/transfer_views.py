"""The plan in and out on the web: upload a plan file to import, download the export."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cadang.server.accounts.roles import role_required
from cadang.server.audit.log import record
from cadang.server.inventory.catalog import NoPlanError, current_plan
from cadang.server.inventory.exporter import plan_yaml
from cadang.server.inventory.forms import ImportForm
from cadang.server.inventory.importer import ImportResult
from cadang.server.inventory.uploads import import_upload


def _imported_message(result: ImportResult) -> str:
    c = result.counts
    return _(
        "The plan was imported: %(added)d application(s) added, %(updated)d updated, "
        "%(unchanged)d unchanged, %(removed)d removed; %(runs)d run(s) imported from the "
        "history."
    ) % {
        "added": c["added"],
        "updated": c["updated"],
        "unchanged": c["unchanged"],
        "removed": c["deactivated"] + c["removed"],
        "runs": c["runs_imported"],
    }


@role_required("import_plan")
def import_plan(request: HttpRequest) -> HttpResponse:
    problems = None
    name = ""
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["plan_file"]
            name = str(upload.name)
            outcome = import_upload(upload.chunks(), name, request.user, timezone.now())
            if isinstance(outcome, ImportResult):
                messages.success(request, _imported_message(outcome))
                return redirect("inventory:list")
            problems = outcome
    else:
        form = ImportForm()
    return render(
        request,
        "inventory/import.html",
        {"form": form, "problems": problems, "file_name": name},
    )


@role_required("export_plan")
def export_plan(request: HttpRequest) -> HttpResponse:
    try:
        plan = current_plan()
    except NoPlanError:
        messages.error(request, _("The server holds no plan yet: import one first."))
        return redirect("inventory:list")
    now = timezone.localtime()
    text = plan_yaml(plan, when=now)
    file_name = f"cadang-{plan.organization.code}-{now:%Y%m%d}.yaml"
    record("plan_exported", user=request.user, target=file_name)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response

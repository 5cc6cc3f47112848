"""The standard times (mutu baku) page: an administrator sets the minutes of each step."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cadang.server.accounts.roles import role_required
from cadang.server.approvals.forms import StandardTimesForm
from cadang.server.approvals.models import StandardTime, Step
from cadang.server.approvals.standards import EDITABLE, all_standard_minutes
from cadang.server.audit.log import record


@role_required("edit_settings")
def standard_times(request: HttpRequest) -> HttpResponse:
    current = all_standard_minutes()
    form = StandardTimesForm(request.POST or None, initial_minutes=current)
    if request.method == "POST" and form.is_valid():
        changed = 0
        for step in EDITABLE:
            minutes = int(form.cleaned_data[step.value])
            if minutes == current[step]:
                continue
            StandardTime.objects.update_or_create(step=step, defaults={"minutes": minutes})
            record(
                "standard_time_changed",
                user=request.user,
                target=step.value,
                details={"old": current[step], "new": minutes},
            )
            changed += 1
        if changed:
            messages.success(request, _("The standard times were saved."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect("approvals:standard_times")
    steps = [(Step(step), form[step.value]) for step in EDITABLE]
    return render(request, "approvals/standard_times.html", {"form": form, "steps": steps})

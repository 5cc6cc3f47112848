"""Pages of the runs app (placeholders until the app is built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cadang.server.accounts.roles import role_required


@role_required("view_runs")
def list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Runs"})


@role_required("edit_schedules")
def schedules(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Schedules"})

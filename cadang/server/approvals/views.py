"""Pages of the approvals app (placeholders until the app is built)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cadang.server.accounts.roles import role_required


@role_required("view_forms")
def list(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Forms"})


@role_required("view_forms")
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "placeholder.html", {"title": "Inbox"})

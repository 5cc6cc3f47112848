"""The home page: what the signed-in person should look at first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cadang.server.accounts.roles import role_required, visible_applications


@role_required("view_dashboard")
def home(request: HttpRequest) -> HttpResponse:
    apps = visible_applications(request.user).filter(active=True)
    return render(request, "home.html", {"applications": apps})

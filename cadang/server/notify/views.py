"""The notifications' pages: the log of everything sent, and the administrator's settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.validators import URLValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cadang.server.accounts.roles import role_required
from cadang.server.audit.log import record
from cadang.server.notify.dispatch import send_test
from cadang.server.notify.models import Channel, Event, Notification, NotifySettings

PER_PAGE = 50
SETTING_FIELDS = ("email_enabled", "webhook_url", "webhook_enabled")


class LogFilter(forms.Form):
    event = forms.ChoiceField(
        label=gettext_lazy("Event"),
        required=False,
        choices=[("", gettext_lazy("any")), *Event.choices],
    )
    delivered = forms.ChoiceField(
        label=gettext_lazy("Delivered"),
        required=False,
        choices=[
            ("", gettext_lazy("any")),
            ("yes", gettext_lazy("delivered")),
            ("no", gettext_lazy("not delivered")),
        ],
    )


@role_required("view_notifications")
def notification_list(request: HttpRequest) -> HttpResponse:
    form = LogFilter(request.GET or None)
    rows = Notification.objects.order_by("-created_at", "-id")
    if form.is_valid():
        if form.cleaned_data["event"]:
            rows = rows.filter(event=form.cleaned_data["event"])
        if form.cleaned_data["delivered"]:
            rows = rows.filter(delivered=form.cleaned_data["delivered"] == "yes")
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "notify/list.html", {"form": form, "page": page, "query": query.urlencode()}
    )


class SettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    # Only http(s): the webhook is a JSON POST (Django's URL field also takes ftp).
    webhook_url = forms.URLField(
        label=gettext_lazy("webhook URL"),
        required=False,
        max_length=200,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )

    class Meta:
        model = NotifySettings
        fields = list(SETTING_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("webhook_enabled") and not data.get("webhook_url"):
            self.add_error("webhook_url", _("Give the webhook's URL, or switch the webhook off."))
        return data


def _values(cfg: NotifySettings) -> dict[str, Any]:
    return {f: getattr(cfg, f) for f in SETTING_FIELDS}


@role_required("edit_settings")
def notify_settings(request: HttpRequest) -> HttpResponse:
    cfg = NotifySettings.load()
    if request.method == "POST":
        old = _values(cfg)
        form = SettingsForm(request.POST, instance=cfg)
        if form.is_valid():
            new = _values(form.save())
            if new != old:
                record(
                    "notify_settings_changed",
                    user=request.user,
                    target="notifications",
                    details={"old": old, "new": new},
                )
            messages.success(request, _("The notification settings were saved."))
            return redirect("notify:settings")
    else:
        form = SettingsForm(instance=cfg)
    return render(
        request,
        "notify/settings.html",
        {"form": form, "settings": cfg, "email": request.user.email},  # type: ignore[union-attr]
    )


@role_required("edit_settings")
@require_POST
def send_test_notification(request: HttpRequest) -> HttpResponse:
    email = str(getattr(request.user, "email", "") or "")
    sent = send_test(email)
    record(
        "notify_test_sent",
        user=request.user,
        target="notifications",
        details={
            "results": [
                {"channel": n.channel, "recipient": n.recipient, "delivered": n.delivered}
                for n in sent
            ]
        },
    )
    if not email:
        messages.warning(request, _("Your user has no e-mail address, so no test e-mail was sent."))
    if not sent:
        messages.error(request, _("Nothing to send to: no e-mail address and no webhook URL."))
    for n in sent:
        channel = _("e-mail") if n.channel == Channel.EMAIL else _("webhook")
        if n.delivered:
            messages.success(
                request,
                _("Test %(channel)s to %(recipient)s: delivered.")
                % {"channel": channel, "recipient": n.recipient},
            )
        else:
            messages.error(
                request,
                _("Test %(channel)s to %(recipient)s: not delivered (%(error)s).")
                % {"channel": channel, "recipient": n.recipient, "error": n.error},
            )
    return redirect("notify:settings")

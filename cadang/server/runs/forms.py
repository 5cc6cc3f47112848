"""The schedule form: when each priority's backups start, and how failures are retried."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from cadang.server.runs.models import Schedule
from cadang.server.runs.schedule import DAILY, MONTHLY, WEEKLY

FIELDS = ["time_of_day", "weekday", "day_of_month", "enabled", "retries", "retry_delay_minutes"]


class ScheduleForm(forms.ModelForm):  # type: ignore[type-arg]
    weekday = forms.TypedChoiceField(
        label=_("day of the week"),
        choices=[("", "—"), *((str(n), name) for n, name in WEEKDAYS.items())],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("weekly schedules"),
    )
    day_of_month = forms.IntegerField(
        label=_("day of the month"),
        min_value=1,
        max_value=28,  # every month has it
        required=False,
        help_text=_("monthly schedules: 1 to 28"),
    )
    retries = forms.IntegerField(label=_("retries of a failed source"), min_value=0, max_value=10)
    retry_delay_minutes = forms.IntegerField(
        label=_("minutes between retries"), min_value=1, max_value=24 * 60
    )

    class Meta:
        model = Schedule
        fields = FIELDS
        widgets = {"time_of_day": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        priority = self.instance.priority
        if priority == WEEKLY:
            if data.get("weekday") is None and "weekday" not in self.errors:
                self.add_error("weekday", _("A weekly schedule needs a day of the week."))
            data["day_of_month"] = None
        elif priority == MONTHLY:
            if data.get("day_of_month") is None and "day_of_month" not in self.errors:
                self.add_error(
                    "day_of_month", _("A monthly schedule needs a day of the month (1 to 28).")
                )
            data["weekday"] = None
        elif priority == DAILY:
            data["weekday"] = data["day_of_month"] = None
        return data


def schedule_values(schedule: Schedule) -> dict[str, Any]:
    """The editable values of a schedule, for the audit log."""
    values = {f: getattr(schedule, f) for f in FIELDS}
    values["time_of_day"] = schedule.time_of_day.strftime("%H:%M")
    return values

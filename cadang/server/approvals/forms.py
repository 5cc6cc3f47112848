"""The inputs of the approvals pages: the list's filter, remarks, a reason, standard times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cadang.server.approvals.models import FormState, Step
from cadang.server.approvals.standards import EDITABLE

MAX_TEXT = 2000


class MonthInput(forms.DateInput):
    input_type = "month"


class FilterForm(forms.Form):
    month = forms.CharField(
        label=_("Month"), required=False, widget=MonthInput(attrs={"placeholder": "2026-11"})
    )
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("any")), *FormState.choices]
    )
    application = forms.CharField(label=_("Application"), required=False, max_length=64)

    def __init__(self, *args: Any, applications: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.applications = applications

    def clean_application(self) -> str:
        name = str(self.cleaned_data.get("application") or "").strip()
        if name and name not in self.applications:
            raise forms.ValidationError(_("No such application."))
        return name

    def clean_month(self) -> dt.date | None:
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(
                _("Give the month as year and month, e.g. 2026-11.")
            ) from None


class RemarksForm(forms.Form):
    remarks = forms.CharField(
        label=_("Remarks"), required=False, max_length=MAX_TEXT, widget=forms.Textarea
    )


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for return"),
        max_length=MAX_TEXT,
        widget=forms.Textarea,
        error_messages={"required": _("Give the reason for returning the form.")},
    )


STEP_LABELS = {
    Step.CONFIRMED: _("Operator's confirmation (minutes)"),
    Step.VERIFIED: _("Kasi's verification or return (minutes)"),
    Step.APPROVED: _("Kabid's approval of the month (minutes)"),
}


class StandardTimesForm(forms.Form):
    """One number of minutes per step that people take."""

    def __init__(self, *args: Any, initial_minutes: dict[Step, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for step in EDITABLE:
            self.fields[step.value] = forms.IntegerField(
                label=STEP_LABELS[step],
                min_value=1,
                max_value=60 * 24 * 366,  # a year is more than any procedure allows
                initial=initial_minutes[step],
            )

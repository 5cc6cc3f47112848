"""Forms of the inventory pages. What a plan may say is decided by the plan's model
(:mod:`cadang.server.inventory.editing`), so the fields here only carry text."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cadang.server.inventory.models import CLASSIFICATION_CHOICES, PRIORITY_CHOICES

MAX_PLAN_BYTES = 2 * 1024 * 1024  # a plan of hundreds of applications is well below this


class EditForm(forms.Form):
    owner = forms.CharField(label=_("Owner (OPD)"), max_length=200)
    # Plain text behind a list: the plan's model, not the form, rejects what is not allowed.
    priority = forms.CharField(label=_("Priority"), widget=forms.Select(choices=PRIORITY_CHOICES))
    classification = forms.CharField(
        label=_("Classification"), widget=forms.Select(choices=CLASSIFICATION_CHOICES)
    )
    repository = forms.CharField(label=_("Repository"), required=False)
    service_stop = forms.CharField(
        label=_("Command that stops the service"), required=False, max_length=1000
    )
    service_start = forms.CharField(
        label=_("Command that starts the service"), required=False, max_length=1000
    )
    service_health = forms.CharField(
        label=_("Health check (command or http(s):// address)"), required=False, max_length=1000
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with each change in the inventory's history."),
        error_messages={"required": _("Give the reason for the change.")},
    )

    def __init__(self, *args: Any, repositories: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = repositories[0] if repositories else ""
        choices = [("", _("the first repository (%(name)s)") % {"name": default})]
        choices += [(name, name) for name in repositories]
        self.fields["repository"].widget = forms.Select(choices=choices)


class ImportForm(forms.Form):
    plan_file = forms.FileField(label=_("Plan file (cadang.yaml)"))

    def clean_plan_file(self) -> Any:
        upload = self.cleaned_data["plan_file"]
        if upload.size > MAX_PLAN_BYTES:
            raise forms.ValidationError(
                _("The file is too large for a plan (at most %(mib)s MiB).")
                % {"mib": MAX_PLAN_BYTES // (1024 * 1024)}
            )
        return upload


class ReviewForm(forms.Form):
    remarks = forms.CharField(
        label=_("Remarks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("e.g. the units that handed over their data, what was added or removed."),
    )

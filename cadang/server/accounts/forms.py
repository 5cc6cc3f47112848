"""The administrator's forms for people: a new user, and changes to one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cadang.server.accounts.models import Profile, Role


def _password_field(label: Any, required: bool) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class PersonFields(forms.Form):
    """What both forms ask: name, e-mail, role, unit, language."""

    full_name = forms.CharField(label=_("Full name"), required=False, max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    unit = forms.CharField(
        label=_("Unit (OPD)"),
        required=False,
        max_length=200,
        help_text=_("For a requesting unit: its owner name in the plan."),
        widget=forms.TextInput(attrs={"list": "owners"}),
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial="id")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("role") == Role.UNIT and not (data.get("unit") or "").strip():
            self.add_error("unit", _("A requesting unit needs its unit: the owner in the plan."))
        return data

    def check_passwords(self, first: str, second: str, user: User) -> None:
        """Both fields equal and acceptable to the password rules (errors on the first)."""
        password = self.cleaned_data.get(first) or ""
        again = self.cleaned_data.get(second) or ""
        if password != again:
            self.add_error(second, _("The two passwords differ."))
            return
        if password:
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                self.add_error(first, exc)


class NewUserForm(PersonFields):
    username = forms.CharField(
        label=_("User name"), max_length=150, validators=[UnicodeUsernameValidator()]
    )
    password1 = _password_field(_("Initial password"), required=True)
    password2 = _password_field(_("The same password again"), required=True)

    field_order = ["username", "full_name", "email", "role", "unit", "language"]

    def clean_username(self) -> str:
        name = str(self.cleaned_data["username"]).strip()
        if get_user_model().objects.filter(username__iexact=name).exists():
            raise ValidationError(_("A user with this name exists already."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, _sep, last = (data.get("full_name") or "").partition(" ")
        candidate = User(
            username=data.get("username") or "",
            email=data.get("email") or "",
            first_name=first,
            last_name=last,
        )
        self.check_passwords("password1", "password2", candidate)
        return data


class EditUserForm(PersonFields):
    is_active = forms.BooleanField(label=_("Active (may log in)"), required=False, initial=True)
    password1 = _password_field(_("New password (leave empty to keep it)"), required=False)
    password2 = _password_field(_("The same password again"), required=False)

    def __init__(self, *args: Any, user: User, editor: Any, **kwargs: Any) -> None:
        self.user = user
        self.editor = editor
        super().__init__(*args, **kwargs)

    @classmethod
    def initial_for(cls, user: User) -> dict[str, Any]:
        profile = Profile.objects.filter(user=user).first()
        return {
            "full_name": user.get_full_name(),
            "email": user.email,
            "role": profile.role if profile else "",
            "unit": profile.unit if profile else "",
            "language": profile.language if profile else "id",
            "is_active": user.is_active,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        stays_admin = data.get("role") == Role.ADMIN and data.get("is_active")
        if not stays_admin and self._is_admin(self.user):
            if self.user.pk == self.editor.pk:
                # Would lock the administrator out of this very page.
                raise ValidationError(_("You cannot take away your own administrator access."))
            others = Profile.objects.filter(role=Role.ADMIN, user__is_active=True).exclude(
                user=self.user
            )
            if not others.exists():
                raise ValidationError(_("This is the last active administrator."))
        self.check_passwords("password1", "password2", self.user)
        return data

    @staticmethod
    def _is_admin(user: User) -> bool:
        return user.is_active and Profile.objects.filter(user=user, role=Role.ADMIN).exists()

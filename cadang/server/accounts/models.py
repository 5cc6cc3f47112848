"""A person's role in the procedures, their unit and their language."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR = "operator", _("Operator (ADB / staff / Sandiman)")
    VERIFIER = "verifier", _("Verifier (Kasi)")
    APPROVER = "approver", _("Approver (Kabid)")
    HEAD = "head", _("Head of agency (Kadis)")
    UNIT = "unit", _("Requesting unit (OPD)")
    CRYPTO = "crypto", _("Cryptography officer")
    AUDITOR = "auditor", _("Auditor (read-only)")
    ADMIN = "admin", _("Administrator")


class Profile(models.Model):
    """One per user: the role decides every page and action (cadang.server.accounts.roles)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    # For a requesting unit: the owner (OPD) whose applications it may see, as in the plan.
    unit = models.CharField(_("unit"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="id"
    )
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role})"

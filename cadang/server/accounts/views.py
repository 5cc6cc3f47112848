"""Log in, log out, change the password, choose the language."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cadang.server.accounts.models import Profile
from cadang.server.audit.log import record


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        record("password_changed", user=self.request.user, target=self.request.user.get_username())
        messages.success(self.request, _("Your password was changed."))
        return response


@login_required
@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Keep the chosen language on the profile, so it follows the person."""
    lang = request.POST.get("language", "id")
    if lang in {code for code, _name in settings.LANGUAGES}:
        profile: Profile | None = getattr(request.user, "profile", None)
        if profile is not None and profile.language != lang:
            profile.language = lang
            profile.save(update_fields=["language"])
            record("language_changed", user=request.user, details={"language": lang})
    # Back to the page the switch was on, but never to another site (an open redirect).
    target = request.POST.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else "home")

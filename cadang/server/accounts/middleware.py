"""The language of every page: the person's profile, else Bahasa Indonesia.

Django's LocaleMiddleware would follow the browser's Accept-Language, and many browsers in
Indonesian offices are set to English; the procedures are in Indonesian, so the office's
language is the default and English is a per-person choice (profile, or before log-in the
language cookie set by the log-in page's switch).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def language_for(request: HttpRequest) -> str:
    if request.user.is_authenticated:
        profile = getattr(request.user, "profile", None)
        if profile is not None and profile.language in SUPPORTED:
            return str(profile.language)
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in SUPPORTED:
        return str(cookie)
    return str(settings.LANGUAGE_CODE)


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lang = language_for(request)
        request.LANGUAGE_CODE = lang
        # override() restores what was active before: the thread serves the next person next.
        with translation.override(lang):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        patch_vary_headers(response, ("Cookie",))
        return response

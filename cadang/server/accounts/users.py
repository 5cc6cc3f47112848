"""The administrator's pages for people: the list, a new user, changing one, unlocking one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cadang.errors import UsageError
from cadang.server.accounts.forms import EditUserForm, NewUserForm
from cadang.server.accounts.lockout import locked_usernames
from cadang.server.accounts.people import (
    NewPerson,
    PersonChange,
    change_person,
    create_person,
    unlock_person,
)
from cadang.server.accounts.roles import role_required
from cadang.server.inventory.models import Application


def _owners() -> list[str]:
    """The owners (OPD) in the inventory, offered for a requesting unit's field."""
    return list(Application.objects.order_by("owner").values_list("owner", flat=True).distinct())


@role_required("manage_users")
def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.select_related("profile").order_by("username")
    return render(request, "accounts/users.html", {"users": users, "locked": locked_usernames()})


@role_required("manage_users")
def user_new(request: HttpRequest) -> HttpResponse:
    form = NewUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            create_person(
                NewPerson(
                    username=d["username"],
                    role=d["role"],
                    password=d["password1"],
                    full_name=d["full_name"].strip(),
                    email=d["email"],
                    unit=d["unit"].strip() if d["role"] == "unit" else "",
                    language=d["language"],
                ),
                actor=request.user.get_username(),
            )
        except UsageError as exc:  # a race with another administrator, say
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("User %(name)s was created.") % {"name": d["username"]})
            return redirect("accounts:users")
    return render(
        request, "accounts/user_form.html", {"form": form, "owners": _owners(), "new": True}
    )


@role_required("manage_users")
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    if request.method == "POST":
        form = EditUserForm(request.POST, user=user, editor=request.user)
        if form.is_valid():
            d = form.cleaned_data
            changes = change_person(
                user,
                PersonChange(
                    full_name=d["full_name"],
                    email=d["email"],
                    role=d["role"],
                    unit=d["unit"],
                    language=d["language"],
                    is_active=d["is_active"],
                    password=d["password1"] or "",
                ),
                actor=request.user.get_username(),
            )
            if changes or d["password1"]:
                messages.success(
                    request, _("User %(name)s was changed.") % {"name": user.get_username()}
                )
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("accounts:users")
    else:
        form = EditUserForm(initial=EditUserForm.initial_for(user), user=user, editor=request.user)
    return render(
        request,
        "accounts/user_form.html",
        {
            "form": form,
            "owners": _owners(),
            "new": False,
            "person": user,
            "locked": user.get_username() in locked_usernames(),
        },
    )


@role_required("manage_users")
@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    count = unlock_person(user.get_username(), actor=request.user.get_username())
    messages.success(
        request,
        _("User %(name)s was unlocked (%(count)d failed log-ins cleared).")
        % {"name": user.get_username(), "count": count},
    )
    return redirect("accounts:user_edit", pk=user.pk)

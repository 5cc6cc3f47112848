from django.contrib.auth import views as auth_views
from django.urls import path

from cadang.server.accounts import users, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("language/", views.language, name="language"),
    path("users/", users.user_list, name="users"),
    path("users/new/", users.user_new, name="user_new"),
    path("users/<int:pk>/", users.user_edit, name="user_edit"),
    path("users/<int:pk>/unlock/", users.user_unlock, name="user_unlock"),
]

from django.urls import path

from cadang.server.approvals import month_views, standard_views, views

app_name = "approvals"
urlpatterns = [
    path("", views.form_list, name="list"),
    path("inbox/", views.inbox, name="inbox"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/verify/", views.verify, name="verify"),
    path("<int:pk>/return/", views.return_form, name="return"),
    path("month/<int:year>/<int:month>/", month_views.month_report, name="month"),
    path("month/<int:year>/<int:month>/approve/", month_views.approve, name="approve_month"),
    path("standard-times/", standard_views.standard_times, name="standard_times"),
]

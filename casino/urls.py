from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("casino.views.games")),
    path("", include("casino.views.sportsbook")),
    path("", include("promotions.views.codes")),
    path("", include("promotions.views.vendors")),
]

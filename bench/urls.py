"""The app's URLs plus one trivial view: the same server, middleware and process,
no database work. The HTTP scenario reports app endpoints as a ratio of it."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_http_methods


@require_http_methods(["GET"])
def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial/", trivial, name="bench_trivial"),
    path("", include("casino.urls")),
]

"""Sportsbook pages (filled in by the sportsbook work)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path


@login_required
def sportsbook(request):
    return render(request, "casino/sportsbook.html", {})


@login_required
def my_bets(request):
    return render(request, "casino/my_bets.html", {})


@login_required
def bet_detail(request, pk):
    raise Http404


urlpatterns = [
    path("sportsbook/", sportsbook, name="sportsbook"),
    path("bets/", my_bets, name="my_bets"),
    path("bets/<int:pk>/", bet_detail, name="bet_detail"),
]

"""Lobby, game and session pages (filled in by the game-session work)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path


@login_required
def lobby(request):
    return render(request, "casino/lobby.html", {})


@login_required
def game_detail(request, slug):
    raise Http404


@login_required
def session_detail(request, pk):
    raise Http404


urlpatterns = [
    path("", lobby, name="lobby"),
    path("games/<slug:slug>/", game_detail, name="game_detail"),
    path("sessions/<int:pk>/", session_detail, name="session_detail"),
]

"""Fixtures for the partitioned history tests (issue 20)."""

import pytest
from django.utils import timezone

from casino.demo import load_demo_games


@pytest.fixture
def fruit(db):
    return next(g for g in load_demo_games() if g.slug == "fruit-frenzy")


@pytest.fixture
def clock(monkeypatch):
    """``clock(at)`` sets the app's clock (``django.utils.timezone.now``) to ``at``; ``clock(None)``
    gives the real one back. The database's own now() is not moved (the app stamps its rows)."""
    real = timezone.now

    def set_to(at):
        monkeypatch.setattr(timezone, "now", real if at is None else (lambda: at))

    return set_to

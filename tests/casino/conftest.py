"""Fixtures shared by the casino tests: the demo machines, loaded through the service."""

import pytest

from casino.demo import load_demo_games


@pytest.fixture
def games(db):
    return {g.slug: g for g in load_demo_games()}


@pytest.fixture
def fruit(games):
    return games["fruit-frenzy"]


@pytest.fixture
def diamond(games):
    return games["diamond-sevens"]

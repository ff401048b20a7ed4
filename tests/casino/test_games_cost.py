"""Issue 13: the game page and the game admin form do bounded work per request."""

import json
from collections import Counter
from fractions import Fraction

import pytest
from django.urls import reverse

from casino import slots
from casino.demo import DEMO_GAMES
from casino.forms.games import GameAdminForm
from casino.models import Game
from tests.casino.test_slots import five_reel_twelve_symbol_game, too_complex_game


@pytest.fixture
def computations(monkeypatch):
    """Counts computations of a machine's theory (``compute_theory``) and rule-by-rule
    matching (what the old per-view enumeration did), from an empty machine cache."""
    calls = Counter()
    monkeypatch.setattr(slots, "_MACHINES", {})
    original_theory = getattr(slots, "compute_theory", None)
    original_matches = slots.Rule.matches

    def compute_theory(*args, **kwargs):
        calls["theory"] += 1
        return original_theory(*args, **kwargs)

    def matches(self, symbols):
        calls["matches"] += 1
        return original_matches(self, symbols)

    monkeypatch.setattr(slots, "compute_theory", compute_theory, raising=False)
    monkeypatch.setattr(slots.Rule, "matches", matches)
    return calls


def admin_form_data(reels, paytable, **overrides):
    return {
        "slug": "big-reels",
        "name": "Big Reels",
        "description": "",
        "min_stake": "0.10",
        "max_stake": "5.00",
        "reels": json.dumps(reels),
        "paytable": json.dumps(paytable),
        "is_active": "on",
        **overrides,
    }


def test_game_page_views_do_not_recompute_the_theory(player_client, fruit, computations):
    url = reverse("game_detail", args=[fruit.slug])
    assert player_client.get(url).status_code == 200
    assert computations["theory"] == 1  # the first view of this saved version computes it
    computations.clear()
    for _ in range(3):
        response = player_client.get(url)
        assert response.status_code == 200
        assert 'data-testid="rtp">94.80%<' in response.content.decode()
    assert computations == Counter()  # neither the theory nor any rule-by-rule matching again


def test_an_edited_game_is_computed_once_for_its_new_version(player_client, fruit, computations):
    url = reverse("game_detail", args=[fruit.slug])
    player_client.get(url)
    fruit.paytable = [*fruit.paytable[:-1], {**fruit.paytable[-1], "pays": fruit.paytable[-1]["pays"] + 1}]
    fruit.save()  # staff edit: a new saved version
    computations.clear()
    first = player_client.get(url).content.decode()
    player_client.get(url)
    assert computations["theory"] == 1
    assert 'data-testid="rtp">94.80%<' not in first


def test_game_page_of_a_five_reel_twelve_symbol_game_is_computed_once_without_enumerating(player_client, computations):
    reels, paytable = five_reel_twelve_symbol_game()
    form = GameAdminForm(data=admin_form_data(reels, paytable))
    assert form.is_valid(), form.errors
    game = form.save()
    assert computations["matches"] == 0  # validation did not enumerate 248,832 combinations
    computations.clear()
    url = reverse("game_detail", args=[game.slug])
    for _ in range(2):
        response = player_client.get(url)
        assert response.status_code == 200
        assert 'data-testid="rtp">95.51%<' in response.content.decode()
    assert computations == Counter({"theory": 1})


def test_admin_form_refuses_a_paytable_too_complex_to_compute(db, monkeypatch):
    steps = Counter()
    original = slots._keep_up_to_certain

    def counted(live, certain):
        steps["n"] += 1
        return original(live, certain)

    monkeypatch.setattr(slots, "_keep_up_to_certain", counted)
    reels, paytable = too_complex_game()
    form = GameAdminForm(data=admin_form_data(reels, paytable))
    assert not form.is_valid()
    assert any("too complex to compute its exact RTP" in m for m in form.errors["paytable"]), form.errors
    assert steps["n"] <= slots.MAX_THEORY_STEPS  # the refusal itself did bounded work
    assert not Game.objects.filter(slug="big-reels").exists()


@pytest.mark.parametrize("demo", DEMO_GAMES, ids=lambda g: g["slug"])
def test_admin_form_still_accepts_the_demo_machines_with_their_exact_rtp(db, demo):
    form = GameAdminForm(data=admin_form_data(demo["reels"], demo["paytable"], slug=demo["slug"]))
    assert form.is_valid(), form.errors
    assert (
        form.machine.rtp == {"fruit-frenzy": Fraction(1441, 1520), "diamond-sevens": Fraction(6587, 6912)}[demo["slug"]]
    )

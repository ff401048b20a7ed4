"""Slot maths: exact RTP from reel strips and paytable, validation, RNG fairness."""

import itertools
import math
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest

from casino import slots
from casino.demo import DEMO_GAMES
from casino.slots import Machine, PaytableError, percent, validate

FRUIT, DIAMOND = DEMO_GAMES

REELS = [["a", "b", "c", "c"], ["a", "b", "c", "c"], ["a", "b", "c", "c"]]


def brute_force_rtp(machine: Machine) -> Fraction:
    """Independent check: every stop combination, one by one."""
    total = sum(
        machine.outcome(stops).multiplier for stops in itertools.product(*(range(len(r)) for r in machine.reels))
    )
    return Fraction(total, math.prod(len(r) for r in machine.reels))


def test_rtp_of_a_small_machine_is_exact():
    machine = Machine.from_data(
        REELS, [{"line": ["a", "a", "a"], "pays": 40}, {"line": ["c", "c", "*"], "pays": 2}], check_rtp=False
    )
    # P(aaa) = 1/64 pays 40; P(cc*) = 1/4 pays 2 -> 40/64 + 2/4 = 9/8
    assert machine.rtp == Fraction(40, 64) + Fraction(1, 2)
    assert machine.rtp == brute_force_rtp(machine)
    assert machine.hit_frequency == Fraction(1, 64) + Fraction(1, 4)


def test_highest_paying_rule_wins_whatever_the_order():
    table = [{"line": ["c", "*", "*"], "pays": 1}, {"line": ["c", "c", "c"], "pays": 10}]
    machine = Machine.from_data(REELS, table, check_rtp=False)
    reversed_machine = Machine.from_data(REELS, list(reversed(table)), check_rtp=False)
    assert machine.multiplier(("c", "c", "c")) == 10
    assert machine.multiplier(("c", "a", "b")) == 1
    assert machine.multiplier(("a", "c", "c")) == 0
    assert machine.rtp == reversed_machine.rtp == brute_force_rtp(machine)


@pytest.mark.parametrize("demo", DEMO_GAMES, ids=lambda g: g["slug"])
def test_demo_games_rtp_is_exact_and_published(demo):
    machine = validate(demo["reels"], demo["paytable"])
    assert machine.rtp == brute_force_rtp(machine)
    assert slots.MIN_RTP <= machine.rtp <= slots.MAX_RTP
    assert sum(p for _, p in machine.rule_probabilities()) == machine.hit_frequency


def test_demo_games_documented_rtps():
    assert validate(FRUIT["reels"], FRUIT["paytable"]).rtp == Fraction(1441, 1520)
    assert percent(Fraction(1441, 1520)) == "94.80%"
    assert validate(DIAMOND["reels"], DIAMOND["paytable"]).rtp == Fraction(6587, 6912)
    assert percent(Fraction(6587, 6912)) == "95.30%"


def test_demo_games_differ():
    assert FRUIT["paytable"] != DIAMOND["paytable"]
    assert (FRUIT["min_stake"], FRUIT["max_stake"]) != (DIAMOND["min_stake"], DIAMOND["max_stake"])


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMO_GAMES, ids=lambda g: g["slug"])
def test_simulated_rtp_lands_within_tolerance(demo):
    """10^5 real (secrets) spins: the observed return is within 4.5 standard errors
    of the exact RTP. The standard error comes from the exact variance: about
    +-7.1 points for Fruit Frenzy (sd 5.0) and +-14.4 for Diamond Sevens (sd 10.1);
    a fair machine fails this with probability below 1e-5."""
    machine = validate(demo["reels"], demo["paytable"])
    n = 100_000
    returned = sum(machine.spin().multiplier for _ in range(n))
    tolerance = 4.5 * math.sqrt(machine.variance) / math.sqrt(n)
    assert abs(returned / n - float(machine.rtp)) < tolerance


@pytest.mark.slow
def test_every_stop_is_reachable_and_roughly_uniform():
    machine = validate(FRUIT["reels"], FRUIT["paytable"])
    counts = Counter(machine.spin().stops[0] for _ in range(20_000))
    length = len(machine.reels[0])
    assert set(counts) == set(range(length))
    expected = 20_000 / length
    assert all(abs(c - expected) < 6 * math.sqrt(expected) for c in counts.values())


def test_outcome_wins_are_exact_cents():
    machine = validate(FRUIT["reels"], FRUIT["paytable"])
    sevens = tuple(reel.index("seven") for reel in machine.reels)
    outcome = machine.outcome(sevens)
    assert outcome.symbols == ("seven", "seven", "seven")
    assert outcome.win_for(Decimal("0.10")) == Decimal("30.00")


@pytest.mark.parametrize(
    ("reels", "paytable", "field", "fragment"),
    [
        ("cherry", [{"line": ["a"], "pays": 1}], "reels", "list of reel strips"),
        ([["a", "b"], ["a", "b"]], [{"line": ["a", "a"], "pays": 1}], "reels", "3 to 5 reels"),
        ([["a"], ["a", "b"], ["a", "b"]], [{"line": ["a", "a", "a"], "pays": 1}], "reels", "Reel 1 must have 2"),
        ([["A!", "b"], ["a", "b"], ["a", "b"]], [{"line": ["b", "b", "b"], "pays": 1}], "reels", "invalid symbol"),
        ([["a", "b"]] * 3, [], "paytable", "non-empty list"),
        ([["a", "b"]] * 3, [{"line": ["a", "a"], "pays": 2}], "paytable", "machine has 3 reels"),
        ([["a", "b"]] * 3, [{"line": ["a", "a", "a"], "pays": 0}], "paytable", "whole number"),
        ([["a", "b"]] * 3, [{"line": ["a", "a", "a"], "pays": 1.5}], "paytable", "whole number"),
        ([["a", "b"]] * 3, [{"line": ["a", "a", "a"], "pays": "7"}], "paytable", "whole number"),
        ([["a", "b"]] * 3, [{"line": ["a", "a", "a"], "pays": True}], "paytable", "whole number"),
        ([["a", "b"]] * 3, [{"line": ["*", "*", "*"], "pays": 1}], "paytable", "every spin"),
        ([["a", "b"]] * 3, [{"line": ["z", "a", "a"], "pays": 1}], "paytable", "not on reel 1"),
        ([["a", "b"]] * 3, [{"line": ["a", "a", "a"], "pays": 1, "x": 1}], "paytable", "exactly the keys"),
        ([["a", "b"]] * 3, [{"line": ["a", "a", "a"], "pays": 1}] * 2, "paytable", "appears twice"),
        ([["a", "b"]] * 3, [{"line": ["a", "*", "*"], "pays": 1}], "paytable", "RTP would be 50.00%"),
        ([["a", "b"]] * 3, [{"line": ["a", "*", "*"], "pays": 3}], "paytable", "RTP would be 150.00%"),
    ],
)
def test_invalid_machines_are_refused_with_clear_messages(reels, paytable, field, fragment):
    with pytest.raises(PaytableError) as info:
        validate(reels, paytable)
    assert field in info.value.errors
    assert any(fragment in message for message in info.value.errors[field]), info.value.errors


def test_icons_fall_back_to_names():
    assert slots.icon("seven") == "7️⃣"
    assert slots.icon("mystery") == "mystery"
    assert slots.icon("*") == "✱" and slots.symbol_name("*") == "any"


@pytest.mark.django_db
def test_machine_is_built_once_per_saved_game_version_and_rebuilt_after_an_edit(fruit):
    from casino.models import Game

    first = Machine.for_game(fruit)
    assert Machine.for_game(Game.objects.get(pk=fruit.pk)) is first  # same saved version: cached
    fruit.paytable = [*fruit.paytable[:-1], {**fruit.paytable[-1], "pays": fruit.paytable[-1]["pays"] + 1}]
    fruit.save()  # staff edit: updated_at moves on
    edited = Machine.for_game(Game.objects.get(pk=fruit.pk))
    assert edited is not first
    assert edited.rtp != first.rtp

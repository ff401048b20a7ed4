"""Slot maths: exact RTP from reel strips and paytable, validation, RNG fairness."""

import itertools
import math
import random
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


# The simulated RTP and the uniformity of the stops are tested on the derived spins the
# machine actually plays (provably fair, issue 17): tests/casino/test_fair.py.


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


# --- cost: the theory is computed, not enumerated, and its cost is bounded (issue 13) -------------
TWELVE = ["cherry", "lemon", "orange", "plum", "melon", "bell", "bar", "seven", "diamond", "star", "crown", "clover"]


def five_reel_twelve_symbol_game() -> tuple[list[list[str]], list[dict]]:
    """A plausible video slot: 5 reels of 78 stops, 12 symbols from common to rare, and
    3/4/5 of a kind from the left for each symbol (36 rules). 12^5 = 248,832 symbol combinations."""
    strip = [sym for i, sym in enumerate(TWELVE) for _ in range(12 - i)]
    reels = [strip[r:] + strip[:r] for r in range(5)]
    paytable = []
    for i, sym in enumerate(TWELVE):
        paytable += [
            {"line": [sym] * 5, "pays": (i + 1) * 320},
            {"line": [sym] * 4 + ["*"], "pays": (i + 1) * 64},
            {"line": [sym] * 3 + ["*", "*"], "pays": (i + 1) * 16},
        ]
    return reels, paytable


def too_complex_game(k: int = 20) -> tuple[list[list[str]], list[dict]]:
    """Rules pairing one symbol on reel i (1-4) with one on reel 5: the sets of rules still
    live after reel 4 are all combinations of the first four symbols (21^4), so the exact
    computation needs ~4 million steps."""
    syms = [f"s{i}" for i in range(k + 1)]
    paytable = []
    for i in range(4):
        for j in range(k):
            line = ["*"] * 5
            line[i], line[4] = syms[j], syms[(j + i) % k]
            paytable.append({"line": line, "pays": 1 + i * k + j})
    return [syms[:] for _ in range(5)], paytable


@pytest.fixture
def no_enumeration(monkeypatch):
    """Fail fast if anything matches rules combination by combination (the old enumeration
    called ``Rule.matches`` once per rule per symbol combination)."""
    calls = Counter()
    original = slots.Rule.matches

    def matches(self, symbols):
        calls["matches"] += 1
        if calls["matches"] > 10_000:
            raise AssertionError("the theory enumerates symbol combinations")
        return original(self, symbols)

    monkeypatch.setattr(slots.Rule, "matches", matches)
    return calls


def test_five_reel_twelve_symbol_game_is_computed_exactly_in_a_bounded_number_of_steps(no_enumeration):
    reels, paytable = five_reel_twelve_symbol_game()
    machine = validate(reels, paytable)
    theory = machine.theory
    assert math.prod(len(set(strip)) for strip in reels) == 248_832  # what the old code enumerated
    assert theory.steps < 1_000
    assert no_enumeration["matches"] == 0
    # Independent closed form: a line matches rules of one symbol only (its first three reels),
    # and 5 of a kind pays more than 4, which pays more than 3.
    expected = Fraction(0)
    for sym, five, four, three in zip(TWELVE, paytable[0::3], paytable[1::3], paytable[2::3], strict=True):
        p = [Fraction(strip.count(sym), len(strip)) for strip in reels]
        expected += five["pays"] * p[0] * p[1] * p[2] * p[3] * p[4]
        expected += four["pays"] * p[0] * p[1] * p[2] * p[3] * (1 - p[4])
        expected += three["pays"] * p[0] * p[1] * p[2] * (1 - p[3])
    assert machine.rtp == expected
    assert percent(machine.rtp) == "95.51%"
    assert sum(p for _, p in machine.rule_probabilities()) == machine.hit_frequency


def test_a_paytable_too_complex_to_compute_is_refused_after_bounded_work(monkeypatch, no_enumeration):
    transitions = Counter()
    original = slots._keep_up_to_certain

    def counted(live, certain):
        transitions["n"] += 1
        return original(live, certain)

    monkeypatch.setattr(slots, "_keep_up_to_certain", counted)
    reels, paytable = too_complex_game()
    with pytest.raises(slots.PaytableTooComplex) as info:
        validate(reels, paytable)
    assert any("too complex to compute its exact RTP" in m for m in info.value.errors["paytable"])
    assert f"{slots.MAX_THEORY_STEPS:,} steps" in str(info.value)
    assert transitions["n"] <= slots.MAX_THEORY_STEPS
    assert no_enumeration["matches"] == 0


def test_the_cost_bound_is_checked_before_the_work_not_after():
    reels, paytable = too_complex_game(k=8)
    steps = Machine.from_data(reels, paytable, check_rtp=False, max_steps=None).theory.steps
    assert 10_000 < steps < slots.MAX_THEORY_STEPS
    with pytest.raises(slots.PaytableTooComplex):
        Machine.from_data(reels, paytable, check_rtp=False, max_steps=steps - 1).theory  # noqa: B018
    assert Machine.from_data(reels, paytable, check_rtp=False, max_steps=steps).theory.steps == steps


@pytest.mark.parametrize("seed", range(200))
def test_theory_equals_enumeration_on_random_machines(seed):
    """Random small machines with wildcards anywhere and tied pays: every figure equals the
    stop-by-stop enumeration (the definition)."""
    rng = random.Random(seed)
    n = rng.randint(3, 4)
    syms = "abcde"[: rng.randint(2, 5)]
    reels = [[rng.choice(syms) for _ in range(rng.randint(2, 6))] for _ in range(n)]
    rules, seen = [], set()
    for _ in range(rng.randint(1, 10)):
        line = tuple(
            s if s == "*" or s in reels[i] else "*" for i, s in enumerate(rng.choice(syms + "**") for _ in range(n))
        )
        if set(line) != {"*"} and line not in seen:
            seen.add(line)
            rules.append({"line": list(line), "pays": rng.randint(1, 4)})
    if not rules:
        return
    machine = Machine.from_data(reels, rules, check_rtp=False)
    stops = list(itertools.product(*(range(len(r)) for r in machine.reels)))
    paid_by = Counter()
    for s in stops:
        symbols = tuple(strip[i] for strip, i in zip(machine.reels, s, strict=True))
        for rule in machine.rules:
            if rule.matches(symbols):
                paid_by[rule] += 1
                break
    assert machine.rule_probabilities() == [(r, Fraction(paid_by[r], len(stops))) for r in machine.rules]
    assert machine.rtp == brute_force_rtp(machine)
    wins = [machine.outcome(s).multiplier for s in stops]
    mean = Fraction(sum(wins), len(wins))
    assert machine.variance == sum((Fraction(w) - mean) ** 2 for w in wins) / len(wins)
    assert machine.hit_frequency == Fraction(sum(1 for w in wins if w), len(wins))


# --- how symbols and wins read on the pages (issue 15) ---------------------------------
def test_every_icon_is_labelled_with_what_it_shows():
    # The demo's "plum" has always been drawn as grapes: players read "grapes" beside 🍇.
    assert slots.icon("plum") == "🍇" and slots.symbol_name("plum") == "grapes"
    labels_by_icon: dict[str, set[str]] = {}
    for name in slots.SYMBOLS:
        labels_by_icon.setdefault(slots.icon(name), set()).add(slots.symbol_name(name))
    assert all(len(labels) == 1 for labels in labels_by_icon.values()), labels_by_icon
    assert slots.symbol_name("wild_card") == "wild card"  # an unknown symbol reads as its name


@pytest.mark.parametrize(
    ("win", "stake", "tier"),
    [
        ("0", "1", ""),
        ("1", "1", "small"),
        ("4.99", "1", "small"),
        ("5", "1", "big"),
        ("19.99", "1", "big"),
        ("20", "1", "huge"),
        ("100", "0.10", "huge"),
    ],
)
def test_a_win_is_celebrated_by_how_many_stakes_it_is(win, stake, tier):
    assert slots.win_tier(Decimal(win), Decimal(stake)) == tier

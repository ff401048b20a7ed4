"""Slot machine maths: reel strips, paytables, outcomes and the exact RTP.

A machine is a list of reel strips (each a list of symbol names) and a
paytable: rules ``{"line": [sym, sym, sym], "pays": multiplier}`` where a
symbol may be ``"*"`` (any symbol). One payline: the symbol at each reel's
stop. When several rules match a line, the **highest-paying** rule pays (so
the order of the rules does not matter). ``pays`` is a whole-number multiple
of the stake, so a win is always an exact number of cents and the theoretical
RTP below is exact for every stake.

The theoretical return to player is computed, never typed in: each reel stops
uniformly at random (``secrets.randbelow``), so
``RTP = sum over symbol combinations of P(combination) * pays`` with
``P = prod(count of symbol on reel i / length of reel i)`` as an exact
``Fraction``. Variance is computed the same way, which gives the simulation
test an honest tolerance.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

ANY = "*"
MIN_REELS, MAX_REELS = 3, 5
MAX_STRIP_LENGTH = 256
MAX_RULES = 100
MAX_MULTIPLIER = 100_000
# A paytable an operator may publish: the house keeps an edge, and the game is not a scam.
MIN_RTP = Fraction(80, 100)
MAX_RTP = Fraction(99, 100)
SYMBOL_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")

SYMBOL_ICONS = {
    "cherry": "🍒",
    "lemon": "🍋",
    "orange": "🍊",
    "plum": "🍇",
    "melon": "🍉",
    "bell": "🔔",
    "bar": "▬",
    "seven": "7️⃣",
    "diamond": "💎",
    "star": "⭐",
    "crown": "👑",
    "clover": "🍀",
    "blank": "·",
}


def icon(symbol: str) -> str:
    """What the page shows for a symbol (its name when it has no icon)."""
    if symbol == ANY:
        return "✱"
    return SYMBOL_ICONS.get(symbol, symbol)


def symbol_name(symbol: str) -> str:
    return "any" if symbol == ANY else symbol


class PaytableError(ValueError):
    """The reels or paytable cannot be played; ``errors`` maps field -> messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(msg for msgs in errors.values() for msg in msgs))


@dataclass(frozen=True)
class Rule:
    line: tuple[str, ...]
    pays: int

    def matches(self, symbols: tuple[str, ...]) -> bool:
        return all(want in (ANY, got) for want, got in zip(self.line, symbols, strict=True))

    @property
    def label(self) -> str:
        return " ".join(icon(s) for s in self.line)


@dataclass(frozen=True)
class Outcome:
    stops: tuple[int, ...]
    symbols: tuple[str, ...]
    multiplier: int

    def win_for(self, stake: Decimal) -> Decimal:
        return (stake * self.multiplier).quantize(Decimal("0.01"))


_MACHINES: dict[tuple, Machine] = {}
_MACHINES_KEPT = 256


class Machine:
    """A validated machine. Build with ``Machine.from_data`` (raises ``PaytableError``)."""

    def __init__(self, reels: tuple[tuple[str, ...], ...], rules: tuple[Rule, ...]):
        self.reels = reels
        self.rules = tuple(sorted(rules, key=lambda r: -r.pays))  # highest first: first match pays

    @classmethod
    def from_data(cls, reels, paytable, *, check_rtp: bool = True) -> Machine:
        errors: dict[str, list[str]] = {}
        parsed_reels = _parse_reels(reels, errors.setdefault("reels", []))
        rules = _parse_paytable(paytable, parsed_reels, errors.setdefault("paytable", []))
        errors = {k: v for k, v in errors.items() if v}
        if errors:
            raise PaytableError(errors)
        machine = cls(parsed_reels, rules)
        if check_rtp:
            rtp = machine.rtp
            if not MIN_RTP <= rtp <= MAX_RTP:
                raise PaytableError(
                    {
                        "paytable": [
                            f"The theoretical RTP would be {percent(rtp)}; it must be between "
                            f"{percent(MIN_RTP)} and {percent(MAX_RTP)}."
                        ]
                    }
                )
        return machine

    @classmethod
    def for_game(cls, game) -> Machine:
        # Games in the database were validated when saved; skip the RTP bound so a
        # tightened bound never makes a live game unplayable mid-session.
        # Built once per saved version of the game (``updated_at`` moves on every
        # edit), not once per spin.
        key = (game.pk, game.updated_at)
        if game.pk is None or game.updated_at is None:
            return cls.from_data(game.reels, game.paytable, check_rtp=False)
        machine = _MACHINES.get(key)
        if machine is None:
            machine = cls.from_data(game.reels, game.paytable, check_rtp=False)
            if len(_MACHINES) >= _MACHINES_KEPT:
                _MACHINES.clear()
            _MACHINES[key] = machine
        return machine

    # -- playing -------------------------------------------------------------
    def multiplier(self, symbols: tuple[str, ...]) -> int:
        for rule in self.rules:
            if rule.matches(symbols):
                return rule.pays
        return 0

    def outcome(self, stops: tuple[int, ...]) -> Outcome:
        symbols = tuple(strip[stop] for strip, stop in zip(self.reels, stops, strict=True))
        return Outcome(stops=stops, symbols=symbols, multiplier=self.multiplier(symbols))

    def spin(self) -> Outcome:
        """A fair spin from the operating system's CSPRNG."""
        return self.outcome(tuple(secrets.randbelow(len(strip)) for strip in self.reels))

    # -- theory --------------------------------------------------------------
    @cached_property
    def _distribution(self) -> dict[int, Fraction]:
        """{multiplier: exact probability}, enumerated over distinct symbol combinations."""
        counts = [Counter(strip) for strip in self.reels]
        lengths = [len(strip) for strip in self.reels]
        dist: dict[int, Fraction] = Counter()
        for combo in itertools.product(*(c.keys() for c in counts)):
            ways = 1
            for c, sym in zip(counts, combo, strict=True):
                ways *= c[sym]
            dist[self.multiplier(combo)] += Fraction(ways)
        total = 1
        for n in lengths:
            total *= n
        return {m: ways / total for m, ways in dist.items()}

    @property
    def rtp(self) -> Fraction:
        """Exact expected return per unit staked."""
        return sum((p * m for m, p in self._distribution.items()), Fraction(0))

    @property
    def variance(self) -> Fraction:
        """Exact variance of the return per unit staked."""
        mean = self.rtp
        return sum((p * (m - mean) ** 2 for m, p in self._distribution.items()), Fraction(0))

    @property
    def hit_frequency(self) -> Fraction:
        return sum((p for m, p in self._distribution.items() if m > 0), Fraction(0))

    def rule_probabilities(self) -> list[tuple[Rule, Fraction]]:
        """Each rule with the exact probability that it is the one that pays."""
        counts = [Counter(strip) for strip in self.reels]
        lengths = [len(strip) for strip in self.reels]
        total = 1
        for n in lengths:
            total *= n
        paying: Counter = Counter()
        for combo in itertools.product(*(c.keys() for c in counts)):
            for rule in self.rules:
                if rule.matches(combo):
                    ways = 1
                    for c, sym in zip(counts, combo, strict=True):
                        ways *= c[sym]
                    paying[rule] += ways
                    break
        return [(rule, Fraction(paying[rule], total)) for rule in self.rules]


def percent(value: Fraction, places: int = 2) -> str:
    """A fraction as a percentage string, e.g. Fraction(9512, 10000) -> '95.12%'."""
    scaled = Decimal(value.numerator * 100) / Decimal(value.denominator)
    return f"{scaled.quantize(Decimal(1).scaleb(-places))}%"


def validate(reels, paytable) -> Machine:
    """For forms and the admin: the machine, or ``PaytableError`` with field messages."""
    return Machine.from_data(reels, paytable)


def _parse_reels(reels, errors: list[str]) -> tuple[tuple[str, ...], ...]:
    if not isinstance(reels, list) or not all(isinstance(strip, list) for strip in reels):
        errors.append('Reels must be a list of reel strips, e.g. [["cherry", "bell"], ["cherry", "bar"], ...].')
        return ()
    if not MIN_REELS <= len(reels) <= MAX_REELS:
        errors.append(f"A machine has {MIN_REELS} to {MAX_REELS} reels (got {len(reels)}).")
    parsed = []
    for n, strip in enumerate(reels, start=1):
        if not 2 <= len(strip) <= MAX_STRIP_LENGTH:
            errors.append(f"Reel {n} must have 2 to {MAX_STRIP_LENGTH} stops (got {len(strip)}).")
        bad = sorted({repr(s) for s in strip if not (isinstance(s, str) and SYMBOL_RE.fullmatch(s))})
        if bad:
            errors.append(
                f"Reel {n} has invalid symbol names {', '.join(bad[:5])}: use lowercase letters, digits and "
                "underscores (max 20), starting with a letter."
            )
        parsed.append(tuple(s for s in strip if isinstance(s, str)))
    return tuple(parsed)


def _parse_paytable(paytable, reels: tuple[tuple[str, ...], ...], errors: list[str]) -> tuple[Rule, ...]:
    if not isinstance(paytable, list) or not paytable:
        errors.append(
            'The paytable must be a non-empty list of rules like {"line": ["seven", "seven", "seven"], "pays": 100}.'
        )
        return ()
    if len(paytable) > MAX_RULES:
        errors.append(f"At most {MAX_RULES} paytable rules (got {len(paytable)}).")
    rules: list[Rule] = []
    seen: set[tuple[str, ...]] = set()
    for n, rule in enumerate(paytable, start=1):
        if not isinstance(rule, dict) or set(rule) != {"line", "pays"}:
            errors.append(f'Rule {n}: must be an object with exactly the keys "line" and "pays".')
            continue
        line, pays = rule["line"], rule["pays"]
        if not isinstance(line, list) or not all(isinstance(s, str) for s in line):
            errors.append(f"Rule {n}: line must be a list of symbol names.")
            continue
        if reels and len(line) != len(reels):
            errors.append(f"Rule {n}: line has {len(line)} symbols but the machine has {len(reels)} reels.")
            continue
        if isinstance(pays, bool) or not isinstance(pays, int) or not 1 <= pays <= MAX_MULTIPLIER:
            errors.append(f"Rule {n}: pays must be a whole number from 1 to {MAX_MULTIPLIER} (times the stake).")
            continue
        if all(s == ANY for s in line):
            errors.append(f"Rule {n}: a line of only {ANY!r} would pay on every spin.")
            continue
        for reel_no, sym in enumerate(line, start=1):
            if sym != ANY and reels and sym not in reels[reel_no - 1]:
                errors.append(f"Rule {n}: symbol {sym!r} is not on reel {reel_no}, so this rule can never pay.")
        if tuple(line) in seen:
            errors.append(f"Rule {n}: the line {line} appears twice.")
        seen.add(tuple(line))
        rules.append(Rule(line=tuple(line), pays=pays))
    return tuple(rules)


# Demo games loaded by ``manage.py seed_demo``. Their RTPs are computed (see
# tests/casino/test_slots.py): Fruit Frenzy 1441/1520 = 94.80%,
# Diamond Sevens 6587/6912 = 95.30% (rarer, bigger wins).

"""Slot machine maths: reel strips, paytables, outcomes and the exact RTP.

A machine is a list of reel strips (each a list of symbol names) and a
paytable: rules ``{"line": [sym, sym, sym], "pays": multiplier}`` where a
symbol may be ``"*"`` (any symbol). One payline: the symbol at each reel's
stop. When several rules match a line, the **highest-paying** rule pays (so
the order of the rules does not matter). ``pays`` is a whole-number multiple
of the stake, so a win is always an exact number of cents and the theoretical
RTP below is exact for every stake.

The theoretical return to player is computed, never typed in: each reel stops
uniformly at random (derived from the session's seeds, ``casino.fair``: the one code
path, so a player can recompute every spin), so
``RTP = sum over symbol combinations of P(combination) * pays`` with
``P = prod(count of symbol on reel i / length of reel i)`` as an exact
``Fraction``. Variance is computed the same way, which gives the simulation
test an honest tolerance. ``compute_theory`` gets the same exact figures without
enumerating the combinations, and its cost is bounded (``MAX_THEORY_STEPS``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from casino import fair

ANY = "*"
MIN_REELS, MAX_REELS = 3, 5
MAX_STRIP_LENGTH = 256
MAX_RULES = 100
MAX_MULTIPLIER = 100_000
# The exact theory (RTP, hit frequency, odds of each rule) is computed, not enumerated
# (see ``compute_theory``). A paytable whose computation would take more steps than this
# is refused when validated, so validating a paytable costs at most ~0.2 s of CPU (a step
# is ~0.3 us). The demo games take about 100 steps, a 5-reel 12-symbol 3/4/5-of-a-kind
# table under 1,000 (enumerating its 12^5 combinations took ~25 s).
MAX_THEORY_STEPS = 500_000
# A paytable an operator may publish: the house keeps an edge, and the game is not a scam.
MIN_RTP = Fraction(80, 100)
MAX_RTP = Fraction(99, 100)
SYMBOL_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")

# symbol -> (icon, the label players read beside it). The label names what the icon shows:
# the demo games' "plum" has always been drawn as grapes (there is no plum emoji), so it
# reads "grapes"; the symbol name in the reels and paytable stays as saved.
SYMBOLS = {
    "cherry": ("🍒", "cherry"),
    "lemon": ("🍋", "lemon"),
    "orange": ("🍊", "orange"),
    "plum": ("🍇", "grapes"),
    "grapes": ("🍇", "grapes"),
    "melon": ("🍉", "melon"),
    "bell": ("🔔", "bell"),
    "bar": ("▬", "bar"),
    "seven": ("7️⃣", "seven"),
    "diamond": ("💎", "diamond"),
    "star": ("⭐", "star"),
    "crown": ("👑", "crown"),
    "clover": ("🍀", "clover"),
    "blank": ("·", "blank"),
}
SYMBOL_ICONS = {name: pair[0] for name, pair in SYMBOLS.items()}


def icon(symbol: str) -> str:
    """What the page shows for a symbol (its name when it has no icon)."""
    if symbol == ANY:
        return "✱"
    return SYMBOL_ICONS.get(symbol, symbol)


def symbol_name(symbol: str) -> str:
    """The label players read beside the icon (what the icon shows)."""
    if symbol == ANY:
        return "any"
    return SYMBOLS[symbol][1] if symbol in SYMBOLS else symbol.replace("_", " ")


# A win's celebration, by win ÷ stake: at least this many times the stake.
WIN_TIERS = ((20, "huge"), (5, "big"), (0, "small"))


def win_tier(win: Decimal, stake: Decimal) -> str:
    """ "" for no win, else "small", "big" or "huge" by how many stakes the win is."""
    if not win or win <= 0:
        return ""
    if not stake or stake <= 0:
        return "big"
    ratio = win / stake
    return next(tier for at_least, tier in WIN_TIERS if ratio >= at_least)


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
        return fair.win_amount(stake, self.multiplier)


_MACHINES: dict[tuple, Machine] = {}
_VERSIONS: dict[str, Machine] = {}  # game version digest -> machine
_MACHINES_KEPT = 256


class Machine:
    """A validated machine. Build with ``Machine.from_data`` (raises ``PaytableError``)."""

    def __init__(
        self,
        reels: tuple[tuple[str, ...], ...],
        rules: tuple[Rule, ...],
        *,
        max_steps: int | None = MAX_THEORY_STEPS,
    ):
        self.reels = reels
        self.rules = tuple(sorted(rules, key=lambda r: -r.pays))  # highest first: first match pays
        self.paying = tuple((rule.line, rule.pays) for rule in self.rules)  # as ``fair.line_multiple`` reads them
        self.lengths = tuple(len(strip) for strip in reels)
        self.max_steps = max_steps  # bound on computing ``theory``; None: unbounded

    @classmethod
    def from_data(cls, reels, paytable, *, check_rtp: bool = True, max_steps: int | None = MAX_THEORY_STEPS) -> Machine:
        errors: dict[str, list[str]] = {}
        parsed_reels = _parse_reels(reels, errors.setdefault("reels", []))
        rules = _parse_paytable(paytable, parsed_reels, errors.setdefault("paytable", []))
        errors = {k: v for k, v in errors.items() if v}
        if errors:
            raise PaytableError(errors)
        machine = cls(parsed_reels, rules, max_steps=max_steps)
        if check_rtp:
            rtp = machine.rtp  # raises PaytableTooComplex past max_steps
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
        # Games in the database were validated when saved; skip the RTP and cost bounds
        # so a tightened bound never makes a live game unplayable mid-session (a saved
        # game passed the cost bound of its day, and its theory is computed at most
        # once per version per process, below).
        # Built once per saved version of the game (``updated_at`` moves on every
        # edit), not once per spin; the theory (RTP, hit frequency, odds) is computed
        # lazily on the cached machine, so once per saved version, not per page view.
        key = (game.pk, game.updated_at)
        if game.pk is None or game.updated_at is None:
            return cls.from_data(game.reels, game.paytable, check_rtp=False, max_steps=None)
        machine = _MACHINES.get(key)
        if machine is None:
            machine = cls.from_data(game.reels, game.paytable, check_rtp=False, max_steps=None)
            if len(_MACHINES) >= _MACHINES_KEPT:
                _MACHINES.clear()
            _MACHINES[key] = machine
        return machine

    @classmethod
    def for_version(cls, version_id: int, *, digest: str) -> Machine:
        """The machine of a stored game version (``casino.models.GameVersion``): what a
        session is played on (issue 17). Cached by the version's content digest (the caller
        reads it with the session), so a cached machine is always the version's content."""
        machine = _VERSIONS.get(digest)
        if machine is None:
            from casino.models import GameVersion  # noqa: PLC0415 - slots maths imports no models at load

            reels, paytable = GameVersion.objects.values_list("reels", "paytable").get(pk=version_id)
            if fair.game_digest(reels, paytable) != digest:
                raise ValueError(f"game version {version_id} does not match its digest")
            machine = cls.from_data(reels, paytable, check_rtp=False, max_steps=None)
            if len(_VERSIONS) >= _MACHINES_KEPT:
                _VERSIONS.clear()
            _VERSIONS[digest] = machine
        return machine

    # -- playing -------------------------------------------------------------
    def multiplier(self, symbols: tuple[str, ...]) -> int:
        return fair.line_multiple(self.paying, symbols)

    def outcome(self, stops: tuple[int, ...]) -> Outcome:
        symbols = tuple(strip[stop] for strip, stop in zip(self.reels, stops, strict=True))
        return Outcome(stops=stops, symbols=symbols, multiplier=self.multiplier(symbols))

    def play(self, *, server_seed: str, client_seed: str, nonce: int) -> Outcome:
        """Spin ``nonce`` of a session: its stops derived from the session's seeds
        (``casino.fair``), the only way this machine is played."""
        return self.outcome(fair.derive_stops(server_seed, client_seed, nonce, self.lengths))

    # -- theory --------------------------------------------------------------
    @cached_property
    def theory(self) -> Theory:
        """Every derived figure at once, exact; computed once per machine (and so once per
        saved game version, see ``for_game``). Raises ``PaytableTooComplex`` past ``max_steps``."""
        return compute_theory(self.reels, self.rules, max_steps=self.max_steps)

    @property
    def rtp(self) -> Fraction:
        """Exact expected return per unit staked."""
        return self.theory.rtp

    @property
    def variance(self) -> Fraction:
        """Exact variance of the return per unit staked."""
        return self.theory.variance

    @property
    def hit_frequency(self) -> Fraction:
        return self.theory.hit_frequency

    def rule_probabilities(self) -> list[tuple[Rule, Fraction]]:
        """Each rule with the exact probability that it is the one that pays."""
        return list(self.theory.rule_probabilities)


class PaytableTooComplex(PaytableError):
    """The exact theory would take more than ``MAX_THEORY_STEPS`` steps to compute."""


@dataclass(frozen=True)
class Theory:
    """A machine's exact figures. ``steps`` is the work it took (see ``compute_theory``)."""

    rule_probabilities: tuple[tuple[Rule, Fraction], ...]
    steps: int

    @cached_property
    def distribution(self) -> dict[int, Fraction]:
        """{multiplier: exact probability}, 0 (no win) included."""
        dist: dict[int, Fraction] = {}
        for rule, p in self.rule_probabilities:
            if p:
                dist[rule.pays] = dist.get(rule.pays, Fraction(0)) + p
        dist[0] = 1 - sum(dist.values(), Fraction(0))
        return dist

    @cached_property
    def rtp(self) -> Fraction:
        return sum((rule.pays * p for rule, p in self.rule_probabilities), Fraction(0))

    @cached_property
    def hit_frequency(self) -> Fraction:
        return sum((p for _, p in self.rule_probabilities), Fraction(0))

    @cached_property
    def variance(self) -> Fraction:
        mean = self.rtp
        return sum((p * (m - mean) ** 2 for m, p in self.distribution.items()), Fraction(0))


def compute_theory(
    reels: tuple[tuple[str, ...], ...], rules: tuple[Rule, ...], *, max_steps: int | None = MAX_THEORY_STEPS
) -> Theory:
    """The exact probability that each rule is the one that pays (``rules`` in paying order:
    the first matching rule pays).

    The reels stop independently, so the weight of a set of stops is a product of
    per-reel symbol counts. Walk the reels left to right keeping, for each set of
    rules still matching the symbols so far (a bitmask over ``rules``), the number
    of stop combinations that lead to it. On a reel, the symbols no live rule names
    there all act alike, so they are one branch ("other") whatever their number.
    Once a live rule has only ``*`` left it is certain to match, so every rule after
    it is dropped; after the last reel the lowest set bit is the paying rule.

    The work is ``sum over reels of (live sets) * (branches on that reel)`` steps:
    at most (reels x distinct symbol combinations), the old enumeration's count, and
    usually far less (3-, 4- and 5-of-a-kind tables keep a few dozen live sets).
    It is checked against ``max_steps`` *before* each reel, so a refusal costs at most
    ``max_steps``; ``None`` lifts the bound (games already saved).
    """
    n = len(reels)
    # certain_from[i]: rules whose line is all ``*`` from reel i on (matched by anything there).
    certain_from = [0] * (n + 1)
    for bit, rule in enumerate(rules):
        for i in range(n, -1, -1):
            certain_from[i] |= 1 << bit
            if i and rule.line[i - 1] != ANY:
                break
    states: dict[int, int] = {_keep_up_to_certain((1 << len(rules)) - 1, certain_from[0]): 1}
    steps = 0
    for i, strip in enumerate(reels):
        wild = 0  # rules with ``*`` on this reel
        named: dict[str, int] = {}  # symbol -> rules naming it on this reel
        for bit, rule in enumerate(rules):
            if rule.line[i] == ANY:
                wild |= 1 << bit
            else:
                named[rule.line[i]] = named.get(rule.line[i], 0) | 1 << bit
        branches: dict[int, int] = {}  # rules still matching after this reel's symbol -> stops
        for symbol, count in Counter(strip).items():
            mask = wild | named.get(symbol, 0)
            branches[mask] = branches.get(mask, 0) + count
        steps += len(states) * len(branches)
        if max_steps is not None and steps > max_steps:
            raise PaytableTooComplex(
                {
                    "paytable": [
                        f"This paytable is too complex to compute its exact RTP: it would take more than "
                        f"{max_steps:,} steps (the limit keeps saving and showing a game fast). Use fewer "
                        f"rules or fewer different symbols in them, or put the '*' at the end of lines."
                    ]
                }
            )
        following: dict[int, int] = {}
        for live, ways in states.items():
            for mask, count in branches.items():
                key = _keep_up_to_certain(live & mask, certain_from[i + 1])
                following[key] = following.get(key, 0) + ways * count
        states = following
    paying = [0] * len(rules)
    for live, ways in states.items():
        if live:
            paying[(live & -live).bit_length() - 1] += ways
    total = math.prod(len(strip) for strip in reels)
    return Theory(
        rule_probabilities=tuple((rule, Fraction(ways, total)) for rule, ways in zip(rules, paying, strict=True)),
        steps=steps,
    )


def _keep_up_to_certain(live: int, certain: int) -> int:
    """Drop every live rule after the first live rule that is certain to match."""
    sure = live & certain
    if not sure:
        return live
    lowest = sure & -sure
    return live & ((lowest << 1) - 1)


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

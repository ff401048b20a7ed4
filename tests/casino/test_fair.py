"""Provably fair derivation (issue 17), without the database: the scheme, rejection
sampling, uniformity (chi-squared), the RTP of derived spins, and the statement check
that both the verify page and the standalone script run."""

from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import math
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from casino import fair
from casino.demo import DEMO_GAMES
from casino.slots import Machine, validate

FRUIT, DIAMOND = DEMO_GAMES
SEED = hashlib.sha256(b"issue 17: a fixed server seed for stable statistics").hexdigest()
CLIENT = "stable-client-seed"
SPINS = 100_000


def test_commitment_is_the_sha256_of_the_seed_bytes():
    seed = fair.new_server_seed()
    assert len(seed) == 64 and len(bytes.fromhex(seed)) == fair.SEED_BYTES
    assert fair.commitment(seed) == hashlib.sha256(bytes.fromhex(seed)).hexdigest()
    assert fair.commitment(fair.new_server_seed()) != fair.commitment(seed)


def test_a_stop_is_the_first_accepted_word_of_the_hmac_of_client_seed_nonce_and_reel():
    """An independent reading of the published scheme gives the same stops."""
    lengths = (20, 21, 22)
    for nonce in (1, 2, 999):
        expected = []
        for reel, length in enumerate(lengths):
            digest = hmac.new(bytes.fromhex(SEED), f"{CLIENT}:{nonce}:{reel}".encode(), hashlib.sha256).digest()
            words = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 32, 4)]
            limit = 2**32 - 2**32 % length
            expected.append(next(w % length for w in words if w < limit))
        assert fair.derive_stops(SEED, CLIENT, nonce, lengths) == tuple(expected)


def test_the_derivation_is_pinned():
    """A published scheme never changes silently: these stops are what players' own scripts
    compute (and what every statement ever downloaded was verified with)."""
    assert fair.derive_stops("00" * 32, "client", 1, (256, 256, 256)) == (91, 142, 99)
    assert fair.derive_stops("00" * 32, "client", 2, (20, 21, 22)) == (9, 1, 15)


@pytest.mark.parametrize(
    ("value", "length", "stop"),
    [
        (0, 3, 0),
        (2**32 - 2, 3, (2**32 - 2) % 3),  # the last value of the largest multiple of 3
        (2**32 - 1, 3, None),  # 2^32 = 3 x 1431655765 + 1: the one value a modulo would give to stop 0
        (2**32 - 1 - 2**32 % 20, 20, (2**32 - 1 - 2**32 % 20) % 20),
        (2**32 - 2**32 % 20, 20, None),
        (2**32 - 1, 256, 255),  # a power of two divides 2^32: nothing is rejected
    ],
)
def test_rejection_sampling_rejects_exactly_the_biased_remainder(value, length, stop):
    assert fair.accept(value, length) == stop


def test_when_all_eight_words_are_rejected_the_message_gets_a_counter():
    length = 2**31 + 1  # half of all 32-bit values are rejected: some spin needs the counter
    key = bytes.fromhex(SEED)

    def words(message: str) -> list[int]:
        digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
        return [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 32, 4)]

    nonce = next(n for n in range(1, 5000) if all(fair.accept(w, length) is None for w in words(f"{CLIENT}:{n}:0")))
    expected = next(w % length for w in words(f"{CLIENT}:{nonce}:0:1") if fair.accept(w, length) is not None)
    assert fair.reel_stop(key, CLIENT, nonce, 0, length) == expected


def chi_squared_critical(df: int, z: float) -> float:
    """The chi-squared quantile for df degrees of freedom at the normal quantile z
    (Wilson-Hilferty; within 0.5% for df >= 10)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


Z_999 = 3.0902  # significance 0.001: a fair reel fails with probability 1 in 1,000 (the seed is fixed: stable)


def chi_squared(counts: Counter, length: int, n: int) -> float:
    expected = n / length
    return sum((counts.get(stop, 0) - expected) ** 2 / expected for stop in range(length))


def derived_stops(machine: Machine, n: int = SPINS) -> list[tuple[int, ...]]:
    return [fair.derive_stops(SEED, CLIENT, nonce, machine.lengths) for nonce in range(1, n + 1)]


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMO_GAMES, ids=lambda g: g["slug"])
def test_derived_stops_are_uniform_on_every_reel(demo):
    """10^5 derived spins: each reel's stops pass a chi-squared test at significance 0.001."""
    machine = validate(demo["reels"], demo["paytable"])
    spins = derived_stops(machine)
    for reel, length in enumerate(machine.lengths):
        counts = Counter(stops[reel] for stops in spins)
        assert set(counts) == set(range(length)), "every stop is reachable"
        assert chi_squared(counts, length, SPINS) < chi_squared_critical(length - 1, Z_999), f"reel {reel}"


def test_the_uniformity_test_catches_a_plain_modulo():
    """What the test guards against: a byte taken modulo a 100-stop strip makes stops 0-55
    half as likely again as 56-99 (256 = 2 x 100 + 56). The same test fails it at once."""
    length, n = 100, 20_000
    counts = Counter(hashlib.sha256(f"{SEED}:{i}".encode()).digest()[0] % length for i in range(n))
    assert chi_squared(counts, length, n) > 3 * chi_squared_critical(length - 1, Z_999)


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMO_GAMES, ids=lambda g: g["slug"])
def test_the_rtp_of_derived_spins_is_the_exact_rtp(demo):
    """10^5 derived spins return the exact RTP within 4.5 standard errors (the slot tests'
    tolerance: the standard error from the exact variance)."""
    machine = validate(demo["reels"], demo["paytable"])
    returned = sum(
        machine.play(server_seed=SEED, client_seed=CLIENT, nonce=nonce).multiplier for nonce in range(1, SPINS + 1)
    )
    tolerance = 4.5 * math.sqrt(machine.variance) / math.sqrt(SPINS)
    assert abs(returned / SPINS - float(machine.rtp)) < tolerance


def test_the_machine_plays_with_the_derivation():
    machine = validate(FRUIT["reels"], FRUIT["paytable"])
    for nonce in range(1, 50):
        outcome = machine.play(server_seed=SEED, client_seed=CLIENT, nonce=nonce)
        assert outcome.stops == fair.derive_stops(SEED, CLIENT, nonce, machine.lengths)
        assert outcome.multiplier == fair.line_multiple(fair.paying_order(FRUIT["paytable"]), outcome.symbols)


def test_one_code_path_no_other_random_source_behind_the_machine():
    """The machine has no other way to draw stops: no ``random`` or ``secrets`` in the slot
    maths or the spin service (seeds are drawn by ``casino.fair`` only)."""
    root = Path(__file__).resolve().parents[2] / "casino"
    for module in ("slots.py", "services/sessions.py"):
        names = _imported_modules(root / module)
        assert not names & {"random", "secrets", "numpy"}, module
    assert not hasattr(Machine, "spin"), "the old CSPRNG spin is gone: Machine.play is the way to spin"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_verifier_needs_only_the_standard_library():
    names = _imported_modules(Path(fair.__file__))
    assert names <= set(sys.stdlib_module_names) | {"__future__"}, names - set(sys.stdlib_module_names)


# --- statements -----------------------------------------------------------------------
def make_statement(demo=FRUIT, *, spins: int = 30, boost_percent: str = "0") -> dict:
    """A statement built the way the app builds one, from the derivation."""
    machine = validate(demo["reels"], demo["paytable"])
    rows = []
    for nonce in range(1, spins + 1):
        outcome = machine.play(server_seed=SEED, client_seed=CLIENT, nonce=nonce)
        stake = Decimal("0.20") if nonce % 2 else Decimal("1.00")
        win = outcome.win_for(stake)
        rows.append(
            {
                "nonce": nonce,
                "stake": str(stake),
                "free_spin": nonce == 3,
                "stops": list(outcome.stops),
                "symbols": list(outcome.symbols),
                "win": str(win),
                "boost_percent": boost_percent,
                "boost": str(fair.boost_amount(win, Decimal(boost_percent))),
            }
        )
    return {
        "format": fair.FORMAT,
        "game": {  # copies: the tampering tests change them
            "digest": fair.game_digest(demo["reels"], demo["paytable"]),
            "reels": copy.deepcopy(demo["reels"]),
            "paytable": copy.deepcopy(demo["paytable"]),
        },
        "server_seed": SEED,
        "server_seed_sha256": fair.commitment(SEED),
        "client_seed": CLIENT,
        "first_nonce": 1,
        "spins": rows,
    }


def winning(spins: list) -> dict:
    return next(spin for spin in spins if spin["win"] != "0.00")


def test_a_true_statement_verifies():
    result = fair.verify_statement(make_statement(spins=200, boost_percent="12.5"))
    assert result.ok and len(result.spins) == 200 and result.failed_spins == 0


def _set(path, value):
    def change(statement):
        target = statement
        for key in path[:-1]:
            target = target[key] if not callable(key) else key(target)
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value

    return change


def _other_seed(seed: str) -> str:
    return ("1" if seed[0] != "1" else "2") + seed[1:]


TAMPERING = {
    "server seed": _set(["server_seed"], _other_seed),
    "commitment": _set(["server_seed_sha256"], lambda c: hashlib.sha256(b"another").hexdigest()),
    "client seed": _set(["client_seed"], "another-client-seed"),
    "a stop": _set(["spins", lambda s: s[4], "stops"], lambda stops: [(stops[0] + 1) % 3, *stops[1:]]),
    "a symbol": _set(["spins", lambda s: s[5], "symbols"], lambda sym: ["tampered", *sym[1:]]),
    "a win": _set(["spins", winning, "win"], lambda w: str(Decimal(w) + Decimal("0.01"))),
    "a boost": _set(["spins", winning, "boost"], lambda b: str(Decimal(b) + Decimal("0.01"))),
    "a stake": _set(["spins", winning, "stake"], lambda s: str(Decimal(s) * 2)),
    "a pay in the paytable": _set(["game", "paytable", 0, "pays"], lambda p: p + 1),
    "a reel strip": _set(["game", "reels", 0], lambda strip: list(reversed(strip))),
    "a nonce (gap)": _set(["spins", lambda s: s[7], "nonce"], 9),
    "a repeated spin": lambda st: st["spins"].insert(8, copy.deepcopy(st["spins"][7])),
    "a removed spin": lambda st: st["spins"].pop(10),
}


@pytest.mark.parametrize("what", TAMPERING, ids=list(TAMPERING))
def test_changing_anything_makes_verification_fail(what):
    statement = make_statement(boost_percent="10")
    TAMPERING[what](statement)
    assert not fair.verify_statement(statement).ok


def test_a_changed_paytable_with_its_digest_recomputed_still_fails_on_the_wins():
    """Even with a matching digest, the wins paid no longer follow from the paytable."""
    statement = make_statement(spins=400)
    for rule in statement["game"]["paytable"]:
        rule["pays"] += 1
    statement["game"]["digest"] = fair.game_digest(statement["game"]["reels"], statement["game"]["paytable"])
    result = fair.verify_statement(statement)
    assert not result.ok and not result.problems and result.failed_spins > 0


@pytest.mark.parametrize(
    "statement",
    [None, [], {}, {"format": "other"}, {"format": fair.FORMAT, "server_seed": "zz"}],
    ids=["none", "list", "empty", "format", "seed"],
)
def test_malformed_statements_fail_cleanly(statement):
    assert not fair.verify_statement(statement).ok


def test_boost_is_rounded_down_to_the_cent():
    assert fair.boost_amount(Decimal("0.30"), Decimal("12.5")) == Decimal("0.03")  # 0.0375
    assert fair.boost_amount(Decimal("0.00"), Decimal("50")) == Decimal("0.00")

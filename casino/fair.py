#!/usr/bin/env python3
"""Provably fair slots (issue 17): how every spin's reel stops are derived, and the
standalone verifier of a session's statement.

This file is the one code path: ``casino.slots.Machine`` plays with these functions
(there is no other random number generator behind the machine), and the same file,
run on its own, checks a statement a player downloaded::

    python3 fair.py statement.json      # exit 0: every spin verified; 1: a mismatch; 2: unreadable

It needs only Python's standard library (no Django, no other file of this project), so
a player can download it from the verify page and run it anywhere.

The scheme
----------
* When a session opens the server draws a secret 32-byte **server seed** (``secrets``)
  and shows the player its **commitment**, the SHA-256 of the seed's bytes. The seed
  itself is shown only once the session is closed.
* The player's **client seed** (random by default, editable before the first spin: 1 to
  64 of ``A-Z a-z 0-9 _ -``) and the spin's **nonce** (1 for the session's first spin,
  then 2, 3, ...: free spins count too) make each spin's message.
* The stop of reel ``r`` (numbered from 0) on a strip of ``n`` stops:
  ``HMAC-SHA256(key=server seed bytes, message="<client seed>:<nonce>:<r>")`` gives 32
  bytes, read as eight 32-bit big-endian numbers in order. The first number ``v``
  below ``2^32 - (2^32 mod n)`` (the largest multiple of ``n`` that fits) gives the
  stop ``v mod n``; a number at or above it is rejected (a plain modulo would make the
  low stops more likely). If all eight are rejected, the message gets a counter,
  ``"<client seed>:<nonce>:<r>:1"``, then ``:2``, and so on.
* The symbols are the strips' symbols at the stops; the line pays the highest paying
  rule of the paytable that matches it (``"*"`` matches any symbol), as a whole multiple
  of the stake: ``win = stake x multiple`` to the cent. A vendor's win boost in force adds
  ``boost = win x percent / 100``, rounded down to the cent, shown apart from the win.
* The reels and paytable are the **game version** stored with the session: their
  SHA-256 digest over canonical JSON (keys sorted, no spaces, ASCII) is in the statement.

Knowing the commitment tells nothing about the seed, so nobody can predict a spin while
the session is open; the server cannot change the seed afterwards without breaking the
commitment, and it cannot pick a seed that is bad for the player's own client seed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sys
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation

FORMAT = "casino-fair/1"
SEED_BYTES = 32
CLIENT_SEED_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLIENT_SEED_HELP = "1 to 64 letters, digits, '-' or '_'"
ANY = "*"
CENT = Decimal("0.01")
_SPACE = 1 << 32
_WORDS = range(0, 32, 4)


# --- seeds ----------------------------------------------------------------------------
def new_server_seed() -> str:
    """A fresh secret server seed, as 64 hex digits."""
    return secrets.token_hex(SEED_BYTES)


def new_client_seed() -> str:
    """The player's default client seed (they may type their own before the first spin)."""
    return secrets.token_hex(8)


def commitment(server_seed: str) -> str:
    """What the player is shown before play: SHA-256 of the server seed's bytes, hex."""
    return hashlib.sha256(bytes.fromhex(server_seed)).hexdigest()


def valid_client_seed(client_seed: str) -> bool:
    return isinstance(client_seed, str) and CLIENT_SEED_RE.fullmatch(client_seed) is not None


# --- derivation -----------------------------------------------------------------------
def accept(value: int, length: int) -> int | None:
    """Rejection sampling: the stop for a 32-bit ``value`` on a strip of ``length``
    stops, or None if ``value`` falls in the top remainder that a modulo would skew."""
    if value >= _SPACE - _SPACE % length:
        return None
    return value % length


def reel_stop(key: bytes, client_seed: str, nonce: int, reel: int, length: int) -> int:
    """The stop of reel ``reel`` (from 0) on a strip of ``length`` stops for this spin."""
    counter = 0
    while True:
        message = f"{client_seed}:{nonce}:{reel}" if counter == 0 else f"{client_seed}:{nonce}:{reel}:{counter}"
        digest = hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()
        for i in _WORDS:
            stop = accept(int.from_bytes(digest[i : i + 4], "big"), length)
            if stop is not None:
                return stop
        counter += 1


def derive_stops(server_seed: str, client_seed: str, nonce: int, lengths) -> tuple[int, ...]:
    """Every reel's stop for spin ``nonce`` (``lengths``: each strip's number of stops)."""
    key = bytes.fromhex(server_seed)
    return tuple(reel_stop(key, client_seed, nonce, reel, length) for reel, length in enumerate(lengths))


# --- paying ---------------------------------------------------------------------------
def paying_order(paytable) -> tuple[tuple[tuple[str, ...], int], ...]:
    """The paytable's rules as (line, pays), highest paying first (the first match pays)."""
    return tuple(sorted(((tuple(rule["line"]), int(rule["pays"])) for rule in paytable), key=lambda r: -r[1]))


def line_multiple(rules, symbols) -> int:
    """What the payline pays, as a multiple of the stake: the first (highest paying) rule
    of ``rules`` (as from ``paying_order``) that matches ``symbols``; 0 if none."""
    for line, pays in rules:
        if all(want in (ANY, got) for want, got in zip(line, symbols, strict=True)):
            return pays
    return 0


def win_amount(stake: Decimal, multiple: int) -> Decimal:
    return (stake * multiple).quantize(CENT)


def boost_amount(win: Decimal, percent: Decimal) -> Decimal:
    """A vendor win boost of ``percent`` on ``win``, rounded down to the cent."""
    if win <= 0 or percent <= 0:
        return Decimal("0.00")
    return (win * percent / 100).quantize(CENT, rounding=ROUND_DOWN)


def game_digest(reels, paytable) -> str:
    """SHA-256 of the game version (reels and paytable) over canonical JSON."""
    text = json.dumps({"paytable": paytable, "reels": reels}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


# --- verifying a statement ------------------------------------------------------------
@dataclass
class SpinCheck:
    nonce: object
    problems: list[str] = field(default_factory=list)
    stops: tuple[int, ...] = ()
    symbols: tuple[str, ...] = ()
    win: Decimal | None = None
    boost: Decimal | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)  # about the session as a whole
    spins: list[SpinCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(spin.ok for spin in self.spins)

    @property
    def failed_spins(self) -> int:
        return sum(not spin.ok for spin in self.spins)


def verify_statement(statement) -> Verification:
    """Recompute everything a statement claims: the commitment, the game version's digest,
    and each spin's stops, symbols, win and boost, with the nonces 1, 2, 3... in order."""
    result = Verification()
    if not isinstance(statement, dict) or statement.get("format") != FORMAT:
        result.problems.append(f"not a {FORMAT} statement")
        return result
    seed, claimed, client_seed = (
        statement.get("server_seed"),
        statement.get("server_seed_sha256"),
        statement.get("client_seed"),
    )
    if not (isinstance(seed, str) and re.fullmatch(r"[0-9a-f]{64}", seed)):
        result.problems.append("the server seed is missing or not 64 hex digits (is the session still open?)")
        return result
    if commitment(seed) != claimed:
        result.problems.append("the server seed does not match the commitment shown before play")
    if not valid_client_seed(client_seed):
        result.problems.append("the client seed is missing or invalid")
        return result
    game = statement.get("game") or {}
    reels, paytable = game.get("reels"), game.get("paytable")
    try:
        lengths = [len(strip) for strip in reels]
        rules = paying_order(paytable)
        if len(lengths) < 1 or any(n < 1 for n in lengths) or any(len(line) != len(lengths) for line, _ in rules):
            raise ValueError
    except (TypeError, ValueError, KeyError, AttributeError):
        result.problems.append("the game's reels or paytable are missing or malformed")
        return result
    if game_digest(reels, paytable) != game.get("digest"):
        result.problems.append("the reels and paytable do not match the game version's digest")
    spins = statement.get("spins")
    if not isinstance(spins, list):
        result.problems.append("the statement has no list of spins")
        return result
    first = statement.get("first_nonce", 1)
    for expected, claim in enumerate(spins, start=first if isinstance(first, int) else 1):
        result.spins.append(_verify_spin(claim, expected, seed, client_seed, lengths, reels, rules))
    return result


def _verify_spin(claim, expected_nonce, seed, client_seed, lengths, reels, rules) -> SpinCheck:
    if not isinstance(claim, dict):
        return SpinCheck(nonce=None, problems=["not a spin"])
    check = SpinCheck(nonce=claim.get("nonce"))
    if claim.get("nonce") != expected_nonce:
        check.problems.append(f"nonce {claim.get('nonce')!r} where {expected_nonce} comes next (a gap or a repeat)")
        return check
    try:
        stake = Decimal(str(claim["stake"]))
        percent = Decimal(str(claim.get("boost_percent", "0")))
        claimed_win, claimed_boost = Decimal(str(claim["win"])), Decimal(str(claim.get("boost", "0")))
    except (KeyError, InvalidOperation):
        check.problems.append("stake, win or boost missing or not a number")
        return check
    check.stops = derive_stops(seed, client_seed, expected_nonce, lengths)
    check.symbols = tuple(strip[stop] for strip, stop in zip(reels, check.stops, strict=True))
    check.win = win_amount(stake, line_multiple(rules, check.symbols))
    check.boost = boost_amount(check.win, percent)
    if list(claim.get("stops", ())) != list(check.stops):
        check.problems.append(f"stops {claim.get('stops')} but the seeds give {list(check.stops)}")
    if list(claim.get("symbols", ())) != list(check.symbols):
        check.problems.append(f"symbols {claim.get('symbols')} but the reels show {list(check.symbols)}")
    if claimed_win != check.win:
        check.problems.append(f"win {claimed_win} but the paytable pays {check.win}")
    if claimed_boost != check.boost:
        check.problems.append(f"boost {claimed_boost} but {percent}% of the win is {check.boost}")
    return check


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: fair.py STATEMENT.json  (a session's statement; '-' reads standard input)", file=sys.stderr)
        return 2
    try:
        if argv[0] == "-":
            statement = json.load(sys.stdin)
        else:
            with open(argv[0], encoding="utf-8") as handle:
                statement = json.load(handle)
    except (OSError, ValueError) as exc:
        print(f"cannot read the statement: {exc}", file=sys.stderr)
        return 2
    result = verify_statement(statement)
    for problem in result.problems:
        print(f"✗ session: {problem}")
    for spin in result.spins:
        mark = "✓" if spin.ok else "✗"
        detail = "; ".join(spin.problems) if spin.problems else f"stops {list(spin.stops)} win {spin.win}"
        print(f"{mark} spin {spin.nonce}: {detail}")
    total = len(result.spins)
    if result.ok:
        print(f"OK: commitment, game version and all {total} spin(s) verified")
        return 0
    print(f"FAILED: {len(result.problems)} session problem(s), {result.failed_spins} of {total} spin(s) do not verify")
    return 1


if __name__ == "__main__":
    sys.exit(main())

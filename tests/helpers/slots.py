"""Forcing the reels in tests: only the draw is replaced.

Since issue 17 the machine plays one way, ``Machine.play`` (stops derived from the
session's seeds and the nonce, ``casino.fair``). A test that needs a given outcome patches
that method: stake, win, boost, bonus split, nonce and ledger are the real code. Forced
spins do not verify against the seeds, of course; the provably fair tests never force.
"""

from __future__ import annotations

from casino.slots import Machine


def force_reels(monkeypatch, *symbols: str) -> None:
    """The next spins stop on these payline symbols (the live server of the browser tests
    runs in the test's process, so the patch reaches it too)."""

    def play(self, **seeds):
        return self.outcome(tuple(strip.index(sym) for strip, sym in zip(self.reels, symbols, strict=True)))

    monkeypatch.setattr(Machine, "play", play)


def force_outcome(monkeypatch, outcome_for) -> None:
    """The next spins give ``outcome_for(machine)`` (an ``Outcome``)."""

    def play(self, **seeds):
        return outcome_for(self)

    monkeypatch.setattr(Machine, "play", play)

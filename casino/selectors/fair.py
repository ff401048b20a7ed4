"""Provably fair statements (issue 17): a closed session's seeds, game version and every
spin, as the JSON a player downloads and ``casino.fair`` verifies.

The server seed leaves the database only through ``GameSession.revealed_server_seed``,
which is empty while the session is open; so does this statement (refused while open).
"""

from __future__ import annotations

from dataclasses import dataclass

from casino import fair
from casino.exceptions import SessionNotVerifiable, SessionStillOpen
from casino.models import GameSession, Spin
from core.db_router import replica_selector

__all__ = ["VerifiedSession", "session_statement", "verify_session"]

STATEMENT_SPIN_FIELDS = ("nonce", "stake", "free_spin", "stops", "symbols", "win", "boost_percent", "boost")


@replica_selector
def session_statement(session: GameSession) -> dict:
    """The statement of a closed, provably fair session. ``SessionStillOpen`` while it is
    open (the seed is secret then); ``SessionNotVerifiable`` for one played before issue 17."""
    if session.is_open:
        raise SessionStillOpen()
    if not session.provably_fair:
        raise SessionNotVerifiable()
    version = session.game_version
    rows = Spin.objects.of_session(session)  # one partition
    spins = [
        {
            "nonce": row["nonce"],
            "stake": str(row["stake"]),
            "free_spin": row["free_spin"],
            "stops": row["stops"],
            "symbols": row["symbols"],
            "win": str(row["win"]),
            "boost_percent": str(row["boost_percent"].normalize()) if row["boost_percent"] else "0",
            "boost": str(row["boost"]),
        }
        for row in rows.filter(nonce__isnull=False).order_by("nonce").values(*STATEMENT_SPIN_FIELDS)
    ]
    earlier = rows.filter(nonce__isnull=True).count()  # played before the session had seeds (issue 17's migration)
    return {
        "format": fair.FORMAT,
        "session": session.pk,
        "game": {
            "name": session.game.name,
            "slug": session.game.slug,
            "version": version.pk,
            "digest": version.digest,
            "reels": version.reels,
            "paytable": version.paytable,
        },
        "server_seed": session.revealed_server_seed,
        "server_seed_sha256": session.commitment,
        "client_seed": session.client_seed,
        "opened_at": session.created_at.isoformat(),
        "closed_at": session.closed_at.isoformat() if session.closed_at else None,
        "first_nonce": spins[0]["nonce"] if spins else 1,
        "spins_before_seeds": earlier,
        "spins": spins,
        "how_to_verify": "python3 fair.py this-file.json (fair.py is offered on the session's verify page)",
    }


@dataclass(frozen=True)
class VerifiedSession:
    statement: dict
    result: fair.Verification

    @property
    def rows(self):
        """(claimed spin, its check) pairs, in nonce order (check None: not reached, because
        the session as a whole failed first)."""
        checks = self.result.spins
        return [(spin, checks[i] if i < len(checks) else None) for i, spin in enumerate(self.statement["spins"])]


@replica_selector
def verify_session(session: GameSession) -> VerifiedSession:
    """Recompute a closed session from what is stored: the same check as the standalone
    script runs on the downloaded statement."""
    statement = session_statement(session)
    return VerifiedSession(statement=statement, result=fair.verify_statement(statement))

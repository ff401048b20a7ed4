"""``manage.py verify_session ID``: recompute a closed session's spins server-side (issue 17).

The same check the standalone ``casino/fair.py`` runs on a player's downloaded statement,
from the stored rows. Exits non-zero on any mismatch. ``--statement FILE`` also writes
the statement (the JSON the player can download) for the script.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from casino import selectors
from casino.models import GameSession
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Verify a closed game session's provably fair spins (commitment, game version, stops, wins)."

    def add_arguments(self, parser):
        parser.add_argument("session_id", type=int)
        parser.add_argument("--statement", metavar="FILE", help="also write the session's JSON statement to FILE")
        parser.add_argument("--all", action="store_true", help="print every spin, not only the ones that fail")

    def handle(self, *args, session_id, statement=None, all=False, **options):  # noqa: A002 - the option's name
        session = GameSession.objects.select_related("game", "game_version").filter(pk=session_id).first()
        if session is None:
            raise CommandError(f"no game session {session_id}")
        try:
            verified = selectors.verify_session(session)
        except DomainError as exc:
            raise CommandError(f"session {session_id}: {exc.message}") from exc
        if statement:
            with open(statement, "w", encoding="utf-8") as handle:
                json.dump(verified.statement, handle, indent=1)
            self.stdout.write(f"statement written to {statement}")
        result = verified.result
        for problem in result.problems:
            self.stdout.write(f"✗ session {session_id}: {problem}")
        for check in result.spins:
            if all or not check.ok:
                mark = "✓" if check.ok else "✗"
                detail = "; ".join(check.problems) or f"stops {list(check.stops)} win {check.win}"
                self.stdout.write(f"{mark} spin {check.nonce}: {detail}")
        count = len(result.spins)
        earlier = verified.statement["spins_before_seeds"]
        note = f" ({earlier} earlier spin(s) played before the session had seeds)" if earlier else ""
        if not result.ok:
            raise CommandError(
                f"session {session_id} does NOT verify: {len(result.problems)} session problem(s), "
                f"{result.failed_spins} of {count} spin(s) wrong{note}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"session {session_id}: commitment, game version and all {count} spin(s) verified{note}")
        )

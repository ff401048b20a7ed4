"""fair_spin (issue 17): what provably fair derivation costs a spin.

The spin storm's players (W workers, one fed session each) spin through
``casino.services.spin`` in rounds that alternate between the two ways of drawing the
reel stops:

* **derived**: ``casino.fair.derive_stops`` (HMAC-SHA256 of the session's seeds and the
  nonce, rejection sampled): what the machine plays with since issue 17;
* **before**: ``secrets.randbelow`` per reel, the machine before issue 17, patched into
  ``casino.fair.derive_stops`` inside each worker process for that round only.

Everything else (the session read, the versioned update, the spin row with its nonce, the
ledger) is the same code, so the ratio is the cost of the derivation. Rounds run
A B B A B A A B, so drift on this noisy machine falls on both sides; each side's spins/s
is its spins over its time summed across rounds. Also measured apart, with no database:
the derivation's own CPU per spin, as a share of a spin's time (the bound of what it can
cost), and the nonce check (every session's nonces are 1..N, no gap, no repeat).
"""

from __future__ import annotations

import secrets
import timeit
import uuid
from decimal import Decimal

from bench.common import Config, WorkerResult, demo_game, make_players, reset_data, run_pool
from casino import fair, services
from casino.slots import Machine

ORDER = (True, False, False, True, False, True, True, False)  # derived? per round: A B B A B A A B
MACHINE = Decimal("4000.00")


def _before(server_seed, client_seed, nonce, lengths):
    """The pre-issue-17 draw: the operating system's CSPRNG per reel."""
    return tuple(secrets.randbelow(length) for length in lengths)


def run(config: Config) -> dict:
    from casino.models import GameSession, Spin

    reset_data()
    game = demo_game()
    stake = game.min_stake
    players = config.workers
    users = make_players(players, prefix="fair", deposit=MACHINE + 100)
    sessions = []
    for user in users:
        session = services.open_session(player=user, game=game)
        services.feed(session=session, amount=MACHINE, idempotency_key=f"seed-{session.pk}")
        sessions.append(GameSession(pk=session.pk))
    spins_per_worker = config.n(40, 5)
    elapsed = {True: 0.0, False: 0.0}
    done = {True: 0, False: 0}
    failed = {True: 0, False: 0}
    rounds = []
    for derived in ORDER:

        def work(index: int, result: WorkerResult, derived=derived) -> None:
            if not derived:  # this worker process only, this round only
                fair.derive_stops = _before
            session = sessions[index % len(sessions)]
            for _ in range(spins_per_worker):
                result.timed(services.spin, session=session, stake=stake, idempotency_key=uuid.uuid4().hex)

        pool = run_pool(work, config=config)
        elapsed[derived] += pool.elapsed
        done[derived] += pool.ops
        failed[derived] += sum(pool.errors.values())
        rounds.append({"derived": derived, "spins_per_s": round(pool.throughput(), 1)})
    rate = {side: done[side] / elapsed[side] if elapsed[side] else 0.0 for side in (True, False)}

    # The nonce sequence of every session: 1..spin_count, no gap, no repeat.
    gaps = 0
    for session in sessions:
        nonces = list(Spin.objects.filter(session_id=session.pk).order_by("nonce").values_list("nonce", flat=True))
        gaps += nonces != list(range(1, len(nonces) + 1))
    for session in sessions:
        services.leave(session=session)

    # The derivation alone (no database): CPU per spin, against the spin's measured time.
    machine = Machine.for_game(game)
    seed, client = fair.new_server_seed(), fair.new_client_seed()
    n = 20_000
    nonce = iter(range(1, 10 * n))
    derive_us = (
        min(timeit.repeat(lambda: fair.derive_stops(seed, client, next(nonce), machine.lengths), number=n, repeat=3))
        / n
        * 1e6
    )
    before_us = min(timeit.repeat(lambda: _before(seed, client, 0, machine.lengths), number=n, repeat=3)) / n * 1e6
    spin_us = 1e6 / rate[True] * config.workers if rate[True] else None  # wall time per spin per worker
    return {
        "workers": config.workers,
        "rounds": rounds,
        "spins_derived": done[True],
        "spins_before": done[False],
        "spins_per_s_derived": round(rate[True], 1),
        "spins_per_s_before": round(rate[False], 1),
        "ratio": round(rate[True] / rate[False], 3) if rate[False] else None,
        "failed": failed[True] + failed[False],
        "sessions_with_nonce_gaps": gaps,
        "derive_us_per_spin": round(derive_us, 2),
        "before_us_per_spin": round(before_us, 2),
        "spin_us_per_worker": round(spin_us, 1) if spin_us else None,
        "reels": len(machine.lengths),
    }

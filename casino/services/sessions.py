"""Game sessions: open, feed, spin, leave, idle sweep. (Being written: issue 3.)"""


def open_session(*, player, game):
    raise NotImplementedError


def feed(*, session, amount, idempotency_key):
    raise NotImplementedError


def spin(*, session, stake, idempotency_key):
    raise NotImplementedError


def leave(*, session):
    raise NotImplementedError


def close_idle_sessions(*, idle_for):
    raise NotImplementedError


def grant_free_spins(*, player, game, count, stake, source_key, description=""):
    raise NotImplementedError

"""Sportsbook: place, settle, pay out. (Being written: issue 4.)"""


def place_sportsbet(*, player, selection, stake, idempotency_key):
    raise NotImplementedError


def settle_event(*, event, result):
    raise NotImplementedError


def pay_out_player(*, player):
    raise NotImplementedError


def cash_out_bet(*, bet):
    raise NotImplementedError

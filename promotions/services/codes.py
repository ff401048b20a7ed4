"""Promotion codes (being written: issue 5)."""


def issue_code(**kwargs):
    raise NotImplementedError


def issue_codes_bulk(**kwargs):
    raise NotImplementedError


def redeem(*, player, code):
    raise NotImplementedError

"""Selectors of the bet slip (issue 18): the slip's selections with their market and event."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from casino.models import BetLeg, Selection, Sportsbet

__all__ = ["selection_by_id", "slip_selections", "with_legs"]


def _as_ids(values) -> list[int]:
    ids = []
    for value in values or ():
        try:
            pk = int(value)
        except (TypeError, ValueError):
            continue
        if pk > 0 and pk not in ids:
            ids.append(pk)
    return ids


def slip_selections(*, ids) -> list[Selection]:
    """The selections ``ids`` names, in that order, with market and event (one query); ids that
    name no selection are left out. Whether each still takes bets is for the caller to show."""
    wanted = _as_ids(ids)
    if not wanted:
        return []
    found = {s.pk: s for s in Selection.objects.select_related("market__event").filter(pk__in=wanted)}
    return [found[pk] for pk in wanted if pk in found]


def selection_by_id(*, pk) -> Selection | None:
    """Any selection by id, with market and event (the service says whether it takes bets)."""
    ids = _as_ids([pk])
    if not ids:
        return None
    return Selection.objects.select_related("market__event").filter(pk=ids[0]).first()


def with_legs(bets: QuerySet[Sportsbet]) -> QuerySet[Sportsbet]:
    """``bets`` with each accumulator's legs (selection, market, event) in one more query."""
    return bets.prefetch_related(
        Prefetch("legs", queryset=BetLeg.objects.select_related("selection__market__event").order_by("id"))
    )

"""The finance report's filter form (GET): a date range, a product and a game.

Bad input (garbage dates, a range over ``MAX_DAYS`` or backwards, an unknown product or
game, a game with a product other than slots) is a form error, which the page answers
with a 400 and the form shown again, never a 500.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from core.exceptions import DomainError
from core.forms import add_domain_error
from reports import selectors
from reports.models import DailyFigure

DEFAULT_DAYS = 30
ALL = ""
# Days a report may cover: keeps every day of a range (and the day after it) a real date.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def default_range(today: date | None = None) -> tuple[date, date]:
    """The last ``DEFAULT_DAYS`` days, today included (days in ``settings.TIME_ZONE``)."""
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    product = forms.ChoiceField(label="Product", required=False, choices=[(ALL, "All products")])
    game = forms.TypedChoiceField(label="Game", required=False, coerce=int, empty_value=None)

    def __init__(self, data=None, *, games: list[tuple[int, str]] | None = None, today: date | None = None):
        """``data``: the query string (a missing date takes its default, so the bare URL shows
        the last 30 days); ``games``: (id, name) pairs of the game filter (read once per request)."""
        first, last = default_range(today)
        values = {"date_from": first.isoformat(), "date_to": last.isoformat(), "product": ALL, "game": ""}
        if data is not None:
            for name in values:
                if name in data:
                    values[name] = data.get(name)
        super().__init__(values)
        self.fields["product"].choices = [(ALL, "All products"), *DailyFigure.Product.choices]
        games = selectors.games_for_filter() if games is None else games
        self.fields["game"].choices = [("", "All games"), *((str(pk), name) for pk, name in games)]

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        for name, day in (("date_from", date_from), ("date_to", date_to)):
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, f"Choose a day between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}.")
                date_from = date_to = None  # no range check on a day already refused
        if date_from is not None and date_to is not None:
            try:
                selectors.validate_range(date_from, date_to)
            except DomainError as exc:
                add_domain_error(self, exc, default_field="date_from")
        product, game = cleaned.get("product"), cleaned.get("game")
        if game is not None and product not in (ALL, DailyFigure.Product.SLOTS):
            self.add_error("game", "A game's figures are slots figures: choose the product Slots or All products.")
        return cleaned

    def filters(self) -> dict:
        """The keywords of ``selectors.report`` (call after ``is_valid()``)."""
        data = self.cleaned_data
        return {
            "date_from": data["date_from"],
            "date_to": data["date_to"],
            "product": data["product"] or None,
            "game_id": data["game"],
        }

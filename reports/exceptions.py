"""Typed errors of the reports app (the base class lives in ``core.exceptions``)."""

from core.exceptions import DomainError


class InvalidReportRange(DomainError):
    default_message = "Choose a range of at most 366 days whose start is not after its end."
    field = "date_from"


class UnknownProduct(DomainError):
    default_message = "There is no such product."
    field = "product"

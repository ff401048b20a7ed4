"""Typed errors of the promotion services (see accounts.exceptions)."""

from accounts.exceptions import ConcurrencyConflict, DomainError

__all__ = ["ConcurrencyConflict", "DomainError"]


# --- promotion codes ----------------------------------------------------------
class UnknownCode(DomainError):
    default_message = "That code does not exist. Check the spelling."
    status_code = 404


class CodeNotActive(DomainError):
    """Not yet active, expired, or deactivated by staff (the message says which)."""

    default_message = "That code is not active."
    status_code = 409


class AlreadyRedeemed(DomainError):
    default_message = "You have already redeemed this code."
    status_code = 409


class LimitReached(DomainError):
    default_message = "This code has been fully redeemed."
    status_code = 409


class InvalidCode(DomainError):
    default_message = "That promotion code is not valid."


# --- vendor promotions ----------------------------------------------------------
class InvalidPromotion(DomainError):
    default_message = "That promotion is not valid."


class PromotionOverlap(DomainError):
    """Adding the promotion would break "one per type" or "two at a time".

    ``conflicting`` holds the promotions it collides with and ``at`` the first
    instant of overlap.
    """

    default_message = "That promotion overlaps others."
    status_code = 409

    def __init__(self, message: str | None = None, *, conflicting=(), at=None):
        self.conflicting = list(conflicting)
        self.at = at
        super().__init__(message)

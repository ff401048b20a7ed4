"""Typed errors of the promotion services (the base classes live in ``core.exceptions``)."""

from core.exceptions import DomainError


# --- promotion codes ----------------------------------------------------------
class UnknownCode(DomainError):
    default_message = "That code does not exist. Check the spelling."
    field = "code"
    status_code = 404


class CodeNotActive(DomainError):
    """Not yet active, expired, or deactivated by staff (the message says which)."""

    default_message = "That code is not active."
    field = "code"
    status_code = 409


class AlreadyRedeemed(DomainError):
    default_message = "You have already redeemed this code."
    field = "code"
    status_code = 409


class LimitReached(DomainError):
    default_message = "This code has been fully redeemed."
    field = "code"
    status_code = 409


class InvalidCode(DomainError):
    default_message = "That promotion code is not valid."
    field = "code"


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


# --- bonus money (issue 16) -------------------------------------------------------------
class InvalidBonusTerms(DomainError):
    default_message = "Those bonus terms are not allowed."


class BonusNotActive(DomainError):
    default_message = "This bonus has ended."
    status_code = 409


class BonusInPlay(DomainError):
    default_message = "Your bonus money is in a machine: leave it first."
    status_code = 409


class BonusChanged(DomainError):
    default_message = (
        "This bonus changed since you looked (play or a machine's money came back): "
        "check what you would lose and confirm again."
    )
    status_code = 409

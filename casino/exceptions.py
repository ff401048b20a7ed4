"""Typed errors of the casino and sportsbook services (the base classes live in ``core.exceptions``)."""

from core.exceptions import DomainError
from core.money import format_money


# --- game sessions ------------------------------------------------------------
class SessionAlreadyOpen(DomainError):
    default_message = "You already have a game session open. Leave it before opening another."
    status_code = 409


class MachineNotFed(DomainError):
    """``open_and_feed`` opened the session but the feed was refused: ``session`` is open
    (unfed), ``reason`` is the feed's own error."""

    status_code = 409

    def __init__(self, *, session, reason: DomainError):
        self.session, self.reason = session, reason
        super().__init__(f"The machine is open but was not fed: {reason.message}", field=reason.field)


class SessionNotFound(DomainError):
    default_message = "There is no such game session of yours."
    status_code = 404


class SessionClosed(DomainError):
    default_message = "This game session is closed."
    status_code = 409


class InvalidStake(DomainError):
    default_message = "That stake is not allowed on this game."
    field = "stake"


class InsufficientSessionFunds(DomainError):
    default_message = "Not enough money in the machine. Feed it from your account first."
    status_code = 409
    field = "stake"


class StakeAboveBonusMaximum(DomainError):
    """A stake above the maximum stake of the player's active bonus terms (issue 16)."""

    status_code = 409
    field = "stake"

    def __init__(self, *, limit):
        self.limit = limit
        super().__init__(
            f"Bonus rule: while a bonus is active the maximum stake is {format_money(limit)} per spin. "
            "Lower the stake, or forfeit the bonus on your wallet page to play without it."
        )


class BonusNotPlayable(DomainError):
    """Bonus money cannot go into this machine (the game does not count, or no bonus to feed)."""

    status_code = 409
    field = "amount"
    default_message = "You have no bonus money to feed into this machine."


class GameUnavailable(DomainError):
    default_message = "This game is not available."
    status_code = 404


class NoFreeSpins(DomainError):
    default_message = "You have no free spins left on this game."
    status_code = 409


# --- sportsbook ---------------------------------------------------------------
class BettingClosed(DomainError):
    default_message = "Betting on this event is closed."
    status_code = 409


class OddsChanged(DomainError):
    default_message = "The odds changed since the page loaded. Check the new price and bet again."
    status_code = 409


class AlreadySettled(DomainError):
    default_message = "This event is already settled."
    status_code = 409


class InvalidResult(DomainError):
    default_message = "That result does not match the event's markets."


class PlayerInSession(DomainError):
    default_message = "You are playing a game: this payout will be paid when you leave the machine."
    status_code = 409


class NotCashable(DomainError):
    default_message = "This bet has nothing to cash out."
    status_code = 409

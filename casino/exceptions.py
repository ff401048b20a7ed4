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


class InvalidClientSeed(DomainError):
    default_message = "A client seed is 1 to 64 letters, digits, '-' or '_'."
    field = "client_seed"


class ClientSeedLocked(DomainError):
    default_message = (
        "The client seed is fixed once the first spin is played: every spin of this session uses it. "
        "Open a new session to play with another one."
    )
    status_code = 409
    field = "client_seed"


class SessionNotVerifiable(DomainError):
    """A session played before provably fair play (issue 17) has no seeds to verify."""

    default_message = "This session was played before provably fair play: its spins cannot be verified."
    status_code = 409


class SessionStillOpen(DomainError):
    default_message = "The server seed is revealed when the session closes: leave the machine, then verify it."
    status_code = 409


# --- sportsbook depth (issue 18) ---------------------------------------------------
class MarketSuspended(DomainError):
    default_message = "This market is suspended: no bets for now. Try again in a moment."
    status_code = 409


class InvalidAccumulator(DomainError):
    default_message = "An accumulator has 2 to 10 legs, each from a different event."


class LiabilityLimitReached(DomainError):
    """The bet would take the book's liability on a selection past its limit."""

    default_message = "This bet would exceed what we can accept on this selection."
    status_code = 409
    field = "stake"

    def __init__(self, message: str | None = None, *, max_stake=None, field: str | None = None):
        self.max_stake = max_stake
        super().__init__(message, field=field)


class CashOutUnavailable(DomainError):
    default_message = "Early cash-out is not available for this bet right now."
    status_code = 409


class CashOutOfferChanged(DomainError):
    """The odds moved: the player gets the new offer (``offer``), never a silent change."""

    default_message = "The cash-out offer changed."
    status_code = 409

    def __init__(self, message: str | None = None, *, offer=None, field: str | None = None):
        self.offer = offer
        super().__init__(message, field=field)


class InvalidOdds(DomainError):
    """A trader's price (``casino.services.markets.change_odds``): above 1.00, at most 1000, two decimals."""

    default_message = "Enter odds above 1.00 and at most 1000, with at most two decimals (e.g. 2.45)."
    field = "odds"


class SelectionChanged(DomainError):
    """The price was changed by somebody else since the trader loaded it (``expected_version``)."""

    default_message = "This price was changed by somebody else since you opened the page: check it and try again."
    status_code = 409
    field = "odds"

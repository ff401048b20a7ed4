"""Forms for playing slot sessions and for editing games in the admin."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from casino.models import Game
from casino.slots import PaytableError, validate
from core.forms import IdempotentForm, MoneyField

# Quick amounts offered when opening a machine (and feeding it), capped by the account.
QUICK_FEEDS = (Decimal("10.00"), Decimal("20.00"), Decimal("50.00"), Decimal("100.00"))
DEFAULT_FEED = Decimal("20.00")
# The +/- buttons step a stake through these levels (kept inside the game's range).
STAKE_LEVELS = tuple(
    Decimal(v) for v in ("0.10", "0.20", "0.50", "1.00", "2.00", "5.00", "10.00", "20.00", "50.00", "100.00")
)


def quick_feeds(balance: Decimal | None) -> list[Decimal]:
    """The quick amounts the account can pay; the whole balance when it is under the smallest."""
    balance = balance or Decimal(0)
    amounts = [a for a in QUICK_FEEDS if a <= balance]
    if not amounts and balance > 0:
        amounts = [balance]
    return amounts


def default_feed(balance: Decimal | None) -> Decimal | None:
    """What the custom amount starts at: DEFAULT_FEED, or the balance when it is less."""
    balance = balance or Decimal(0)
    return min(DEFAULT_FEED, balance) if balance > 0 else None


def stake_levels(game: Game) -> list[Decimal]:
    """The stakes the +/- buttons step through: the game's minimum, levels inside its range, its maximum."""
    inside = [v for v in STAKE_LEVELS if game.min_stake < v < game.max_stake]
    return sorted({game.min_stake, *inside, game.max_stake})


def stake_range(game: Game, bonus_max_stake: Decimal | None = None) -> tuple[Decimal, Decimal]:
    """The stakes a spin may take: the game's range, its top lowered to the bonus terms'
    maximum stake while a bonus is active (never below the game's minimum)."""
    high = game.max_stake
    if bonus_max_stake is not None:
        high = max(game.min_stake, min(high, bonus_max_stake))
    return game.min_stake, high


METER_TOKEN_MAX_LENGTH = 300


class OpaqueTokenField(forms.CharField):
    """A hidden value the page only carries back: a bad one (too long, NUL bytes) is
    dropped, never an error that would refuse the action it rides along with."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        try:
            value = super().clean(value)
        except forms.ValidationError:
            return ""
        return value if len(value) <= METER_TOKEN_MAX_LENGTH else ""


class SpinForm(IdempotentForm):
    """A paid spin. The hidden key is fresh per render, so a double-submit spins once.

    ``meter`` is opaque to the casino: what the page's bonus wagering meter was drawn
    from (a signed token the promotions template tags make and read), posted back so the
    spin answer redraws the meter without a query. A bad one is dropped, never an error."""

    use_required_attribute = False  # an empty stake gets the server's message, beside the field

    stake = MoneyField(label="Stake")
    meter = OpaqueTokenField()

    def __init__(self, *args, game: Game | None = None, bonus_max_stake: Decimal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stake"].widget.attrs.pop("pattern", None)  # the server's message, not the browser's bubble
        if game is not None:
            self.for_game(game, bonus_max_stake=bonus_max_stake)

    def for_game(self, game: Game, *, bonus_max_stake: Decimal | None = None) -> SpinForm:
        """The stake input's range from the game (``min``/``max``/``step``; the +/- levels),
        its top no higher than the bonus terms' maximum stake while a bonus is active."""
        low, high = stake_range(game, bonus_max_stake)
        levels = sorted({*(v for v in stake_levels(game) if v <= high), high})
        self.fields["stake"].widget.attrs.update(
            {
                "min": f"{low}",
                "max": f"{high}",
                "step": "0.01",
                "data-stake-levels": " ".join(f"{v}" for v in levels),
            }
        )
        return self


class FreeSpinForm(IdempotentForm):
    """A free spin at the grant's stake: only the key."""


class QuickAmountForm(IdempotentForm):
    """An amount typed (``amount``) or a quick-amount button pressed (``chip``, its value):
    the button wins, so pressing "€20" feeds 20 whatever the box holds."""

    # No browser ``required``: it would block the quick-amount buttons while the box is empty;
    # the server says what is missing, beside the field.
    use_required_attribute = False

    chip = MoneyField(required=False, label="Quick amount", widget=forms.HiddenInput)
    amount = MoneyField(label="Amount to feed")
    # Issue 16: the player opts in to bonus money making up what their cash cannot (the
    # pages offer it only to a player with bonus money; the service checks the rest).
    use_bonus = forms.BooleanField(required=False, label="Use bonus funds after my cash")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.pop("pattern", None)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("chip"):
            cleaned["amount"] = cleaned["chip"]
            self.errors.pop("amount", None)
        return cleaned


class FeedForm(QuickAmountForm):
    pass


class OpenSessionForm(QuickAmountForm):
    """Open a machine and feed it in the same step. With no amount at all (an empty account
    with free spins to play) the machine opens unfed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].required = False
        self.fields["idempotency_key"].required = False  # needed only to feed

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("amount") and not cleaned.get("idempotency_key"):
            raise forms.ValidationError("This page has expired: reload it and try again.", code="no_key")
        return cleaned


class GameAdminForm(forms.ModelForm):
    """Reels and paytable are validated by ``casino.slots``, which bounds the RTP and the cost
    of computing it (``MAX_THEORY_STEPS``): a paytable too complex to compute fast is refused."""

    class Meta:
        model = Game
        fields = ["slug", "name", "vendor", "description", "min_stake", "max_stake", "reels", "paytable", "is_active"]
        help_texts = {
            "reels": 'A list of 3-5 reel strips, e.g. [["cherry", "bell", "seven"], [...], [...]].',
            "paytable": 'Rules like {"line": ["seven", "seven", "seven"], "pays": 100}; "*" matches any symbol; '
            "the highest-paying matching rule pays (pays = whole multiple of the stake). A paytable whose "
            "exact RTP would take too long to compute is refused: use fewer rules or symbols in them.",
        }

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_stake"), cleaned.get("max_stake")
        if low is not None and low <= 0:
            self.add_error("min_stake", "The minimum stake must be more than zero.")
        if low is not None and high is not None and high < low:
            self.add_error("max_stake", "The maximum stake must be at least the minimum stake.")
        if "reels" in cleaned and "paytable" in cleaned:
            try:
                self.machine = validate(cleaned["reels"], cleaned["paytable"])
            except PaytableError as exc:
                for field, messages in exc.errors.items():
                    for message in messages:
                        self.add_error(field, message)
        return cleaned


class ClientSeedForm(forms.Form):
    """The player's client seed for a session, before its first spin (issue 17). The
    service checks what a seed may be (``casino.fair.CLIENT_SEED_RE``)."""

    use_required_attribute = False
    client_seed = forms.CharField(
        label="Your client seed",
        max_length=64,
        strip=True,
        help_text="1 to 64 letters, digits, '-' or '_'. Every spin of this session is derived from it.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}),
    )

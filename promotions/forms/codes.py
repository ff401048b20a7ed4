"""Forms for promotion codes: the player's redeem form (staff forms live with the admin)."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from casino.models import Game
from core.exceptions import DomainError
from promotions.models import PromotionCode
from promotions.services.bonus import (
    BONUS_MAX_VALID_DAYS,
    max_wagering_multiple,
    validate_bonus_terms,
    validate_valid_days,
)
from promotions.services.codes import (
    MAX_LIMIT,
    SPEC_FIELDS,
    code_exists,
    normalize_code,
    validate_code_spec,
)


class RedeemForm(forms.Form):
    code = forms.CharField(
        label="Promotion code",
        max_length=80,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": "Enter a promotion code."},
    )


# --- staff (admin) forms: they validate through the service's own validator --------------------
class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def spec_from(cleaned: dict) -> dict:
    """The reward/window/limit keyword arguments of ``issue_code`` from a cleaned form."""
    return {name: cleaned.get(name) for name in SPEC_FIELDS}


# Bonus funds (issue 16): how a bonus-money reward is paid, and the terms it comes with.
BONUS_TERMS = ("wagering_multiple", "bonus_max_stake", "bonus_valid_days", "bonus_conversion_cap")
BONUS_TERMS_HELP = {
    "pays_as": "Cash is withdrawable at once. Bonus funds turn into cash only once wagered "
    "(the terms below, shown to the player before redeeming). Only a bonus-money reward can pay bonus funds.",
    "wagering_multiple": "The player wagers this many times the bonus before it converts to cash: 1 to {limit} "
    "(the regulator's cap: wagering may not exceed {limit}x the bonus).",
    "bonus_max_stake": "The largest stake per spin while the bonus is active.",
    "bonus_valid_days": f"Days from the redemption until the bonus expires (1 to {BONUS_MAX_VALID_DAYS}).",
    "bonus_conversion_cap": "The most cash the bonus can become; empty for no cap (the excess goes back "
    "to the promotions pot).",
}


def bonus_terms_help(name: str) -> str:
    return BONUS_TERMS_HELP[name].format(limit=max_wagering_multiple())


def _check_bonus_terms(form: forms.Form, cleaned: dict) -> None:
    """Say beside each bonus-terms field what is wrong (the service checks the whole again):
    bonus funds need every term, within the rules (the 10x cap); cash takes none."""
    pays_as = cleaned.get("pays_as") or PromotionCode.PaysAs.CASH
    given = [name for name in BONUS_TERMS if cleaned.get(name) not in (None, "")]
    if pays_as != PromotionCode.PaysAs.BONUS:
        if given:
            form.add_error(
                "pays_as", "Bonus terms were given but the code pays cash: pay as bonus funds, or clear the terms."
            )
        return
    if cleaned.get("reward_kind") != PromotionCode.RewardKind.BONUS:
        form.add_error("pays_as", "Only a bonus-money reward can be paid as bonus funds.")
        return
    missing = {
        "wagering_multiple": "Bonus funds need a wagering multiple.",
        "bonus_max_stake": "Bonus funds need a maximum stake while wagering.",
        "bonus_valid_days": "Bonus funds need a validity in days.",
    }
    for name, message in missing.items():
        if cleaned.get(name) in (None, "") and name not in form.errors:
            form.add_error(name, message)
    if any(name in form.errors for name in BONUS_TERMS):
        return
    try:
        validate_bonus_terms(
            wagering_multiple=cleaned["wagering_multiple"],
            max_stake=cleaned["bonus_max_stake"],
            conversion_cap=cleaned.get("bonus_conversion_cap"),
        )
    except DomainError as exc:
        field = {"max_stake": "bonus_max_stake", "conversion_cap": "bonus_conversion_cap"}.get(exc.field, exc.field)
        form.add_error(field if field in form.fields else None, exc.message)
    try:
        validate_valid_days(cleaned["bonus_valid_days"])
    except DomainError as exc:
        form.add_error("bonus_valid_days", exc.message)


def _check_spec(form: forms.Form, cleaned: dict) -> None:
    if form.errors:
        return
    try:
        validate_code_spec(**spec_from(cleaned))
    except DomainError as exc:
        raise forms.ValidationError(exc.message) from exc


class PromotionCodeAdminForm(forms.ModelForm):
    """Issue one code from the admin (saved through ``issue_code``)."""

    class Meta:
        model = PromotionCode
        fields = [
            "code",
            "campaign",
            "reward_kind",
            "bonus_amount",
            "free_spins_game",
            "free_spins_count",
            "free_spin_stake",
            "starts_at",
            "ends_at",
            "limit_policy",
            "limit",
            "pays_as",
            *BONUS_TERMS,
        ]
        help_texts = {
            "code": "Letters, digits, '-' and '_'; stored upper-case without spaces. Players type it in any case.",
            "limit": "Empty for unlimited; the most redemptions for strict/overbook.",
            "limit_policy": "strict never goes over the limit; overbook may overshoot a little under load (reported).",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("pays_as", *BONUS_TERMS):
            if name in self.fields:
                self.fields[name].help_text = bonus_terms_help(name)
        if "pays_as" in self.fields:
            self.fields["pays_as"].required = False  # not sent: cash, the model's default

    def clean_pays_as(self):
        return self.cleaned_data.get("pays_as") or PromotionCode.PaysAs.CASH

    def clean_code(self):
        try:
            code = normalize_code(self.cleaned_data.get("code", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc
        if code_exists(code):
            raise forms.ValidationError(f"The code {code} already exists.")
        return code

    def clean(self):
        cleaned = super().clean()
        _check_bonus_terms(self, cleaned)
        _check_spec(self, cleaned)
        return cleaned


def _this_minute() -> datetime:
    return timezone.now().replace(second=0, microsecond=0)


def _in_30_days() -> datetime:
    return _this_minute() + timedelta(days=30)


# What each reward kind uses; the fields of the other kind are ignored (and hidden on the page).
REWARD_FIELDS = {
    PromotionCode.RewardKind.BONUS: ("bonus_amount",),
    PromotionCode.RewardKind.FREE_SPINS: ("free_spins_game", "free_spins_count", "free_spin_stake"),
}
ALL_REWARD_FIELDS = tuple(name for names in REWARD_FIELDS.values() for name in names)


class BulkIssueForm(forms.Form):
    """Issue N random codes for one campaign.

    Laid out field by field in groups (``groups``); a code runs from now for 30 days unless
    told otherwise. Only the fields of the chosen reward kind count: the others are ignored
    whatever was posted (the page hides them, with or without JavaScript).
    """

    count = forms.IntegerField(min_value=1, max_value=10_000, initial=100, help_text="How many codes (up to 10,000).")
    campaign = forms.CharField(max_length=100, help_text="Groups the codes: the CSV export is per campaign.")
    prefix = forms.CharField(max_length=20, required=False, help_text="Optional, e.g. SUMMER-")
    length = forms.IntegerField(min_value=6, max_value=30, initial=10, help_text="Random characters per code.")
    reward_kind = forms.ChoiceField(
        choices=PromotionCode.RewardKind.choices, initial=PromotionCode.RewardKind.BONUS, widget=forms.RadioSelect
    )
    bonus_amount = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="Credited to the player's account per redemption.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    free_spins_game = forms.ModelChoiceField(
        queryset=Game.objects.filter(is_active=True),
        required=False,
        label="Game",
        help_text="Where the spins are played.",
    )
    free_spins_count = forms.IntegerField(
        min_value=1, required=False, label="Spins per code", help_text="How many free spins each code gives."
    )
    free_spin_stake = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        label="Stake per spin",
        help_text="Within the game's stake range.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    pays_as = forms.ChoiceField(
        label="Pays as",
        choices=PromotionCode.PaysAs.choices,
        initial=PromotionCode.PaysAs.CASH,
        required=False,
        widget=forms.RadioSelect,
    )
    wagering_multiple = forms.IntegerField(required=False, label="Wagering multiple")
    bonus_max_stake = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        label="Maximum stake while wagering",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    bonus_valid_days = forms.IntegerField(required=False, label="Bonus valid for (days)")
    bonus_conversion_cap = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        label="Conversion cap",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    starts_at = forms.DateTimeField(
        widget=DateTimeLocalInput(), initial=_this_minute, label="Starts", help_text="UTC. Defaults to now."
    )
    ends_at = forms.DateTimeField(
        widget=DateTimeLocalInput(),
        initial=_in_30_days,
        label="Ends",
        help_text="UTC, exclusive. Defaults to 30 days from now.",
    )
    limit_policy = forms.ChoiceField(choices=PromotionCode.LimitPolicy.choices, initial="unlimited")
    limit = forms.IntegerField(
        min_value=1, max_value=MAX_LIMIT, required=False, help_text="Redemptions per code; empty for unlimited."
    )

    # (legend, fields, the reward kind it belongs to: the page shows it only for that kind)
    groups = (
        ("Codes", ("count", "campaign", "prefix", "length"), ""),
        ("Reward", ("reward_kind",), ""),
        ("Bonus terms", ("pays_as", *BONUS_TERMS), PromotionCode.RewardKind.BONUS),
        ("Validity", ("starts_at", "ends_at"), ""),
        ("Limit", ("limit_policy", "limit"), ""),
    )
    reward_groups = (
        (PromotionCode.RewardKind.BONUS, "Bonus money", REWARD_FIELDS[PromotionCode.RewardKind.BONUS]),
        (PromotionCode.RewardKind.FREE_SPINS, "Free spins", REWARD_FIELDS[PromotionCode.RewardKind.FREE_SPINS]),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("pays_as", *BONUS_TERMS):
            self.fields[name].help_text = bonus_terms_help(name)

    def fieldsets(self) -> list[tuple[str, list, str]]:
        """(legend, bound fields, reward kind or "") in page order, without the reward kind's own fields."""
        return [(legend, [self[name] for name in names], kind) for legend, names, kind in self.groups]

    def reward_fieldsets(self) -> list[tuple[str, str, list]]:
        """(reward kind, legend, bound fields) of each kind's own fields."""
        return [(kind, legend, [self[name] for name in names]) for kind, legend, names in self.reward_groups]

    def clean_prefix(self):
        prefix = self.cleaned_data.get("prefix", "")
        if not prefix.strip():
            return ""
        try:
            return normalize_code(prefix)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("reward_kind")
        used = REWARD_FIELDS.get(kind, ALL_REWARD_FIELDS)
        for name in ALL_REWARD_FIELDS:
            if name not in used:  # another kind's field: ignored, whatever was posted
                cleaned[name] = None
                self.errors.pop(name, None)
        cleaned["pays_as"] = cleaned.get("pays_as") or PromotionCode.PaysAs.CASH
        if kind != PromotionCode.RewardKind.BONUS or cleaned["pays_as"] == PromotionCode.PaysAs.CASH:
            # Bonus terms belong to a bonus paid as bonus funds: otherwise ignored (and hidden on the page).
            cleaned["pays_as"] = PromotionCode.PaysAs.CASH
            if kind != PromotionCode.RewardKind.BONUS:
                self.errors.pop("pays_as", None)
            for name in BONUS_TERMS:
                cleaned[name] = None
                self.errors.pop(name, None)
        self._check_each_field(cleaned, kind)
        _check_bonus_terms(self, cleaned)
        _check_spec(self, cleaned)
        return cleaned

    def _check_each_field(self, cleaned: dict, kind) -> None:
        """Say beside each field what it lacks (the service checks the whole again, just after)."""
        if kind == PromotionCode.RewardKind.BONUS and cleaned.get("bonus_amount") is None:
            self._missing("bonus_amount", "A bonus code needs a bonus amount.")
        if kind == PromotionCode.RewardKind.FREE_SPINS:
            if cleaned.get("free_spins_game") is None:
                self._missing("free_spins_game", "Pick the game the free spins are played on.")
            if cleaned.get("free_spins_count") is None:
                self._missing("free_spins_count", "Say how many free spins each code gives.")
            if cleaned.get("free_spin_stake") is None:
                self._missing("free_spin_stake", "Give the stake of each free spin.")
        policy = cleaned.get("limit_policy")
        if policy in (PromotionCode.LimitPolicy.STRICT, PromotionCode.LimitPolicy.OVERBOOK):
            if cleaned.get("limit") is None:
                self._missing("limit", "A strict or overbook code needs a limit of at least 1.")
        elif policy == PromotionCode.LimitPolicy.UNLIMITED and cleaned.get("limit") is not None:
            self._missing("limit", "An unlimited code has no limit: leave it empty or pick strict or overbook.")
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self._missing("ends_at", "The end must be after the start.")

    def _missing(self, name: str, message: str) -> None:
        if name not in self.errors:
            self.add_error(name, message)

"""Forms for promotion codes: the player's redeem form (staff forms live with the admin)."""

from django import forms

from casino.models import Game
from core.exceptions import DomainError
from promotions.models import PromotionCode
from promotions.services.codes import MAX_LIMIT, SPEC_FIELDS, code_exists, normalize_code, validate_code_spec


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
        ]
        help_texts = {
            "code": "Letters, digits, '-' and '_'; stored upper-case without spaces. Players type it in any case.",
            "limit": "Empty for unlimited; the most redemptions for strict/overbook.",
            "limit_policy": "strict never goes over the limit; overbook may overshoot a little under load (reported).",
        }

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
        _check_spec(self, cleaned)
        return cleaned


class BulkIssueForm(forms.Form):
    """Issue N random codes for one campaign."""

    count = forms.IntegerField(min_value=1, max_value=10_000, initial=100, help_text="How many codes (up to 10000).")
    campaign = forms.CharField(max_length=100)
    prefix = forms.CharField(max_length=20, required=False, help_text="Optional, e.g. SUMMER-")
    length = forms.IntegerField(min_value=6, max_value=30, initial=10, help_text="Random characters per code.")
    reward_kind = forms.ChoiceField(choices=PromotionCode.RewardKind.choices)
    bonus_amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False)
    free_spins_game = forms.ModelChoiceField(queryset=Game.objects.filter(is_active=True), required=False)
    free_spins_count = forms.IntegerField(min_value=1, required=False)
    free_spin_stake = forms.DecimalField(max_digits=14, decimal_places=2, required=False)
    starts_at = forms.DateTimeField(widget=DateTimeLocalInput(), help_text="UTC")
    ends_at = forms.DateTimeField(widget=DateTimeLocalInput(), help_text="UTC, exclusive")
    limit_policy = forms.ChoiceField(choices=PromotionCode.LimitPolicy.choices, initial="unlimited")
    limit = forms.IntegerField(
        min_value=1, max_value=MAX_LIMIT, required=False, help_text="Per code; empty for unlimited."
    )

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
        _check_spec(self, cleaned)
        return cleaned

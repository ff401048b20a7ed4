from django import forms

from accounts.selectors.responsible import PERIOD_LABELS
from accounts.services.responsible import BREAK_DAYS, EXCLUSION_DAYS
from core.forms import MoneyField

_DAYS_LABELS = {
    1: "24 hours",
    7: "7 days",
    30: "1 month",
    91: "3 months",
    182: "6 months",
    365: "1 year",
    1825: "5 years",
}


class DepositLimitsForm(forms.Form):
    """Blank means "no limit". Lower values apply at once; higher ones after 24 hours."""

    daily = MoneyField(label=f"{PERIOD_LABELS['daily']} limit", required=False)
    weekly = MoneyField(label=f"{PERIOD_LABELS['weekly']} limit", required=False)
    monthly = MoneyField(label=f"{PERIOD_LABELS['monthly']} limit", required=False)

    def clean(self):
        cleaned = super().clean()
        for name in ("daily", "weekly", "monthly"):
            if cleaned.get(name) in ("", None):
                cleaned[name] = None
        return cleaned


class _ConfirmedForm(forms.Form):
    """Asked twice, without JS: the first post (no ``confirmed``) answers with a confirmation
    step that spells out the consequences; its own form posts the same choice with
    ``confirmed``, and only that one acts."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    id_prefix = "id_%s"  # both forms share one page and the field name "days": their ids must differ

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", self.id_prefix)
        super().__init__(*args, **kwargs)

    def length_label(self) -> str:
        return _DAYS_LABELS.get(self.cleaned_data.get("days"), "")


class BreakForm(_ConfirmedForm):
    id_prefix = "id_break_%s"
    days = forms.TypedChoiceField(
        label="Break length",
        choices=[(d, _DAYS_LABELS[d]) for d in BREAK_DAYS],
        coerce=int,
        widget=forms.RadioSelect,
        initial=BREAK_DAYS[0],
    )


class SelfExclusionForm(_ConfirmedForm):
    id_prefix = "id_exclusion_%s"
    days = forms.TypedChoiceField(
        label="Exclude me for", choices=[(d, _DAYS_LABELS[d]) for d in EXCLUSION_DAYS], coerce=int
    )

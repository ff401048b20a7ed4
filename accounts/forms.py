import uuid

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.exceptions import InvalidAmount
from accounts.models import User
from accounts.money import parse_amount


class MoneyField(forms.CharField):
    """A money input validated by the same rules as the services (no floats,
    no exponents, no unicode digits, at most two decimals)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off", "pattern": r"[0-9]+(\.[0-9]{1,2})?"})

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return parse_amount(value, field=str(self.label or "Amount"))
        except InvalidAmount as exc:
            raise forms.ValidationError(exc.message, code="invalid_amount") from exc


class IdempotentForm(forms.Form):
    """Carries a one-time key rendered into the page, so a double-click or a
    resubmit of the same page moves money once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


class AmountForm(IdempotentForm):
    amount = MoneyField(label="Amount")


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

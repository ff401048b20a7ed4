"""Form pieces every app's forms share, and the one mapping of a domain error onto a form."""

from __future__ import annotations

import uuid

from django import forms

from core.exceptions import DomainError, InvalidAmount
from core.idempotency import KEY_MAX_LENGTH
from core.money import parse_amount


class MoneyField(forms.CharField):
    """A money input validated by the same rules as the services (no floats,
    no exponents, no unicode digits, at most two decimals).

    No browser ``pattern``: its generic bubble would hide the server's message, which
    says what to type. Phones get the decimal keypad (``inputmode``). Django renders an
    invalid field with ``aria-invalid`` and ``aria-describedby`` pointing at its errors.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

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

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=KEY_MAX_LENGTH)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


def add_domain_error(form: forms.Form, error: DomainError, *, default_field: str | None = None) -> None:
    """Show ``error`` on ``form``, the one mapping every view uses.

    An error about an input (``error.field`` set) goes beside that field if the form
    has it, else beside ``default_field`` (the form's money input: a stake, an
    amount); an error about the whole action (``field`` None) goes above the form.
    """
    name = None
    if error.field is not None:
        name = error.field if error.field in form.fields else default_field
    form.add_error(name if name in form.fields else None, error.message)

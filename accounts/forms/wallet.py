from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User
from core.forms import IdempotentForm, MoneyField


class AmountForm(IdempotentForm):
    amount = MoneyField(label="Amount")


class WithdrawForm(AmountForm):
    """A withdrawal is asked twice: the first post shows the amount to confirm, the
    second (``confirmed``, carried by the confirmation's own form) moves the money."""

    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User
from core.forms import IdempotentForm, MoneyField


class AmountForm(IdempotentForm):
    amount = MoneyField(label="Amount")


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

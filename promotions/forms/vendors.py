"""Forms for vendor promotions (the admin inline). They validate input and
dry-run the aggregate's check so staff see errors on the form; the service
re-checks atomically when saving."""

from __future__ import annotations

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from core.exceptions import DomainError
from promotions.models import PromotionHistory, VendorPromotion
from promotions.services.vendors import (
    PARAMS_BY_KIND,
    PAST_GRACE,
    Window,
    check_invariants,
    clean_params,
    validate_window,
)

PARAM_FIELDS = ("free_spins_count", "free_spin_stake", "percent")


class VendorPromotionForm(forms.ModelForm):
    """One promotion row. A promotion's type is fixed once created; the
    parameters that do not apply to the type are ignored (and must be empty)."""

    class Meta:
        model = VendorPromotion
        fields = ("kind", "starts_at", "ends_at", "free_spins_count", "free_spin_stake", "percent")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "The type of an existing promotion cannot change."

    def clean(self):
        data = super().clean()
        if self.errors or not self.has_changed() or data.get("DELETE"):
            return data
        kind = data.get("kind")
        params = {name: data.get(name) for name in PARAM_FIELDS if data.get(name) is not None}
        try:
            self.cleaned_params = clean_params(kind, params)
        except DomainError as exc:
            field = _field_for(exc.message, kind)
            self.add_error(field, exc.message)
            return data
        started = None
        if self.instance.pk and self.instance.starts_at <= timezone.now():
            started = self.instance.starts_at
        try:
            validate_window(data.get("starts_at"), data.get("ends_at"), now=timezone.now(), started=started)
        except DomainError as exc:
            self.add_error(None, exc.message)
        return data

    def window(self) -> Window:
        data = self.cleaned_data
        return Window(kind=data["kind"], starts_at=data["starts_at"], ends_at=data["ends_at"], pk=self.instance.pk)

    @property
    def params(self) -> dict:
        kind = self.cleaned_data["kind"]
        return {name: self.cleaned_params[name] for name in PARAMS_BY_KIND[kind]}


def _field_for(message: str, kind) -> str | None:
    lowered = message.lower()
    if "percent" in lowered:
        return "percent"
    if "stake" in lowered:
        return "free_spin_stake"
    if "spins" in lowered and kind == "free_spins":
        return "free_spins_count"
    return None


class VendorPromotionFormSet(BaseInlineFormSet):
    """Checks the vendor's promotions as they would be after the whole submit:
    each added or changed row against all the others (deleted rows left out)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        now = timezone.now()
        deleted = {f.instance.pk for f in self.deleted_forms if f.instance.pk}
        changed = [f for f in self.forms if f.has_changed() and f not in self.deleted_forms and f.cleaned_data]
        changed_pks = {f.instance.pk for f in changed if f.instance.pk}
        others: list = []
        if self.instance.pk:
            others += [
                p
                for p in VendorPromotion.objects.filter(vendor=self.instance, ends_at__gt=now)
                if p.pk not in deleted and p.pk not in changed_pks
            ]
            recent = PromotionHistory.objects.filter(vendor=self.instance, ends_at__gt=now - PAST_GRACE)
            others += list(recent)
        windows = [(f, f.window()) for f in changed]
        for form, window in windows:
            rest = others + [w for f, w in windows if f is not form]
            try:
                check_invariants(kind=window.kind, starts_at=window.starts_at, ends_at=window.ends_at, others=rest)
            except DomainError as exc:
                form.add_error(None, exc.message)

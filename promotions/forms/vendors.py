"""Forms for vendor promotions (the admin inline). They validate input and
dry-run the aggregate's check so staff see errors on the form; the service
re-checks atomically when saving."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from core.exceptions import DomainError
from promotions.models import PromotionHistory, VendorPromotion
from promotions.models.vendors import PaysAs, PromotionKind
from promotions.services.vendors import (
    BONUS_TERMS,
    PARAMS_BY_KIND,
    PAST_GRACE,
    Window,
    check_free_spin_stake,
    check_invariants,
    clean_params,
    validate_window,
)

PARAM_FIELDS = ("free_spins_count", "free_spin_stake", "percent", *BONUS_TERMS)
WINDOW_FIELDS = ("starts_at", "ends_at")


def posted_back(posted: datetime | None, stored: datetime | None) -> bool:
    """Whether ``posted`` is ``stored`` as an input that showed it sends it back.

    HTML inputs cannot carry a stored instant whole: the admin's date and time
    boxes drop the microseconds, a datetime-local input the seconds too. A
    promotion written in code (``starts_at=timezone.now()``) has both, so the
    value posted for an untouched field is the stored one truncated.
    """
    if posted is None or stored is None:
        return False
    return posted in (stored, stored.replace(microsecond=0), stored.replace(second=0, microsecond=0))


class VendorPromotionForm(forms.ModelForm):
    """One promotion row. A promotion's type is fixed once created; the
    parameters that do not apply to the type are ignored (and must be empty)."""

    # Not posted (an older client, a test) is "cash" and no change: cash stays cash.
    pays_as = forms.TypedChoiceField(
        label="Pays as",
        choices=PaysAs.choices,
        coerce=str,
        empty_value=PaysAs.CASH,
        required=False,
        initial=PaysAs.CASH,
        help_text=VendorPromotion._meta.get_field("pays_as").help_text,
    )

    class Meta:
        model = VendorPromotion
        fields = ("kind", "starts_at", "ends_at", "free_spins_count", "free_spin_stake", "percent", *BONUS_TERMS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["kind"].disabled = True
            self.fields["kind"].help_text = "The type of an existing promotion cannot change."

    @property
    def changed_data(self) -> list[str]:
        # A start or end posted back as shown (truncated by the input) is unchanged:
        # otherwise every save of the vendor would "edit" a promotion made in code.
        return [name for name in super().changed_data if not self._posted_back(name)]

    def _posted_back(self, name: str) -> bool:
        # Against ``initial`` (the stored values, whole): once the form is cleaned
        # the instance holds the posted ones.
        if name not in WINDOW_FIELDS or not self.instance.pk:
            return False
        field = self[name]
        try:
            posted = field.field.clean(field.data)
        except ValidationError:
            return False
        return posted_back(posted, self.initial.get(name))

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            # Keep the stored instant for a start or end posted back unchanged, so
            # a started promotion keeps its exact start while its end moves (the
            # service still refuses any real change of a started one's start).
            for name in WINDOW_FIELDS:
                if posted_back(data.get(name), self.initial.get(name)):
                    data[name] = self.initial[name]
        if self.errors or not self.has_changed() or data.get("DELETE"):
            return data
        kind = data.get("kind")
        params = {name: data.get(name) for name in PARAM_FIELDS if data.get(name) is not None}
        try:
            self.cleaned_params = clean_params(kind, params)
            stake = self.cleaned_params["free_spin_stake"]
            if kind == PromotionKind.FREE_SPINS and (not self.instance.pk or stake != self.instance.free_spin_stake):
                check_free_spin_stake(vendor_id=self.instance.vendor_id, stake=stake)
        except DomainError as exc:
            self.add_error(exc.field or _field_for(exc.message, kind), exc.message)
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

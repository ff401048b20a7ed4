"""Admin pieces every app shares, and the audit trail (read only)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.html import format_html
from django.utils.text import capfirst

from core.db import LinkLocked, translate_locked_links
from core.models import AuditLog


def posted_changes(form, names) -> list[str]:
    """Which of ``names`` (model fields absent from ``form``: read-only) the POST would change on ``form.instance``."""
    changed = []
    for name in names:
        key = form.add_prefix(name)
        if key not in form.data:
            continue  # not posted: the read-only display sends nothing
        raw = form.data.get(key)
        field = form.instance._meta.get_field(name)
        current = getattr(form.instance, field.attname)
        if field.is_relation:
            differs = str(raw).strip() != ("" if current is None else str(current))
        else:
            try:
                differs = field.formfield().clean(raw) != current
            except ValidationError:
                differs = True
        if differs:
            changed.append(name)
    return changed


class LockedFieldsAdminMixin:
    """For a ``ModelAdmin`` whose objects have fields the database locks under a condition.

    Subclasses say which fields are locked on ``obj`` now, and why, in ``locked_fields``.
    """

    def locked_fields(self, request, obj) -> tuple[tuple[str, ...], str]:
        """(field names locked on ``obj`` now, the reason shown to staff); ``((), "")`` when none."""
        return (), ""

    def _locks(self, request, obj) -> tuple[tuple[str, ...], str]:
        if obj is None or obj.pk is None:
            return (), ""
        cache = request.__dict__.setdefault("_locked_fields", {})  # asked several times per request
        key = (obj._meta.label, obj.pk)
        if key not in cache:
            cache[key] = self.locked_fields(request, obj)
        return cache[key]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        names, _ = self._locks(request, obj)
        return readonly + tuple(name for name in names if name not in readonly)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        names, reason = self._locks(request, obj)
        if not names or not fieldsets:
            return fieldsets
        (title, options), *rest = fieldsets
        # The admin renders a fieldset description unescaped: format_html escapes the reason.
        note = format_html('<strong class="locked-note">{}</strong>', reason)
        if options.get("description"):
            note = format_html("{}<br>{}", options["description"], note)
        return [(title, {**options, "description": note}), *rest]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        names, reason = self._locks(request, obj)
        if not names:
            return form

        class LockedFieldsForm(form):
            def clean(self):
                cleaned = super().clean()
                changed = posted_changes(self, names)
                if changed:
                    labels = ", ".join(str(capfirst(self.instance._meta.get_field(n).verbose_name)) for n in changed)
                    self.add_error(None, f"{reason} Not saved: {labels} would have changed.")
                return cleaned

        LockedFieldsForm.__name__ = form.__name__
        return LockedFieldsForm

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            with translate_locked_links():  # outside the admin's atomic(): it has rolled back
                return super().changeform_view(request, object_id, form_url, extra_context)
        except LinkLocked as exc:
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class BoundedInlineMixin:
    """An inline whose formset never builds more than ``ABSOLUTE_MAX`` forms, whatever a
    POST claims in ``TOTAL_FORMS`` (Django's default bound is 1,000 more than ``max_num``:
    one hostile request would build and render thousands of forms)."""

    ABSOLUTE_MAX = 100

    def get_formset(self, request, obj=None, **kwargs):
        kwargs.setdefault("absolute_max", self.ABSOLUTE_MAX)
        kwargs.setdefault("max_num", self.ABSOLUTE_MAX)
        return super().get_formset(request, obj, **kwargs)


class LabelledWidgetsMixin:
    """Every input of a ``ModelAdmin`` or inline gets an accessible name (axe: label, select-name).

    Django's admin names most inputs with a ``<label for>``, but not the date and time boxes of a
    split date-time (their "Date:"/"Time:" captions are plain text) nor any input of a tabular inline
    (its column header is a ``<th>``). Those get an ``aria-label``: the field's label, plus "date" or
    "time" for the two halves.
    """

    label_every_widget = False  # a tabular inline: no <label> at all, label the single inputs too

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            label_widget(formfield.widget, str(capfirst(formfield.label or db_field.verbose_name)),
                         single=self.label_every_widget)  # fmt: skip
        return formfield


def label_widget(widget, label: str, *, single: bool) -> None:
    """Give ``widget`` (and a multi-widget's parts) an ``aria-label`` unless it has one."""
    widget = getattr(widget, "widget", widget)  # the related-object wrapper
    parts = getattr(widget, "widgets", None)
    if parts:
        names = ("date", "time") if len(parts) == 2 else tuple(str(i + 1) for i in range(len(parts)))
        for part, name in zip(parts, names, strict=True):
            part.attrs.setdefault("aria-label", f"{label} ({name})")
    elif single:
        widget.attrs.setdefault("aria-label", label)


class ReadOnlyAdminMixin:
    """The ledger and money fields are append-only: viewable, never edited in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target")
    list_filter = ("action",)
    search_fields = ("target", "actor__username")
    readonly_fields = ("actor", "action", "target", "details", "created_at")

"""Login throttling helpers (django-axes)."""

from django.contrib.auth import get_user_model


def attempted_username(request, credentials: dict | None) -> str:
    """The username axes records for an attempt, cut to what a username can be."""
    field = get_user_model().USERNAME_FIELD
    raw = (credentials or {}).get(field) or request.POST.get(field, "")
    return str(raw)[: get_user_model()._meta.get_field(field).max_length]

"""The audit writer: every staff action records who did what, in its own transaction."""

from __future__ import annotations

from django.db import transaction

from core.models import AuditLog


def audit(*, actor, action: str, target: str, **details) -> AuditLog:
    """Record a staff action. Call it inside the transaction of the action it records
    (Zulip's ``do_*`` style), so the row exists exactly when the action committed."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit() must run inside the audited action's transaction")
    return AuditLog.objects.create(actor=actor, action=action, target=target[:200], details=details)

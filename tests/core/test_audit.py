"""The audit writer runs only inside the action it records, so a rolled-back action
leaves no audit row and a committed one always has it."""

from decimal import Decimal

import pytest
from django.db import transaction

from casino import services
from core.audit import audit
from core.models import AuditLog
from tests.helpers.sportsbook import make_event, result_for, selections


def test_audit_outside_a_transaction_is_refused(transactional_db, staff):
    with pytest.raises(RuntimeError, match="inside the audited action"):
        audit(actor=staff, action="x", target="y")
    assert not AuditLog.objects.exists()


def test_an_action_rolled_back_leaves_no_audit_row(db, staff, player):
    event = make_event()
    home, _, _ = selections(event)
    services.place_sportsbet(player=player, selection=home, stake="10", idempotency_key="b")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.settle_event(event=event, result=result_for(event, home), actor=staff)
        assert AuditLog.objects.filter(action="sportsbook.settle_event").count() == 1
        raise RuntimeError("something after the settlement failed")
    assert not AuditLog.objects.filter(action="sportsbook.settle_event").exists()


def test_staff_payouts_are_audited_one_row_per_payout_with_the_money(db, staff, player):
    event = make_event()
    home, _, _ = selections(event)
    for key in ("a", "b"):
        services.place_sportsbet(player=player, selection=home, stake="10", idempotency_key=key)
    services.settle_event(event=event, result=result_for(event, home))
    paid = services.pay_out_player(player=player, actor=staff)
    rows = AuditLog.objects.filter(action="sportsbook.pay_out_player").order_by("id")
    assert [r.target for r in rows] == [f"payout:{p.pk}" for p in paid]
    assert all(r.actor == staff and Decimal(r.details["amount"]) == p.amount for r, p in zip(rows, paid, strict=True))
    assert services.pay_out_player(player=player, actor=staff) == []  # nothing more to pay: no more rows
    assert rows.count() == 2

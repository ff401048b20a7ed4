"""The account's activity timeline for staff: how often, and how briefly, the
hottest aggregate is touched, next to the game sessions that absorb play and
the optimistic conflicts that did happen. Read-only; drawn as server-side SVG."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from accounts import hooks
from accounts.models import Account, LedgerEntry, LedgerTransaction, ledger_code_for_player
from core import metrics

LANES = [
    ("deposit", "Deposits / withdrawals", {"deposit", "withdrawal"}),
    ("feed", "Feeds (account → machine)", {"feed"}),
    ("cash_out", "Cash-outs (machine → account)", {"cash_out"}),
    ("stake", "Sportsbet stakes", {"bet_stake"}),
    ("payout", "Payouts", {"payout"}),
    ("promo", "Promotions", {"redemption", "promotion", "adjustment"}),
]
WIDTH, LANE_HEIGHT, LEFT, TOP = 900, 34, 230, 30


@dataclass
class Timeline:
    start: datetime
    end: datetime
    lanes: list[dict] = field(default_factory=list)
    sessions: list[dict] = field(default_factory=list)
    conflicts: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    account_writes: int = 0
    spins: int = 0
    height: int = 0
    sessions_y: int = 0
    conflicts_y: int = 0
    width: int = WIDTH
    left: int = LEFT
    ticks: list[dict] = field(default_factory=list)


def _x(when: datetime, start: datetime, end: datetime) -> float:
    span = max((end - start).total_seconds(), 1.0)
    return LEFT + (WIDTH - LEFT - 10) * (when - start).total_seconds() / span


def player_timeline(*, player, hours: int = 24, now: datetime | None = None) -> Timeline:
    """Everything that wrote ``player``'s account in the last ``hours`` (at most 2000 writes),
    with the spans other apps report for the same player (``accounts.hooks.activity_spans``:
    the game sessions that absorbed play)."""
    end = now or timezone.now()
    start = end - timedelta(hours=hours)
    entries = list(
        LedgerEntry.objects.filter(account=ledger_code_for_player(player.pk), transaction__created_at__gte=start)
        .select_related("transaction")
        .order_by("-id")[:2000]
    )
    spans = [span for provider in hooks.activity_spans for span in provider(player, start, end)]
    account = Account.objects.filter(user=player).first()
    conflict_events = [
        (ts, event)
        for ts, event, label, pk in metrics.recent_events(10_000)
        if label == "accounts.account" and account and pk == str(account.pk) and ts >= start.timestamp()
    ]
    tl = Timeline(start=start, end=end)
    by_kind: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_kind.setdefault(entry.transaction.kind, []).append(entry)
    for row, (key, label, kinds) in enumerate(LANES):
        y = TOP + row * LANE_HEIGHT
        marks = [
            {"x": round(_x(e.transaction.created_at, start, end), 1), "amount": e.amount, "when": e.created_at}
            for kind in kinds
            for e in by_kind.get(kind, [])
        ]
        tl.lanes.append({"key": key, "label": label, "y": y, "marks": marks, "count": len(marks)})
        tl.counts[key] = len(marks)
    tl.account_writes = len(entries)
    y_sessions = TOP + len(LANES) * LANE_HEIGHT
    for span in spans:
        x1 = _x(max(span.started_at, start), start, end)
        x2 = _x(span.ended_at or end, start, end)
        tl.sessions.append(
            {"x": round(x1, 1), "w": round(max(x2 - x1, 2), 1), "y": y_sessions, "spins": span.count, "span": span}
        )
        tl.spins += span.count
    y_conflicts = y_sessions + LANE_HEIGHT
    for ts, event in conflict_events:
        when = datetime.fromtimestamp(ts, tz=end.tzinfo)
        tl.conflicts.append({"x": round(_x(when, start, end), 1), "y": y_conflicts, "event": event})
    tl.counts["conflicts"] = sum(1 for _, e in conflict_events if e == "conflict")
    tl.counts["retries"] = sum(1 for _, e in conflict_events if e == "retry")
    tl.sessions_y, tl.conflicts_y = y_sessions, y_conflicts
    tl.height = y_conflicts + LANE_HEIGHT + 20
    tl.ticks = [
        {"x": round(_x(start + (end - start) * i / 6, start, end), 1), "label": start + (end - start) * i / 6}
        for i in range(7)
    ]
    return tl


def counters_by_aggregate() -> list[dict]:
    """Conflicts, retries and exhausted retries per aggregate type since start (all processes)."""
    rows: dict[str, dict] = {}
    for key, value in metrics.shared_counts().items():
        event, _, label = key.partition(":")
        rows.setdefault(label, {"label": label, "conflict": 0, "retry": 0, "exhausted": 0})[event] = value
    return sorted(rows.values(), key=lambda r: r["label"])


KIND_LABELS = dict(LedgerTransaction.Kind.choices)

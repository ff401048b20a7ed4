"""Proof that the books balance: every transaction sums to zero and every
stored balance equals the sum of its ledger entries.

Ledger entries are partitioned by month (issue 20): every query here reads the parent table, so
it sums across all partitions. One more check: the DEFAULT partitions of the partitioned tables
(``settings.PARTITIONED_TABLES``) are empty; a row there means its month has no partition.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, field
from decimal import Decimal

from django.db import connection

from accounts import hooks, ledger
from accounts.hooks import BalanceSource
from core import partitions

# The player accounts; higher apps add their balance-holding aggregates (game sessions)
# through ``accounts.hooks.balance_sources``.
ACCOUNTS = BalanceSource(label="account", table="accounts_account", key_column="user_id", prefix="player:")


def balance_sources() -> list[BalanceSource]:
    return [ACCOUNTS, *hooks.balance_sources]


@dataclass
class Report:
    transactions: int = 0
    entries: int = 0
    unbalanced_transactions: list[tuple[int, Decimal]] = field(default_factory=list)
    balance_mismatches: list[tuple[str, int, Decimal, Decimal]] = field(default_factory=list)
    orphan_accounts: list[tuple[str, Decimal]] = field(default_factory=list)
    checked_balances: dict[str, int] = field(default_factory=dict)
    stored_totals: dict[str, Decimal] = field(default_factory=dict)
    system_balances: dict[str, Decimal] = field(default_factory=dict)
    # table -> rows in its DEFAULT partition (should be 0: a row there has no month partition)
    default_partition_rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.unbalanced_transactions
            or self.balance_mismatches
            or self.orphan_accounts
            or any(self.default_partition_rows.values())
        )

    def lines(self) -> list[str]:
        out = [f"{self.transactions} transactions, {self.entries} entries"]
        for label, count in self.checked_balances.items():
            out.append(f"{count} {label} balances checked, stored total {self.stored_totals[label]}")
        for code, total in self.system_balances.items():
            out.append(f"{code}: {total}")
        for tx_id, total in self.unbalanced_transactions:
            out.append(f"UNBALANCED transaction #{tx_id}: entries sum to {total}")
        for label, key, stored, summed in self.balance_mismatches:
            out.append(f"MISMATCH {label} {key}: stored {stored}, ledger {summed}")
        for code, total in self.orphan_accounts:
            out.append(f"ORPHAN ledger account {code} with {total} and no stored balance")
        for table, rows in self.default_partition_rows.items():
            if rows:
                out.append(
                    f"MISSING PARTITION {table}: {rows} rows in its default partition "
                    f"({partitions.default_partition_name(table)}); run manage.py partitions --ensure"
                )
            else:
                out.append(f"{table}: default partition empty")
        out.append("OK: the ledger reconciles" if self.ok else "FAILED: the ledger does not reconcile")
        return out


def reconcile() -> Report:
    report = Report()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM accounts_ledgertransaction")
        report.transactions = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM accounts_ledgerentry")
        report.entries = cur.fetchone()[0]
        cur.execute(
            "SELECT transaction_id, SUM(amount) FROM accounts_ledgerentry GROUP BY transaction_id "
            "HAVING SUM(amount) <> 0 ORDER BY transaction_id LIMIT 1000"
        )
        report.unbalanced_transactions = list(cur.fetchall())
        cur.execute(
            "SELECT t.id FROM accounts_ledgertransaction t "
            "WHERE NOT EXISTS (SELECT 1 FROM accounts_ledgerentry e WHERE e.transaction_id = t.id) LIMIT 1000"
        )
        report.unbalanced_transactions += [(row[0], Decimal("0")) for row in cur.fetchall()]
        for label, table, key, prefix, balance in (astuple(source) for source in balance_sources()):
            cur.execute(
                f"""
                WITH sums AS (
                    SELECT account, SUM(amount) AS total FROM accounts_ledgerentry
                    WHERE account LIKE %s GROUP BY account
                )
                SELECT s.{key}, s.{balance}, COALESCE(sums.total, 0)
                FROM {table} s LEFT JOIN sums ON sums.account = %s || s.{key}::text
                WHERE s.{balance} <> COALESCE(sums.total, 0)
                ORDER BY s.{key} LIMIT 1000
                """,  # noqa: S608 - table and column names come from the constant above
                [prefix + "%", prefix],
            )
            report.balance_mismatches += [(label, k, stored, summed) for k, stored, summed in cur.fetchall()]
            cur.execute(
                f"""
                SELECT e.account, SUM(e.amount) FROM accounts_ledgerentry e
                WHERE e.account LIKE %s AND NOT EXISTS (
                    SELECT 1 FROM {table} s WHERE %s || s.{key}::text = e.account)
                GROUP BY e.account LIMIT 1000
                """,  # noqa: S608
                [prefix + "%", prefix],
            )
            report.orphan_accounts += list(cur.fetchall())
            cur.execute(f"SELECT count(*), COALESCE(SUM({balance}), 0) FROM {table}")  # noqa: S608
            count, total = cur.fetchone()
            report.checked_balances[label] = count
            report.stored_totals[label] = total
        cur.execute(
            "SELECT account, SUM(amount) FROM accounts_ledgerentry WHERE account LIKE 'system:%%' "
            "GROUP BY account ORDER BY account"
        )
        report.system_balances = dict(cur.fetchall())
        for code in ledger.SYSTEM_ACCOUNTS:
            report.system_balances.setdefault(code, Decimal("0.00"))
    for table in partitions.partitioned_tables():
        rows = partitions.default_partition_rows(table)
        if rows is not None:  # None: not partitioned (yet), nothing to check
            report.default_partition_rows[table] = rows
    return report

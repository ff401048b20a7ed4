import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts import services

pytestmark = pytest.mark.django_db


def test_reconcile_passes_on_honest_books(player, capsys):
    services.withdraw(player=player, amount="3", idempotency_key="w")
    call_command("reconcile")
    assert "OK: the ledger reconciles" in capsys.readouterr().out


def test_reconcile_finds_a_tampered_balance(player, capsys):
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_account SET balance = balance + 1 WHERE user_id = %s", [player.pk])
    with pytest.raises(CommandError):
        call_command("reconcile")
    out = capsys.readouterr().out
    assert f"MISMATCH account {player.pk}: stored 101.00, ledger 100.00" in out


def test_reconcile_finds_an_unbalanced_transaction(player, capsys):
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_ledgerentry SET amount = amount * 2 WHERE account = 'system:cash'")
    with pytest.raises(CommandError):
        call_command("reconcile")
    assert "UNBALANCED transaction" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_manage_py_reconcile_exits_non_zero_on_mismatch(player):
    """The real command, in its own process, against the (committed) test database."""
    import os
    import subprocess
    import sys

    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    ok = subprocess.run([sys.executable, "manage.py", "reconcile"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with connection.cursor() as cur:
        cur.execute("UPDATE accounts_account SET balance = 0 WHERE user_id = %s", [player.pk])
    bad = subprocess.run([sys.executable, "manage.py", "reconcile"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0
    assert "MISMATCH account" in bad.stdout

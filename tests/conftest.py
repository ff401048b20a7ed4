import os
import threading
from collections.abc import Callable

import pytest
from celery._state import _set_task_join_will_block
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import close_old_connections, connection

from accounts.models import User
from accounts.reconcile import reconcile
from casino.celery import app as celery_app
from tests.factories import PASSWORD, PlayerFactory, StaffFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# browser tests make between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_addoption(parser):
    parser.addoption(
        "--seed",
        type=int,
        default=None,
        help="seed of the whole-system workload in tests/system (default fixed, or $SYSTEM_SEED)",
    )


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    """Fast password hashing; Celery tasks run in-process unless a test starts a real worker."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    eager = celery_app.conf.task_always_eager
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = eager
    celery_app.conf.task_eager_propagates = propagates
    # Eager tasks run under celery's process-wide "denied join" flag, saved and restored per
    # task: two threads running eager tasks at once (a concurrency test) can leave it set,
    # and a later test's AsyncResult.get() would then refuse ("never call result.get() within
    # a task"). No task is running between tests: clear it.
    _set_task_join_will_block(False)


@pytest.fixture
def player(db):
    return PlayerFactory(balance="100.00")


@pytest.fixture
def other_player(db):
    return PlayerFactory(balance="100.00")


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff):
    """A client logged in as a superuser staff member."""
    client.force_login(staff)
    return client


def _group_client(client, group: str, username: str):
    """A client logged in as a staff member of one of the groups ``setup_groups`` makes;
    ``client.user`` is that member."""
    call_command("setup_groups", verbosity=0)
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def trader_client(client, db):
    return _group_client(client, "trader", "tina")


@pytest.fixture
def marketing_client(client, db):
    return _group_client(client, "marketing", "mia")


@pytest.fixture
def player_client(client, player):
    client.force_login(player)
    return client


@pytest.fixture
def assert_reconciles():
    def check():
        report = reconcile()
        assert report.ok, "\n".join(report.lines())
        return report

    return check


def run_in_threads(count: int, target: Callable[[int], object]) -> list:
    """Run ``target(i)`` in ``count`` real threads released at the same instant.

    Each thread has its own database connection (closed at the end). Returns
    each thread's result or the exception it raised.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    close_old_connections()
    return results

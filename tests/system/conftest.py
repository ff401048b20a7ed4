"""Options and fixtures of the whole-system tests (real PostgreSQL, Redis and Celery workers)."""

import os

import pytest

from tests.helpers.celery import celery_worker, celery_worker_factory  # noqa: F401 - fixtures

DEFAULT_SEED = 20250601


@pytest.fixture
def seed(request) -> int:
    """The workload seed: ``--seed`` (option declared in tests/conftest.py), else $SYSTEM_SEED, else fixed."""
    chosen = request.config.getoption("--seed", default=None)
    if chosen is None:
        chosen = int(os.environ.get("SYSTEM_SEED", DEFAULT_SEED))
    return chosen

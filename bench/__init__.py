"""Benchmarks (``make bench``): scenarios against real PostgreSQL, Redis, Celery and gunicorn.

Not part of the test suite. ``python -m bench.run --help`` lists the options.
"""

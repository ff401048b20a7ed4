"""Settings for benchmark processes: the app's settings plus a bench-only URLconf.

The only additions are a trivial view (the HTTP scenario's yardstick) and
persistent database connections for gunicorn (what an operator runs in
production instead of a connection per request).
"""

from casino.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# The bench settles many events: keep the app's INFO lines out of the results output.
LOGGING["loggers"]["casino"]["level"] = "WARNING"  # noqa: F405

"""web_memory: does a web worker's memory settle, or grow with every request? (issue 14)

One gunicorn with ONE worker process (gthread, 2 threads, persistent database
connection) serves a few logged-in players alternating a spin (htmx POST to
``session_spin``) and a full load of their session page (``session_detail``).
The worker's resident set size (VmRSS from /proc) is read when it has started,
after the first 200 requests (imports done, caches and connection warm) and after
20,000 (``--quick``: 3,000). Reported: both RSS figures and their ratio (target
<= 1.2), and that it was the same worker process throughout (no restart hid a leak).
"""

from __future__ import annotations

from collections import Counter

from bench.common import Config, reset_data
from bench.scenarios.http import WEB_THREADS, measure, prepare
from bench.web import Gunicorn, children, rss_kb

CLIENTS = 4
WARM = 200
TOTAL = 20_000


def run(config: Config) -> dict:
    total = config.n(TOTAL, 1_000)
    reset_data()
    specs = prepare(config, CLIENTS, with_codes=False)
    web = Gunicorn(workers=1, threads=WEB_THREADS).start()
    try:
        (worker,) = children(web.process.pid)
        started_kb = rss_kb(worker)
        warm = measure("spin_page", specs, [web.base], 3600, requests_per_client=WARM // CLIENTS)
        warm_kb = rss_kb(worker)
        rest = measure("spin_page", specs, [web.base], 7200, requests_per_client=(total - WARM) // CLIENTS)
        end_kb = rss_kb(worker)
        same_worker = children(web.process.pid) == [worker]
    finally:
        web.stop()
    requests = warm["requests"] + rest["requests"]
    return {
        "web": f"1 gunicorn, 1 worker x {WEB_THREADS} threads",
        "clients": CLIENTS,
        "requests": requests,
        "warm_requests": warm["requests"],
        "errors": warm["errors"] + rest["errors"],
        "statuses": dict(Counter(warm["statuses"]) + Counter(rest["statuses"])),
        "rps": rest["rps"],
        "p50_ms": rest["p50_ms"],
        "rss_started_kb": started_kb,
        "rss_warm_kb": warm_kb,
        "rss_end_kb": end_kb,
        "rss_ratio": round(end_kb / warm_kb, 3) if end_kb and warm_kb else None,
        "same_worker": same_worker,
    }

"""``make bench``: run the scenarios, write bench/results/{latest,<timestamp>}.{json,md}, print the table.

The bench never touches the demo database: it uses ``BENCH_DATABASE_URL``
(default: the server of ``DATABASE_URL``, database ``casino_bench``, created
and migrated here) and ``BENCH_REDIS_URL`` (default: the server of
``REDIS_URL``, database 15). Every scenario starts from empty tables.

    python -m bench.run                       # everything (~25 minutes on 2 cores)
    python -m bench.run --quick               # small counts, for checking it works
    python -m bench.run --only spin_storm,pg_limit --procs 4 --threads 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = (
    "spin_storm",
    "fair_spin",
    "hot_account_baseline",
    "promo_storm",
    "liability_storm",
    "vendor_race",
    "payout_latency",
    "pg_limit",
    "http",
    "scale_out",
    "scale_tier",  # issue 20: the same 2 web + 2 Celery, straight vs PgBouncer + a streaming replica
    "web_memory",
    "report_page",  # 10^6 ledger entries over 92 days, the roll-up, the 90-day finance report page
    "history_growth",  # last: it leaves 10^6 spins behind (the next run's flush removes them)
)


def bench_urls() -> tuple[str, str]:
    db = os.environ.get("BENCH_DATABASE_URL")
    if not db:
        parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casino"))
        db = urlunsplit(parts._replace(path="/casino_bench"))
    redis = os.environ.get("BENCH_REDIS_URL")
    if not redis:
        parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        redis = urlunsplit(parts._replace(path="/15"))
    if urlsplit(db).path.strip("/") == "casino":
        sys.exit("refusing to benchmark the demo database 'casino'; set BENCH_DATABASE_URL")
    return db, redis


def configure() -> None:
    db, redis = bench_urls()
    os.environ["DATABASE_URL"] = db
    os.environ["REDIS_URL"] = redis
    for tier in ("DIRECT_DATABASE_URL", "REPLICA_DATABASE_URL"):  # the driver goes straight to the primary;
        os.environ.pop(tier, None)  # scale_tier gives its side B these, explicitly
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(db)
    with psycopg.connect(
        host=cfg.get("HOST") or "127.0.0.1",
        port=cfg.get("PORT") or 5432,
        user=cfg.get("USER") or "postgres",
        password=cfg.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help=f"comma-separated scenarios (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--quick", action="store_true", help="small counts: checks that everything runs")
    parser.add_argument("--procs", type=int, default=4, help="worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process (default 8)")
    parser.add_argument("--scale", type=float, default=None, help="multiply operation counts (default 1, quick 0.15)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--no-save", action="store_true", help="print the table, write nothing")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    configure()
    from bench import report
    from bench.common import Config

    scale = args.scale if args.scale is not None else (0.15 if args.quick else 1.0)
    config = Config(procs=args.procs, threads=args.threads, quick=args.quick, seed=args.seed, scale=scale)
    started = datetime.now(UTC)
    load_at_start = report.load_average()
    measured: dict[str, dict] = {}
    for name in args.only:
        module = __import__(f"bench.scenarios.{name}", fromlist=["run"])
        print(f"[bench] {name} ...", flush=True)
        t0 = time.monotonic()
        try:
            measured[name] = module.run(config)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            import traceback

            traceback.print_exc()
            measured[name] = {"error": f"{type(exc).__name__}: {exc}"}
        measured[name]["scenario_seconds"] = round(time.monotonic() - t0, 1)
        print(f"[bench] {name} done in {measured[name]['scenario_seconds']} s", flush=True)
    doc = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": load_at_start,
            "load_average_at_end": report.load_average(),
        },
        "config": {"procs": config.procs, "threads": config.threads, "quick": config.quick, "scale": config.scale},
        "scenarios": measured,
    }
    doc["table"] = report.rows(measured, config)
    markdown = report.markdown(doc)
    print(markdown)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        text = json.dumps(doc, indent=2, default=str)
        for stem in ("latest", stamp):
            (RESULTS / f"{stem}.json").write_text(text + "\n")
            (RESULTS / f"{stem}.md").write_text(markdown)
        print(f"[bench] wrote {RESULTS}/latest.json, latest.md and {stamp}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())

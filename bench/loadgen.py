"""A small HTTP load generator, run as its own process (no Django, stdlib only).

    python -m bench.loadgen < plan.json > result.json

The plan lists clients (each one a logged-in player: a session cookie made by
the bench), the target URLs (several base URLs are used round-robin per
client: the load balancer) and what each client requests. Every client first
GETs a page to receive its CSRF cookie (as a browser does), then sends its
requests on one keep-alive connection for ``seconds`` (or until it has sent
``requests_per_client``), POSTs with the CSRF token in the ``X-CSRFToken``
header and ``HX-Request: true`` (what htmx sends). Requests go to 127.0.0.1 only.

The paths come in the plan, resolved by the bench with ``reverse()`` (this
process imports no Django): ``plan["paths"]`` for the shared ones (trivial,
redeem, raw_redeem) and each client's ``spec["paths"]`` for its own session
(spin, raw_spin, page); ``plan["warmup"]`` names the page loaded first. Kinds:

- ``trivial``: GET the trivial view;
- ``spin`` / ``raw_spin``: POST a spin (stake, a new idempotency key) to the
  real endpoint / the yardstick, the same form fields for both;
- ``redeem`` / ``raw_redeem``: POST the next code of ``spec["codes"]`` /
  ``spec["raw_codes"]`` (each code once per client; the client stops when its
  list is used up);
- ``spin_page``: a spin, then a full page load of the session (no ``HX-Request``),
  alternately.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import sys
import threading
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import urlsplit


def _connect(base: str) -> http.client.HTTPConnection:
    parts = urlsplit(base)
    if parts.hostname != "127.0.0.1":
        raise SystemExit("the load generator only sends traffic to 127.0.0.1")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


class Client:
    def __init__(self, spec: dict, base: str):
        self.spec, self.base = spec, base
        self.conn = _connect(base)
        self.cookies = {"sessionid": spec["sessionid"]}

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = _connect(self.base)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response.status


def _spin(path: str, spec: dict) -> tuple[str, str, str | None]:
    return "POST", path, f"spin-stake={spec['stake']}&spin-idempotency_key={uuid.uuid4().hex}"


def _body(kind: str, plan: dict, spec: dict, n: int) -> tuple[str, str, str | None]:
    if kind == "trivial":
        return "GET", plan["paths"]["trivial"], None
    if kind in ("spin", "raw_spin"):
        return _spin(spec["paths"][kind], spec)
    if kind == "spin_page":
        return _spin(spec["paths"]["spin"], spec) if n % 2 == 0 else ("GET", spec["paths"]["page"], None)
    if kind in ("redeem", "raw_redeem"):
        codes = spec["codes" if kind == "redeem" else "raw_codes"]
        if n >= len(codes):
            return "", "", None
        return "POST", plan["paths"][kind], f"code={codes[n]}"
    raise ValueError(kind)


def _client_loop(spec: dict, plan: dict, index: int, out: list, start_at: float) -> None:
    bases = plan["bases"]
    base = bases[index % len(bases)]
    client = Client(spec, base)
    warmup = spec["paths"].get(plan["warmup"]) or plan["paths"][plan["warmup"]]
    client.request("GET", warmup)  # the CSRF cookie, like a page load
    token = client.cookies.get("csrftoken", "")
    headers = {"X-CSRFToken": token, "HX-Request": "true", "Referer": f"{base}/"}
    latencies, statuses = [], {}
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + plan["seconds"]
    limit = plan.get("requests_per_client")
    n = 0
    while time.time() < end and (limit is None or n < limit):
        method, path, body = _body(plan["kind"], plan, spec, n)
        if not method:
            break
        t0 = time.perf_counter()
        try:
            status = client.request(method, path, body=body, headers=headers if method == "POST" else {})
        except OSError as exc:
            status = type(exc).__name__
        latencies.append(time.perf_counter() - t0)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        n += 1
    out.append({"latencies": latencies, "statuses": statuses, "t_end": time.time()})


def _process(plan: dict, clients: list[tuple[int, dict]], start_at: float, queue) -> None:
    out: list = []
    threads = [threading.Thread(target=_client_loop, args=(spec, plan, i, out, start_at)) for i, spec in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(out)


def main() -> int:
    plan = json.load(sys.stdin)
    procs = plan.get("procs", 2)
    indexed = list(enumerate(plan["clients"]))
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.time() + 1.5 + 0.05 * len(indexed)  # everybody connected and warmed up first
    children = [ctx.Process(target=_process, args=(plan, indexed[p::procs], start_at, queue)) for p in range(procs)]
    for c in children:
        c.start()
    results = [r for _ in children for r in queue.get(timeout=plan["seconds"] + 300)]
    for c in children:
        c.join()
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(r["t_end"] for r in results) - start_at

    def pct(p):
        return (
            round(latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))] * 1000, 2)
            if latencies
            else None
        )

    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    times = os.times()
    json.dump(
        {
            "requests": len(latencies),
            "ok": ok,
            "errors": len(latencies) - ok,
            "statuses": statuses,
            "elapsed_s": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else None,
            "ok_rps": round(ok / elapsed, 1) if elapsed > 0 else None,
            "p50_ms": pct(50),
            "p99_ms": pct(99),
            "cpu_s": round(times.user + times.system + times.children_user + times.children_system, 2),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

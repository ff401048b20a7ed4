"""Make sure the PostgreSQL and Redis the app is configured for answer (`make run`, `make test`).

Standard library only (it runs before anything is installed). What it does, in order:

- reads where the servers should be from DATABASE_URL and REDIS_URL (defaults: the Makefile's);
- a server on another machine must already answer; a local one (127.0.0.1, localhost, ::1) is
  installed from the distribution's packages when missing (`apt-get install postgresql
  redis-server`, through sudo when not root), started when stopped (PostgreSQL: the Debian
  cluster on DATABASE_URL's port, created when there is none; Redis: redis-server on
  REDIS_URL's port), and given what the app needs: the role of DATABASE_URL (with its password,
  or trusted on loopback when the URL has none) and its database;
- says nothing when all is well; anything it cannot fix ends with one line on stderr saying
  what to do, and a non-zero exit.

PG_CLUSTER ("15/main", or a name for the newest installed version) picks the cluster to use
(created on DATABASE_URL's port when it does not exist); by default it is the cluster on that port.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/casino"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}
PG_LIB = Path("/usr/lib/postgresql")
SOCKET_DIR = "/var/run/postgresql"


class Failure(Exception):
    """One line for the user: what is wrong and what to do."""


def say(message: str) -> None:
    print(message, flush=True)


def last_line(text: str) -> str:
    """The last line a tool printed, for the one-line error (psql's "psql: error: " prefix dropped)."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]
    return lines[-1].removeprefix("psql: error: ") if lines else ""


def run(command: list[str], *, env: dict | None = None, stdin: str | None = None, timeout: float = 120):
    """Run a command quietly; its output is kept for the error line."""
    return subprocess.run(
        command, capture_output=True, text=True, input=stdin, cwd="/", timeout=timeout,
        env=None if env is None else os.environ | env,
    )  # fmt: skip


# --- where the servers are --------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def where(self) -> str:
        return f"{self.host or SOCKET_DIR}:{self.port}"

    @property
    def local(self) -> bool:
        return self.host in LOCAL_HOSTS or self.host.startswith("/")


@dataclass(frozen=True)
class Redis:
    host: str
    port: int

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def local(self) -> bool:
        return self.host in LOCAL_HOSTS


def parse_database_url(url: str) -> Postgres:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise Failure(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme or url!r}: fix it, then make again.")
    try:
        port = parts.port or 5432
    except ValueError as exc:
        raise Failure(f"DATABASE_URL has a bad port ({exc}): fix it and run make again.") from exc
    return Postgres(
        host=unquote(parts.hostname or ""),
        port=port,
        user=unquote(parts.username or "") or "postgres",
        password=unquote(parts.password or ""),
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
    )


def parse_redis_url(url: str) -> Redis:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise Failure(f"REDIS_URL must be a redis:// URL, not {parts.scheme or url!r}: fix it, then make again.")
    try:
        port = parts.port or 6379
    except ValueError as exc:
        raise Failure(f"REDIS_URL has a bad port ({exc}): fix it and run make again.") from exc
    return Redis(host=parts.hostname or "127.0.0.1", port=port)


# --- who answers on a port ----------------------------------------------------------------


def _connect(host: str, port: int, timeout: float = 2.0) -> socket.socket | None:
    try:
        if host == "" or host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(os.path.join(host or SOCKET_DIR, f".s.PGSQL.{port}"))
            return sock
        return socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None


def _ask(host: str, port: int, message: bytes) -> bytes | None:
    """None: nothing listens; otherwise the first bytes of the answer (b"" for none)."""
    sock = _connect(host, port)
    if sock is None:
        return None
    with sock:
        try:
            sock.sendall(message)
            return sock.recv(64)
        except OSError:
            return b""


def probe_postgres(pg: Postgres) -> str:
    """"closed", "postgres" or "other": PostgreSQL answers an SSLRequest with one byte, S or N."""
    answer = _ask(pg.host, pg.port, (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big"))
    if answer is None:
        return "closed"
    return "postgres" if answer[:1] in {b"S", b"N"} else "other"


def probe_redis(redis: Redis) -> str:
    """"closed", "redis" or "other": Redis answers PING with +PONG (or an error if it wants a password)."""
    answer = _ask(redis.host, redis.port, b"PING\r\n")
    if answer is None:
        return "closed"
    if answer.startswith(b"+PONG") or re.match(rb"-(NOAUTH|WRONGPASS|LOADING|DENIED|MISCONF)", answer):
        return "redis"
    return "other"


def wait_for(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


# --- root, sudo, apt ----------------------------------------------------------------------


def is_root() -> bool:
    return os.geteuid() == 0


def as_root(why: str) -> list[str]:
    """The prefix that runs a command as root, or a Failure saying how to do `why` by hand."""
    if is_root():
        return []
    if shutil.which("sudo"):
        return ["sudo"]
    raise Failure(f"{why} needs root and this user has no sudo: run it as root, then make again.")


def as_user(user: str, why: str) -> list[str]:
    """The prefix that runs a command as `user` (the cluster's owner)."""
    if pwd.getpwuid(os.geteuid()).pw_name == user:
        return []
    if is_root():
        return ["runuser", "-u", user, "--"]
    if shutil.which("sudo"):
        return ["sudo", "-u", user, "--"]
    raise Failure(f"{why} must run as the '{user}' user and this user has no sudo: run make as root or as '{user}'.")


def postgres_installed() -> bool:
    have_tools = all(shutil.which(tool) for tool in ("pg_lsclusters", "pg_ctlcluster", "pg_createcluster", "psql"))
    return have_tools and bool(server_versions())


def redis_installed() -> bool:
    return shutil.which("redis-server") is not None


def apt_install(missing: dict[str, str]) -> None:
    """Install the packages `missing` names (package -> "<Server> on <host:port>"), in one apt run."""
    packages = list(missing)
    command = " ".join(["apt-get install", *packages])
    if not shutil.which("apt-get"):
        names = " and ".join({"postgresql": "PostgreSQL", "redis-server": "Redis"}[p] for p in packages)
        urls = " and ".join({"postgresql": "DATABASE_URL", "redis-server": "REDIS_URL"}[p] for p in packages)
        several = len(packages) > 1
        raise Failure(
            f"{names} {'are' if several else 'is'} not installed and there is no apt-get here: install {names} "
            f"with this system's package manager and start {'them' if several else 'it'} "
            f"({', '.join(missing.values())}), or point {urls} at {'servers that run' if several else 'one that runs'}."
        )
    sudo = as_root(f"Installing {' and '.join(packages)} (`{command}`)")
    say(f"Installing {' and '.join(packages)} from the distribution's packages ({command})...")
    # sudo resets the environment, so the variable goes through env(1) there.
    env = ["env", "DEBIAN_FRONTEND=noninteractive"] if sudo else []
    update = run([*sudo, *env, "apt-get", "update", "-qq"], env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=600)
    if update.returncode != 0:
        detail = last_line(update.stderr + update.stdout)
        raise Failure(f"`apt-get update` failed ({detail}): fix apt's sources, then make again.")
    install = run([*sudo, *env, "apt-get", "install", "-y", "-qq", *packages],
                  env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=1200)  # fmt: skip
    if install.returncode != 0:
        detail = last_line(install.stderr + install.stdout)
        raise Failure(f"`{command}` failed ({detail}): run it by hand to see why, then make again.")
    if "postgresql" in packages and not postgres_installed():
        raise Failure(f"`{command}` ran but PostgreSQL's tools (pg_ctlcluster, psql) are still missing: install them.")
    if "redis-server" in packages and not redis_installed():
        raise Failure(f"`{command}` ran but redis-server is still missing: install it by hand, then make again.")


# --- PostgreSQL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    version: str
    name: str
    port: int
    online: bool
    owner: str
    log: str

    def __str__(self) -> str:
        return f"{self.version}/{self.name}"


def server_versions() -> list[str]:
    """The installed PostgreSQL server versions, newest first."""
    found = [path.parent.parent.name for path in PG_LIB.glob("*/bin/postgres")]
    return sorted(found, key=lambda version: [int(n) if n.isdigit() else 0 for n in version.split(".")], reverse=True)


def clusters() -> list[Cluster]:
    listing = run(["pg_lsclusters", "--no-header"])
    if listing.returncode != 0:
        raise Failure(f"pg_lsclusters failed ({last_line(listing.stderr)}): check the PostgreSQL installation.")
    found = []
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[2].isdigit():
            log = fields[6] if len(fields) > 6 else ""
            found.append(Cluster(fields[0], fields[1], int(fields[2]), fields[3].startswith("online"), fields[4], log))
    return found


def pick_cluster(pg: Postgres) -> Cluster | None:
    """The cluster that should serve pg.port (None: create the one `cluster_to_create` names)."""
    existing = clusters()
    wanted = os.environ.get("PG_CLUSTER", "").strip()
    if wanted:
        version, _, name = wanted.rpartition("/")
        for cluster in existing:
            if cluster.name == name and (not version or cluster.version == version):
                if cluster.port != pg.port:
                    raise Failure(
                        f"PG_CLUSTER {cluster} listens on port {cluster.port}, not {pg.port} as DATABASE_URL says: "
                        "make them agree."
                    )
                return cluster
        return None
    on_port = [cluster for cluster in existing if cluster.port == pg.port]
    if on_port:
        return on_port[0]
    if existing:
        ports = ", ".join(f"{cluster} on {cluster.port}" for cluster in existing)
        raise Failure(
            f"No PostgreSQL cluster uses port {pg.port} (there is {ports}): set DATABASE_URL to one of those "
            f"ports, or PG_CLUSTER=<version>/<name> to create one on {pg.port}."
        )
    return None


def create_cluster(pg: Postgres) -> Cluster:
    versions = server_versions()
    wanted = os.environ.get("PG_CLUSTER", "").strip() or "main"
    version, _, name = wanted.rpartition("/")
    version = version or versions[0]
    if version not in versions:
        raise Failure(f"PG_CLUSTER asks for PostgreSQL {version}, not installed: install it or fix PG_CLUSTER.")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise Failure(f"PG_CLUSTER has a bad cluster name {name!r}: use letters, digits and _.")
    sudo = as_root(f"Creating the PostgreSQL cluster {version}/{name}")
    say(f"Creating the PostgreSQL cluster {version}/{name} on port {pg.port}...")
    created = run([*sudo, "pg_createcluster", "--port", str(pg.port), version, name])
    if created.returncode != 0:
        detail = last_line(created.stderr + created.stdout)
        raise Failure(f"pg_createcluster {version} {name} failed ({detail}): run it by hand to see why.")
    for cluster in clusters():
        if cluster.version == version and cluster.name == name:
            return cluster
    raise Failure(f"pg_createcluster made no cluster {version}/{name}: run it by hand to see why.")


def postgres_ready(pg: Postgres) -> bool:
    if probe_postgres(pg) != "postgres":
        return False
    if not shutil.which("pg_isready"):
        return True
    host = ["-h", pg.host] if pg.host else []
    return run(["pg_isready", "-q", *host, "-p", str(pg.port), "-t", "2"]).returncode == 0


def start_cluster(pg: Postgres, cluster: Cluster) -> None:
    sudo = as_root(f"Starting the PostgreSQL cluster {cluster}")
    say(f"Starting PostgreSQL (cluster {cluster} on port {cluster.port})...")
    # Under systemd pg_ctlcluster hands the start to the postgresql@ unit; elsewhere (containers,
    # CI) it starts the server itself.
    redirect = [] if os.path.isdir("/run/systemd/system") else ["--skip-systemctl-redirect"]
    started = run([*sudo, "pg_ctlcluster", *redirect, cluster.version, cluster.name, "start"])
    if not wait_for(lambda: postgres_ready(pg), 30):
        detail = last_line(started.stderr + started.stdout) or "it did not answer within 30 s"
        log = f"; see {cluster.log}" if cluster.log else ""
        raise Failure(f"PostgreSQL cluster {cluster} did not start on {pg.where} ({detail}{log}).")


def superuser_sql(cluster: Cluster, sql: str, variables: dict[str, str], why: str):
    """Run SQL as the cluster's owner over its Unix socket (Debian's default peer trust)."""
    prefix = as_user(cluster.owner, why)
    names = [arg for key, value in variables.items() for arg in ("-v", f"{key}={value}")]
    command = [*prefix, "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", SOCKET_DIR,
               "-p", str(cluster.port), "-d", "postgres", *names]  # fmt: skip
    done = run(command, stdin=sql, timeout=60)
    if done.returncode != 0:
        raise Failure(f"{why} failed ({last_line(done.stderr)}): do it by hand as the '{cluster.owner}' user.")
    return done.stdout.strip()


def app_env(pg: Postgres, dbname: str) -> dict[str, str]:
    """libpq's variables for connecting as DATABASE_URL's role (no quoting to get wrong)."""
    env = {"PGHOST": pg.host or SOCKET_DIR, "PGPORT": str(pg.port), "PGUSER": pg.user, "PGDATABASE": dbname,
           "PGCONNECT_TIMEOUT": "5"}  # fmt: skip
    return env | ({"PGPASSWORD": pg.password} if pg.password else {})


def connect_as_app(pg: Postgres, dbname: str):
    return run(["psql", "-X", "-w", "-q", "-t", "-A", "-c", "SELECT 1"], env=app_env(pg, dbname), timeout=30)


def ensure_role_and_database(pg: Postgres, cluster: Cluster | None) -> None:
    """The role of DATABASE_URL can log in over loopback, and its database exists."""
    if connect_as_app(pg, pg.dbname).returncode == 0:
        return
    if cluster is None and shutil.which("pg_lsclusters"):
        matches = [c for c in clusters() if c.port == pg.port]
        cluster = matches[0] if matches else None
    if connect_as_app(pg, "postgres").returncode != 0:
        if cluster is None:
            detail = last_line(connect_as_app(pg, "postgres").stderr)
            raise Failure(f"PostgreSQL on {pg.where} refuses role {pg.user!r} ({detail}): fix DATABASE_URL.")
        ensure_role(pg, cluster)
    if connect_as_app(pg, pg.dbname).returncode == 0:
        return
    created = connect_as_app_sql(pg, pg.dbname)
    if created.returncode != 0 and cluster is not None:
        superuser_sql(cluster, 'CREATE DATABASE :"db" OWNER :"user";\n', {"db": pg.dbname, "user": pg.user},
                      f"Creating the database {pg.dbname}")  # fmt: skip
    elif created.returncode != 0:
        raise Failure(f"Could not create the database {pg.dbname} ({last_line(created.stderr)}): create it by hand.")
    say(f"Created the database {pg.dbname}.")
    check = connect_as_app(pg, pg.dbname)
    if check.returncode != 0:
        raise Failure(f"PostgreSQL on {pg.where} still refuses {pg.user}@{pg.dbname} ({last_line(check.stderr)}).")


def connect_as_app_sql(pg: Postgres, dbname: str):
    """CREATE DATABASE as the app's own role (enough when it has CREATEDB: no sudo needed)."""
    command = ["psql", "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"db={dbname}"]
    return run(command, env=app_env(pg, "postgres"), stdin='CREATE DATABASE :"db";\n', timeout=60)


def ensure_role(pg: Postgres, cluster: Cluster) -> None:
    exists = superuser_sql(cluster, "SELECT 1 FROM pg_roles WHERE rolname = :'user';\n", {"user": pg.user},
                           f"Looking up the role {pg.user}")  # fmt: skip
    if not exists:
        say(f"Creating the PostgreSQL role {pg.user}...")
        password = "PASSWORD :'password'" if pg.password else ""
        superuser_sql(cluster, f'CREATE ROLE :"user" LOGIN CREATEDB {password};\n',
                      {"user": pg.user, "password": pg.password}, f"Creating the role {pg.user}")  # fmt: skip
        if connect_as_app(pg, "postgres").returncode == 0:
            return
    if pg.password:
        detail = last_line(connect_as_app(pg, "postgres").stderr)
        raise Failure(
            f"PostgreSQL on {pg.where} refuses role {pg.user!r} with DATABASE_URL's password ({detail}): fix the "
            f"password in DATABASE_URL or set it with ALTER ROLE."
        )
    trust_on_loopback(pg, cluster)


def trust_on_loopback(pg: Postgres, cluster: Cluster) -> None:
    """DATABASE_URL has no password: let its role in over 127.0.0.1 and ::1 without one."""
    hba = superuser_sql(cluster, "SHOW hba_file;\n", {}, "Finding pg_hba.conf")
    say(f"Letting role {pg.user} connect over loopback without a password ({hba})...")
    user = '"' + pg.user.replace('"', '""') + '"'
    lines = (
        "# Added by the casino app's scripts/ensure_services.py: DATABASE_URL has no password.\n"
        f"host    all    {user}    127.0.0.1/32    trust\n"
        f"host    all    {user}    ::1/128         trust\n"
    )
    sudo = as_root(f"Editing {hba}")
    current = run([*sudo, "cat", hba])
    if current.returncode != 0:
        raise Failure(f"Could not read {hba} ({last_line(current.stderr)}): add a trust line for {pg.user} by hand.")
    written = run([*sudo, "tee", hba], stdin=lines + current.stdout)
    if written.returncode != 0:
        raise Failure(f"Could not write {hba} ({last_line(written.stderr)}): add a trust line for {pg.user} by hand.")
    superuser_sql(cluster, "SELECT pg_reload_conf();\n", {}, "Reloading PostgreSQL's configuration")
    if not wait_for(lambda: connect_as_app(pg, "postgres").returncode == 0, 5):
        detail = last_line(connect_as_app(pg, "postgres").stderr)
        raise Failure(f"PostgreSQL on {pg.where} still refuses role {pg.user!r} ({detail}): check {hba}.")


def ensure_postgres(pg: Postgres) -> None:
    state = probe_postgres(pg)
    if not pg.local:  # another machine's server: it must answer, and the app's own setup (make db) does the rest
        if state != "postgres" or not wait_for(lambda: postgres_ready(pg), 30):
            raise Failure(f"PostgreSQL at {pg.where} does not answer: start it, or fix DATABASE_URL.")
        return
    if state == "other":
        raise Failure(
            f"Something that is not PostgreSQL listens on {pg.where}: stop it, or point DATABASE_URL at another port."
        )
    cluster = None
    if state == "closed":
        if not postgres_installed():
            raise Failure("PostgreSQL is not installed: `apt-get install postgresql`, then make again.")
        cluster = pick_cluster(pg) or create_cluster(pg)
        if cluster.online:
            raise Failure(
                f"PostgreSQL cluster {cluster} runs but does not answer on {pg.where}: check listen_addresses and "
                f"port in /etc/postgresql/{cluster.version}/{cluster.name}/postgresql.conf, or fix DATABASE_URL."
            )
        start_cluster(pg, cluster)
    elif not wait_for(lambda: postgres_ready(pg), 30):
        raise Failure(f"PostgreSQL on {pg.where} answers but does not accept connections: see its log.")
    if shutil.which("psql"):
        ensure_role_and_database(pg, cluster)


# --- Redis --------------------------------------------------------------------------------


def redis_command(redis: Redis) -> tuple[list[str], str]:
    """redis-server as this machine runs it (in memory only), on REDIS_URL's port; and its log file."""
    if is_root():
        workdir, logdir = Path("/var/lib/redis"), Path("/var/log/redis")
    else:
        workdir = logdir = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "casino-redis"
    logfile = logdir / ("ci.log" if redis.port == 6379 else f"redis-{redis.port}.log")
    workdir.mkdir(parents=True, exist_ok=True)
    logdir.mkdir(parents=True, exist_ok=True)
    version = run(["redis-server", "--version"]).stdout
    major = re.search(r"v=(\d+)", version)
    # Redis 7 accepts an optional address ("-::1": bind it only if IPv6 is there); older ones don't.
    bind = ["127.0.0.1", "-::1"] if major and int(major.group(1)) >= 7 else ["127.0.0.1"]
    if redis.host not in {"127.0.0.1", "localhost", "::1"}:
        bind = [redis.host]
    command = ["redis-server", "--daemonize", "yes", "--bind", *bind, "--port", str(redis.port), "--save", "",
               "--appendonly", "no", "--dir", str(workdir), "--logfile", str(logfile)]  # fmt: skip
    return command, str(logfile)


def start_redis(redis: Redis) -> None:
    say(f"Starting Redis on {redis.where}...")
    systemd = os.path.isdir("/run/systemd/system") and redis.port == 6379
    if systemd and run(["systemctl", "cat", "redis-server"]).returncode == 0:
        started, log = run([*as_root("Starting redis-server"), "systemctl", "start", "redis-server"]), "journalctl"
    else:
        command, log = redis_command(redis)
        started = run(command)
    if not wait_for(lambda: probe_redis(redis) == "redis", 15):
        detail = last_line(started.stderr + started.stdout) or "it did not answer within 15 s"
        raise Failure(f"Redis did not start on {redis.where} ({detail}; see {log}).")


def ensure_redis(redis: Redis) -> None:
    state = probe_redis(redis)
    if state == "redis":
        return
    if not redis.local:
        raise Failure(f"Redis at {redis.where} does not answer: start it, or fix REDIS_URL.")
    if state == "other":
        raise Failure(
            f"Something that is not Redis listens on {redis.where}: stop it, or use another port in REDIS_URL."
        )
    if not redis_installed():
        raise Failure("Redis is not installed: `apt-get install redis-server`, then make again.")
    start_redis(redis)


# --- all together -------------------------------------------------------------------------


def main() -> int:
    try:
        pg = parse_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        redis = parse_redis_url(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
        missing = {}
        if pg.local and probe_postgres(pg) == "closed" and not postgres_installed():
            missing["postgresql"] = f"PostgreSQL on {pg.where}"
        if redis.local and probe_redis(redis) == "closed" and not redis_installed():
            missing["redis-server"] = f"Redis on {redis.where}"
        if missing:
            apt_install(missing)  # one apt run for both
        ensure_postgres(pg)
        ensure_redis(redis)
    except Failure as failure:
        print(f"ERROR: {failure}", file=sys.stderr)
        return 1
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"ERROR: could not check PostgreSQL and Redis ({exc}): see scripts/ensure_services.py.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

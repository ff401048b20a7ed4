#!/usr/bin/env bash
# A streaming read replica of the PostgreSQL 15 primary at 127.0.0.1:5432: a second cluster on this
# machine, made with pg_basebackup (issue 20). Usage:
#
#   scripts/replica.sh create [DBNAME]  make it (idempotent), start it, wait until it streams
#   scripts/replica.sh start [DBNAME]   start it, wait until it streams
#   scripts/replica.sh stop             stop it (fast shutdown)
#   scripts/replica.sh status           running? streaming? lag in bytes and seconds
#                                       (exit 0 streaming, 3 stopped or missing, 1 not streaming)
#   scripts/replica.sh teardown         stop it, delete its directory, drop its slot on the primary
#
# Environment (defaults): REPLICA_PORT (5433), REPLICA_DIR (/var/lib/postgresql/15/casino_replica),
# REPLICA_SLOT (the directory's name: each replica has its own physical slot), REPLICA_WAIT_SECONDS
# (60), PRIMARY_HOST/PRIMARY_PORT (127.0.0.1/5432). create and start print the REPLICA_DATABASE_URL
# for DBNAME (default $REPLICA_DBNAME, else casino). `create` lets the primary accept replication
# from 127.0.0.1 (a `host replication` line in its pg_hba.conf, then a reload) and copies the whole
# cluster: every database on the primary.
# PostgreSQL refuses to run as root: as root, the commands run as the user postgres.
set -euo pipefail

die() {
  echo "replica.sh: $*" >&2
  exit 1
}

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
PORT="${REPLICA_PORT:-5433}"
DIR="${REPLICA_DIR:-/var/lib/postgresql/15/casino_replica}"
PRIMARY_HOST="${PRIMARY_HOST:-127.0.0.1}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
WAIT="${REPLICA_WAIT_SECONDS:-60}"
RUN_AS="${REPLICA_USER:-postgres}"
DIR="${DIR%/}"
case "$DIR" in /*) ;; *) die "REPLICA_DIR must be an absolute path" ;; esac
SLOT="${REPLICA_SLOT:-$(basename "$DIR")}"
SLOT="$(echo "$SLOT" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_\n' '_')"
LOG="$DIR/replica.log"
DBNAME="${2:-${REPLICA_DBNAME:-casino}}"

as_pg() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

primary() {  # one query on the primary, unaligned output
  psql -X -q -At -v ON_ERROR_STOP=1 -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -c "$1"
}

replica_sql() {
  psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "$1"
}

exists() { [ -f "$DIR/PG_VERSION" ]; }

running() { exists && as_pg "$PGBIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; }

url() { echo "postgres://postgres@127.0.0.1:$PORT/$DBNAME"; }

LOCKFILE="/tmp/casino_replica_$SLOT.flock"
lock() {  # one create/teardown of this replica at a time (the test fixtures and a developer)
  exec 9>"$LOCKFILE"
  flock -w 300 9 || die "another replica.sh holds $LOCKFILE"
}

wait_streaming() {
  local deadline=$((SECONDS + WAIT)) state=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(replica_sql "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null || true)"
    if [ "$state" = "streaming" ]; then return 0; fi
    sleep 0.2
  done
  echo "replica.sh: the replica on port $PORT is not streaming after $WAIT s (WAL receiver: '${state:-none}')." >&2
  echo "  Its log: $LOG (last lines below). If the primary lost its slot or WAL, run: $0 teardown && $0 create" >&2
  tail -n 10 "$LOG" >&2 2>/dev/null || true
  return 1
}

allow_replication() {
  # The primary must stream WAL: wal_level replica (or logical), a sender and a slot to spare.
  local level senders used slots slots_used hba
  level="$(primary "SHOW wal_level")"
  [ "$level" = "replica" ] || [ "$level" = "logical" ] ||
    die "the primary's wal_level is '$level': set wal_level = replica in its postgresql.conf and restart it"
  senders="$(primary "SHOW max_wal_senders")"
  used="$(primary "SELECT count(*) FROM pg_stat_replication")"
  [ "$((senders - used))" -ge 2 ] ||
    die "the primary has max_wal_senders = $senders and $used in use; pg_basebackup needs 2: raise it and restart the primary"
  slots="$(primary "SHOW max_replication_slots")"
  slots_used="$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name <> '$SLOT'")"
  [ "$slots" -gt "$slots_used" ] ||
    die "the primary has max_replication_slots = $slots, all in use: raise it and restart the primary"
  # A replication connection from 127.0.0.1 (the `all` of pg_hba.conf does not cover replication).
  if psql -X -q -At "host=$PRIMARY_HOST port=$PRIMARY_PORT user=postgres replication=true dbname=postgres" \
    -c "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
    return 0
  fi
  hba="$(primary "SHOW hba_file")"
  [ -w "$hba" ] || die "the primary refuses replication from 127.0.0.1 and its $hba is not writable: add 'host replication all 127.0.0.1/32 trust' and reload it"
  (
    flock -w 60 8
    if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
      printf '\n# streaming replicas on this machine (scripts/replica.sh)\nhost    replication     all             127.0.0.1/32            trust\n' >>"$hba"
      echo "replica.sh: the primary now accepts replication from 127.0.0.1 ($hba)" >&2
    fi
  ) 8>/tmp/casino_replica_hba.lock
  [ "$(primary "SELECT pg_reload_conf()")" = "t" ] || die "could not reload the primary's configuration"
  local i
  for i in $(seq 1 50); do
    if psql -X -q -At "host=$PRIMARY_HOST port=$PRIMARY_PORT user=postgres replication=true dbname=postgres" \
      -c "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "the primary still refuses replication from 127.0.0.1 after adding the line to $hba (an earlier line rejects it?)"
}

write_settings() {
  # Debian keeps the primary's postgresql.conf and pg_hba.conf in /etc: the copy has neither.
  # A hot standby needs these at least as large as on the primary.
  local setting lines="" name
  for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
    setting="$(primary "SHOW $name")"
    lines+="$name = $setting"$'\n'
  done
  local socket_dir="/var/run/postgresql"
  as_pg test -w "$socket_dir" || socket_dir="$DIR"
  cat >"$DIR/postgresql.conf" <<EOF
# Generated by scripts/replica.sh: a hot standby of $PRIMARY_HOST:$PRIMARY_PORT (primary_conninfo and
# primary_slot_name are in postgresql.auto.conf, written by pg_basebackup -R).
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$socket_dir'
cluster_name = '$SLOT'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 64MB
timezone = '$(primary "SHOW timezone")'
log_timezone = '$(primary "SHOW log_timezone")'
datestyle = '$(primary "SHOW datestyle")'
dynamic_shared_memory_type = posix
logging_collector = off
$lines
EOF
  cat >"$DIR/pg_hba.conf" <<EOF
# Generated by scripts/replica.sh
local   all             all                                     trust
host    all             all             127.0.0.1/32            trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
EOF
  : >"$DIR/pg_ident.conf"
  if [ "$(id -u)" = "0" ]; then chown "$RUN_AS": "$DIR/postgresql.conf" "$DIR/pg_hba.conf" "$DIR/pg_ident.conf"; fi
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

start_server() {
  if running; then
    echo "replica already running on 127.0.0.1:$PORT ($DIR)" >&2
  else
    ! port_taken || die "127.0.0.1:$PORT is taken by another process: stop it or set REPLICA_PORT"
    # (9>&-: the server must not inherit, and so hold forever, the lock of `create`)
    as_pg "$PGBIN/pg_ctl" -D "$DIR" -l "$LOG" -w -t "$WAIT" -s start >/dev/null 9>&- ||
      {
        tail -n 10 "$LOG" >&2 2>/dev/null || true
        die "the replica did not start (port $PORT taken?); log: $LOG"
      }
  fi
  wait_streaming
}

create() {
  lock
  if exists; then
    [ -f "$DIR/standby.signal" ] || die "$DIR holds a cluster that is not a standby: not touching it"
    echo "replica exists ($DIR, slot $SLOT)" >&2
    start_server
    echo "replica streaming from $PRIMARY_HOST:$PRIMARY_PORT on 127.0.0.1:$PORT" >&2
    url
    return 0
  fi
  if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR exists, is not empty and holds no cluster: remove it yourself"
  fi
  ! port_taken || die "127.0.0.1:$PORT is taken by another process: stop it or set REPLICA_PORT"
  local started=$SECONDS
  allow_replication
  # A slot left by an earlier replica of this name would hold WAL for nobody: drop it.
  local active
  active="$(primary "SELECT active FROM pg_replication_slots WHERE slot_name = '$SLOT'")"
  [ "$active" != "t" ] || die "slot $SLOT is in use by another standby: stop it, or set REPLICA_SLOT"
  if [ "$active" = "f" ]; then primary "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null; fi
  mkdir -p "$DIR"
  if [ "$(id -u)" = "0" ]; then chown "$RUN_AS": "$DIR"; fi
  chmod 700 "$DIR"
  echo "replica.sh: copying the primary's cluster ($(primary "SELECT pg_size_pretty(sum(pg_database_size(oid))) FROM pg_database")) into $DIR..." >&2
  as_pg "$PGBIN/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -D "$DIR" \
    -R -X stream -C -S "$SLOT" --checkpoint=fast --no-password ||
    {
      primary "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null || true
      die "pg_basebackup failed"
    }
  write_settings
  start_server
  echo "replica created in $((SECONDS - started)) s: streaming from $PRIMARY_HOST:$PRIMARY_PORT on 127.0.0.1:$PORT (slot $SLOT)" >&2
  url
}

start() {
  exists || die "no replica in $DIR: run $0 create"
  start_server
  echo "replica streaming on 127.0.0.1:$PORT" >&2
  url
}

stop() {
  if running; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR" -m fast -w -t "$WAIT" -s stop
    echo "replica stopped (port $PORT)" >&2
  else
    echo "replica is not running (port $PORT)" >&2
  fi
}

status() {
  if ! exists; then
    echo "replica: none in $DIR"
    return 3
  fi
  if ! running; then
    echo "replica: stopped ($DIR, port $PORT)"
    return 3
  fi
  local receiver
  receiver="$(replica_sql "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'no WAL receiver')" 2>/dev/null || echo "not answering")"
  echo "replica: running on 127.0.0.1:$PORT ($DIR), WAL receiver $receiver"
  local lag
  lag="$(primary "SELECT r.state || ', lag ' || coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn), 0)::bigint
      || ' bytes, replay lag ' || coalesce(round(extract(epoch FROM r.replay_lag)::numeric, 3), 0) || ' s'
    FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '$SLOT'" \
    2>/dev/null || echo "not answering")"
  echo "primary: ${lag:-no replication connection from slot $SLOT}"
  [ "$receiver" = "streaming" ]
}

teardown() {
  lock
  if exists; then
    [ -f "$DIR/standby.signal" ] || die "$DIR holds a cluster that is not a standby: not deleting it"
    [ "$(cd "$DIR" && pwd -P)" != "$(primary "SHOW data_directory")" ] || die "$DIR is the primary's data directory"
    stop
    rm -rf "$DIR"
    echo "replica deleted ($DIR)" >&2
  elif [ -d "$DIR" ] && [ -z "$(ls -A "$DIR")" ]; then
    rmdir "$DIR"
  fi
  local i
  for i in $(seq 1 50); do  # the walsender goes a moment after the standby stops
    [ "$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active")" = "0" ] && break
    sleep 0.1
  done
  if [ "$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active")" = "1" ]; then
    primary "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null
    echo "slot $SLOT dropped on the primary" >&2
  fi
}

case "${1:-}" in
  create) create ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  teardown) teardown ;;
  *)
    echo "usage: $0 create | start | stop | status | teardown" >&2
    exit 2
    ;;
esac

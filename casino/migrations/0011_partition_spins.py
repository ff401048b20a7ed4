# Issue 20: spins become a PostgreSQL declarative RANGE partitioned table, one partition per
# month (casino_spin_pYYYYMM) and a DEFAULT partition (casino_spin_default) as the safety net.
# core.partitions.ensure_partitions (the beat task core.tasks.ensure_partitions) creates the
# months ahead.
#
# The partition key is a new column, session_month: the first day of the UTC month in which the
# spin's SESSION opened (casino_gamesession.created_at), not the spin's own time. A partitioned
# table's unique constraints must include its partition key, and a spin's keys are per session:
# (session, idempotency_key) makes a replayed click return the first spin, (session, nonce) keeps
# provably fair play's numbering. session_month is a function of the session (its opening time
# never changes), so (session, key, session_month) is exactly as unique as (session, key), and all
# of a session's spins sit in one partition: the session page reads one partition.
#
# What changes in the database:
# - session_month DATE NOT NULL, filled from each spin's session (set by casino.services.spin
#   from then on: Spin.month_of_session);
# - the primary key is (id, session_month); Django keeps ``id`` as the primary key (one sequence:
#   ids stay unique, the database no longer proves it across months). Nothing references a spin by
#   foreign key (checked: pg_constraint; ledger transactions name a spin in a text reference);
# - the unique constraints keep their names and gain session_month; the CHECKs, the indexes on
#   created_at and session_id and the foreign key to the session stay, with their names (the
#   indexes are partitioned indexes). The table had no triggers;
# - the identity column becomes a plain bigint with a sequence (PostgreSQL 15 has no identity on
#   partitioned tables), casino_spin_id_seq, OWNED BY the column, continuing where it stopped.
#
# The copy (forward and back) runs in this migration's transaction and holds an ACCESS EXCLUSIVE
# lock on casino_spin for its whole duration: no spin is played meanwhile (a maintenance window
# on a large table; the online alternative, attaching the old table as one partition, is in
# ARCHITECTURE.md). It is verified in the same transaction (rows, sum(stake) + sum(win), max(id),
# a digest of every row's text) and raises if the copy differs: everything moves or nothing.
from django.db import migrations, models

# The columns as they were before this migration (the digest compares exactly these).
COLUMNS = (
    "id, created_at, updated_at, idempotency_key, stake, win, boost, stops, symbols, balance_after, free_spin, "
    "session_id, bonus_balance_after, bonus_stake, bonus_win, nonce, boost_percent"
)
SESSION_MONTH = "date_trunc('month', s.created_at AT TIME ZONE 'UTC')::date"

VERIFY = """
DO $$
DECLARE
    before record;
    after record;
BEGIN
    SELECT count(*) AS n, coalesce(sum(stake), 0) + coalesce(sum(win), 0) AS money, coalesce(max(id), 0) AS top,
           coalesce(sum(hashtext(ROW({columns})::text)::numeric), 0) AS digest
      INTO before FROM {old};
    SELECT count(*) AS n, coalesce(sum(stake), 0) + coalesce(sum(win), 0) AS money, coalesce(max(id), 0) AS top,
           coalesce(sum(hashtext(ROW({columns})::text)::numeric), 0) AS digest
      INTO after FROM {new};
    IF before IS DISTINCT FROM after THEN
        RAISE EXCEPTION 'casino_spin: the copy differs from the original '
                        '(rows, sum(stake) + sum(win), max(id), digest): % then, % now', before, after;
    END IF;
END $$;
"""

CONTINUE_SEQUENCE = """
DO $$
DECLARE
    last bigint;
    called boolean;
    top bigint;
BEGIN
    EXECUTE format('SELECT last_value, is_called FROM %s', pg_get_serial_sequence('{old}', 'id')) INTO last, called;
    SELECT max(id) INTO top FROM {old};
    last := greatest(CASE WHEN called THEN last ELSE last - 1 END, coalesce(top, 0));
    IF last >= 1 THEN
        PERFORM setval(pg_get_serial_sequence('{new}', 'id'), last, true);
    END IF;
END $$;
"""

FORWARD = f"""
LOCK TABLE casino_spin IN ACCESS EXCLUSIVE MODE;

-- Same columns, types, NOT NULLs, defaults and CHECKs (LIKE), plus the partition key.
CREATE TABLE casino_spin_partitioned
    (LIKE casino_spin INCLUDING DEFAULTS INCLUDING CONSTRAINTS, session_month date NOT NULL)
    PARTITION BY RANGE (session_month);

-- A partition for every month a session opened in, and this month and three ahead (UTC).
DO $$
DECLARE
    m date;
BEGIN
    FOR m IN
        SELECT DISTINCT {SESSION_MONTH} FROM casino_gamesession s
        UNION
        SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => k))::date
          FROM generate_series(0, 3) AS k
    LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF casino_spin_partitioned FOR VALUES FROM (%L) TO (%L)',
            'casino_spin_p' || to_char(m, 'YYYYMM'), m, (m + interval '1 month')::date
        );
    END LOOP;
END $$;
CREATE TABLE casino_spin_default PARTITION OF casino_spin_partitioned DEFAULT;

INSERT INTO casino_spin_partitioned ({COLUMNS}, session_month)
SELECT {", ".join("sp." + c.strip() for c in COLUMNS.split(","))}, {SESSION_MONTH}
  FROM casino_spin sp JOIN casino_gamesession s ON s.id = sp.session_id;

{VERIFY.format(columns=COLUMNS, old="casino_spin", new="casino_spin_partitioned")}

CREATE SEQUENCE casino_spin_partitioned_id_seq AS bigint OWNED BY casino_spin_partitioned.id;
ALTER TABLE casino_spin_partitioned ALTER COLUMN id SET DEFAULT nextval('casino_spin_partitioned_id_seq');
{CONTINUE_SEQUENCE.format(old="casino_spin", new="casino_spin_partitioned")}

DROP TABLE casino_spin;
ALTER TABLE casino_spin_partitioned RENAME TO casino_spin;
ALTER SEQUENCE casino_spin_partitioned_id_seq RENAME TO casino_spin_id_seq;

ALTER TABLE casino_spin ADD CONSTRAINT casino_spin_pkey PRIMARY KEY (id, session_month);
ALTER TABLE casino_spin ADD CONSTRAINT spin_idempotency_per_session
    UNIQUE (session_id, idempotency_key, session_month);
ALTER TABLE casino_spin ADD CONSTRAINT spin_nonce_per_session UNIQUE (session_id, nonce, session_month);
CREATE INDEX casino_spin_created_at_838b9989 ON casino_spin (created_at);
CREATE INDEX casino_spin_session_id_639e1dd9 ON casino_spin (session_id);
ALTER TABLE casino_spin ADD CONSTRAINT casino_spin_session_id_639e1dd9_fk_casino_gamesession_id
    FOREIGN KEY (session_id) REFERENCES casino_gamesession (id) DEFERRABLE INITIALLY DEFERRED;
ANALYZE casino_spin;
"""

# Back to one plain table (identity id, no session_month), verified the same way.
BACKWARD = f"""
LOCK TABLE casino_spin IN ACCESS EXCLUSIVE MODE;

CREATE TABLE casino_spin_plain (LIKE casino_spin INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE casino_spin_plain DROP COLUMN session_month;
ALTER TABLE casino_spin_plain ALTER COLUMN id DROP DEFAULT;
ALTER TABLE casino_spin_plain ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;

INSERT INTO casino_spin_plain ({COLUMNS})
SELECT {COLUMNS} FROM casino_spin;

{VERIFY.format(columns=COLUMNS, old="casino_spin", new="casino_spin_plain")}
{CONTINUE_SEQUENCE.format(old="casino_spin", new="casino_spin_plain")}

DROP TABLE casino_spin;  -- its partitions and its sequence with it
ALTER TABLE casino_spin_plain RENAME TO casino_spin;
ALTER SEQUENCE casino_spin_plain_id_seq RENAME TO casino_spin_id_seq;

ALTER TABLE casino_spin ADD CONSTRAINT casino_spin_pkey PRIMARY KEY (id);
ALTER TABLE casino_spin ADD CONSTRAINT spin_idempotency_per_session UNIQUE (session_id, idempotency_key);
ALTER TABLE casino_spin ADD CONSTRAINT spin_nonce_per_session UNIQUE (session_id, nonce);
CREATE INDEX casino_spin_created_at_838b9989 ON casino_spin (created_at);
CREATE INDEX casino_spin_session_id_639e1dd9 ON casino_spin (session_id);
ALTER TABLE casino_spin ADD CONSTRAINT casino_spin_session_id_639e1dd9_fk_casino_gamesession_id
    FOREIGN KEY (session_id) REFERENCES casino_gamesession (id) DEFERRABLE INITIALLY DEFERRED;
ANALYZE casino_spin;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("casino", "0010_sportsbook_depth"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, reverse_sql=BACKWARD)],
            state_operations=[
                migrations.AddField(
                    model_name="spin",
                    name="session_month",
                    field=models.DateField(
                        editable=False,
                        help_text="First day of the UTC month the session opened in: the partition key",
                    ),
                ),
                migrations.RemoveConstraint(model_name="spin", name="spin_idempotency_per_session"),
                migrations.RemoveConstraint(model_name="spin", name="spin_nonce_per_session"),
                migrations.AddConstraint(
                    model_name="spin",
                    constraint=models.UniqueConstraint(
                        fields=("session", "idempotency_key", "session_month"), name="spin_idempotency_per_session"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="spin",
                    constraint=models.UniqueConstraint(
                        fields=("session", "nonce", "session_month"), name="spin_nonce_per_session"
                    ),
                ),
            ],
        ),
    ]

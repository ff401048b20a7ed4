# Issue 20: ledger entries become a PostgreSQL declarative RANGE partitioned table, one partition
# per UTC month of created_at (accounts_ledgerentry_pYYYYMM) and a DEFAULT partition
# (accounts_ledgerentry_default) as the safety net. core.partitions.ensure_partitions (the beat
# task core.tasks.ensure_partitions) creates the months ahead.
#
# What changes in the database, and what does not:
# - the primary key is (id, created_at): a partitioned table's unique constraints must hold its
#   partition key. Django still treats ``id`` as the primary key (no CompositePrimaryKey): ids
#   come from one sequence, so they stay unique, but the database no longer proves it across
#   months. Nothing references a ledger entry by foreign key (checked: pg_constraint).
# - ledger TRANSACTIONS stay one plain table: their idempotency_key must stay unique across all
#   time, and a partitioned table could only enforce it per month (key + partition key).
# - the foreign key entry -> transaction stays (a partitioned table may reference a plain one),
#   as do the CHECK (amount <> 0) and the indexes (account, -id) and (transaction_id), now
#   partitioned indexes with their old names. The table had no triggers.
# - the identity column becomes a plain bigint with a sequence (PostgreSQL 15 has no identity
#   columns on partitioned tables), accounts_ledgerentry_id_seq, OWNED BY the column, continuing
#   where the identity stopped: no id is ever given twice.
#
# The copy (forward and back) runs in this migration's transaction and holds an ACCESS EXCLUSIVE
# lock on the table for its whole duration: nothing writes or reads ledger entries meanwhile (on a
# large ledger: a maintenance window; the online alternative is in the report/ARCHITECTURE.md:
# attach the old table as one partition for its range of months). It is verified in the same
# transaction (rows, sum(amount), max(id), and a digest of every row's text) and raises if the copy
# differs, so the migration either moves everything or nothing.
from django.db import migrations

COLUMNS = "id, account, amount, created_at, updated_at, transaction_id"

VERIFY = """
DO $$
DECLARE
    before record;
    after record;
BEGIN
    SELECT count(*) AS n, coalesce(sum(amount), 0) AS total, coalesce(max(id), 0) AS top,
           coalesce(sum(hashtext(ROW({columns})::text)::numeric), 0) AS digest
      INTO before FROM {old};
    SELECT count(*) AS n, coalesce(sum(amount), 0) AS total, coalesce(max(id), 0) AS top,
           coalesce(sum(hashtext(ROW({columns})::text)::numeric), 0) AS digest
      INTO after FROM {new};
    IF before IS DISTINCT FROM after THEN
        RAISE EXCEPTION 'accounts_ledgerentry: the copy differs from the original '
                        '(rows, sum(amount), max(id), digest): % then, % now', before, after;
    END IF;
END $$;
"""

# Where the new sequence starts: after the old one's last value and after every stored id.
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
LOCK TABLE accounts_ledgerentry IN ACCESS EXCLUSIVE MODE;

-- Same columns, types, NOT NULLs, defaults and CHECKs (LIKE); no identity, no indexes yet.
CREATE TABLE accounts_ledgerentry_partitioned
    (LIKE accounts_ledgerentry INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (created_at);

-- A partition for every month in the data, and this month and three ahead (UTC months).
DO $$
DECLARE
    m date;
BEGIN
    FOR m IN
        SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC')::date FROM accounts_ledgerentry
        UNION
        SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => k))::date
          FROM generate_series(0, 3) AS k
    LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF accounts_ledgerentry_partitioned FOR VALUES FROM (%L) TO (%L)',
            'accounts_ledgerentry_p' || to_char(m, 'YYYYMM'),
            to_char(m, 'YYYY-MM-DD') || ' 00:00:00+00',
            to_char(m + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00'
        );
    END LOOP;
END $$;
CREATE TABLE accounts_ledgerentry_default PARTITION OF accounts_ledgerentry_partitioned DEFAULT;

INSERT INTO accounts_ledgerentry_partitioned ({COLUMNS})
SELECT {COLUMNS} FROM accounts_ledgerentry;

{VERIFY.format(columns=COLUMNS, old="accounts_ledgerentry", new="accounts_ledgerentry_partitioned")}

CREATE SEQUENCE accounts_ledgerentry_partitioned_id_seq AS bigint OWNED BY accounts_ledgerentry_partitioned.id;
ALTER TABLE accounts_ledgerentry_partitioned
    ALTER COLUMN id SET DEFAULT nextval('accounts_ledgerentry_partitioned_id_seq');
{CONTINUE_SEQUENCE.format(old="accounts_ledgerentry", new="accounts_ledgerentry_partitioned")}

DROP TABLE accounts_ledgerentry;
ALTER TABLE accounts_ledgerentry_partitioned RENAME TO accounts_ledgerentry;
ALTER SEQUENCE accounts_ledgerentry_partitioned_id_seq RENAME TO accounts_ledgerentry_id_seq;

ALTER TABLE accounts_ledgerentry ADD CONSTRAINT accounts_ledgerentry_pkey PRIMARY KEY (id, created_at);
CREATE INDEX ledger_entry_account_idx ON accounts_ledgerentry (account, id DESC);
CREATE INDEX accounts_ledgerentry_transaction_id_ad991592 ON accounts_ledgerentry (transaction_id);
ALTER TABLE accounts_ledgerentry ADD CONSTRAINT accounts_ledgerentry_transaction_id_ad991592_fk_accounts_
    FOREIGN KEY (transaction_id) REFERENCES accounts_ledgertransaction (id) DEFERRABLE INITIALLY DEFERRED;
ANALYZE accounts_ledgerentry;
"""

# Back to one plain table with an identity column, verified the same way.
BACKWARD = f"""
LOCK TABLE accounts_ledgerentry IN ACCESS EXCLUSIVE MODE;

CREATE TABLE accounts_ledgerentry_plain (LIKE accounts_ledgerentry INCLUDING CONSTRAINTS);
ALTER TABLE accounts_ledgerentry_plain ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;

INSERT INTO accounts_ledgerentry_plain ({COLUMNS})
SELECT {COLUMNS} FROM accounts_ledgerentry;

{VERIFY.format(columns=COLUMNS, old="accounts_ledgerentry", new="accounts_ledgerentry_plain")}
{CONTINUE_SEQUENCE.format(old="accounts_ledgerentry", new="accounts_ledgerentry_plain")}

DROP TABLE accounts_ledgerentry;  -- its partitions and its sequence with it
ALTER TABLE accounts_ledgerentry_plain RENAME TO accounts_ledgerentry;
ALTER SEQUENCE accounts_ledgerentry_plain_id_seq RENAME TO accounts_ledgerentry_id_seq;

ALTER TABLE accounts_ledgerentry ADD CONSTRAINT accounts_ledgerentry_pkey PRIMARY KEY (id);
CREATE INDEX ledger_entry_account_idx ON accounts_ledgerentry (account, id DESC);
CREATE INDEX accounts_ledgerentry_transaction_id_ad991592 ON accounts_ledgerentry (transaction_id);
ALTER TABLE accounts_ledgerentry ADD CONSTRAINT accounts_ledgerentry_transaction_id_ad991592_fk_accounts_
    FOREIGN KEY (transaction_id) REFERENCES accounts_ledgertransaction (id) DEFERRABLE INITIALLY DEFERRED;
ANALYZE accounts_ledgerentry;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_bonus_money"),
    ]

    operations = [
        # The model's state does not change: Django keeps ``id`` as the primary key.
        migrations.RunSQL(FORWARD, reverse_sql=BACKWARD),
    ]

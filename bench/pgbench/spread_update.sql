-- spread rows: each transaction updates a random account
\set aid random(:amin, :amax)
UPDATE accounts_account SET version = version + 1, updated_at = now() WHERE id = :aid;

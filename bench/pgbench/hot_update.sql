-- one hot row: every client updates the same account (version bump, as versioned_update does)
UPDATE accounts_account SET version = version + 1, updated_at = now() WHERE id = :hot;

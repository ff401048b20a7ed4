# Issue 13: a promotion code's reward (kind, bonus amount, free-spins game, count and stake)
# cannot change once the code has a redemption: redemptions were granted with it (and a
# free-spins grant's game and stake are only on the code). The database refuses, so no path
# can (same SQLSTATE 23L01 as casino.0004; see core.db). Deactivating, the window, the
# campaign... still change.
#
# Race: a redemption being inserted while the reward changes. ``redeem`` share-locks the code
# row already; the INSERT trigger below takes FOR KEY SHARE on it for any other path (the
# foreign key is DEFERRABLE, its own lock would come only at COMMIT), and the check takes
# FOR UPDATE on the code first, so it waits for in-flight redemptions and then sees them.
from django.db import migrations

SQL = """
CREATE FUNCTION promotions_code_reward_locked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    -- wait for redemptions in flight (they hold a share lock on this row)
    PERFORM 1 FROM promotions_promotioncode WHERE id = OLD.id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM promotions_redemption WHERE code_id = OLD.id) THEN
        changed := CASE
            WHEN OLD.reward_kind IS DISTINCT FROM NEW.reward_kind THEN 'reward_kind'
            WHEN OLD.bonus_amount IS DISTINCT FROM NEW.bonus_amount THEN 'bonus_amount'
            WHEN OLD.free_spins_game_id IS DISTINCT FROM NEW.free_spins_game_id THEN 'free_spins_game_id'
            WHEN OLD.free_spins_count IS DISTINCT FROM NEW.free_spins_count THEN 'free_spins_count'
            ELSE 'free_spin_stake'
        END;
        RAISE EXCEPTION USING
            ERRCODE = '23L01', CONSTRAINT = 'promotion_code_reward_locked', TABLE = TG_TABLE_NAME, COLUMN = changed,
            MESSAGE = 'The reward of this code cannot change: it has been redeemed with this reward. '
                      'Deactivate it and issue a new code instead.',
            DETAIL = format('code %s has redemptions; %s refused', OLD.id, changed);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER promotion_code_reward_locked
    BEFORE UPDATE OF reward_kind, bonus_amount, free_spins_game_id, free_spins_count, free_spin_stake
    ON promotions_promotioncode
    FOR EACH ROW WHEN (
        (OLD.reward_kind, OLD.bonus_amount, OLD.free_spins_game_id, OLD.free_spins_count, OLD.free_spin_stake)
        IS DISTINCT FROM
        (NEW.reward_kind, NEW.bonus_amount, NEW.free_spins_game_id, NEW.free_spins_count, NEW.free_spin_stake)
    )
    EXECUTE FUNCTION promotions_code_reward_locked();

CREATE FUNCTION promotions_redemption_hold_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM promotions_promotioncode WHERE id = NEW.code_id FOR KEY SHARE;
    RETURN NEW;
END $$;
CREATE TRIGGER redemption_hold_code BEFORE INSERT ON promotions_redemption
    FOR EACH ROW EXECUTE FUNCTION promotions_redemption_hold_code();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS redemption_hold_code ON promotions_redemption;
DROP FUNCTION IF EXISTS promotions_redemption_hold_code();
DROP TRIGGER IF EXISTS promotion_code_reward_locked ON promotions_promotioncode;
DROP FUNCTION IF EXISTS promotions_code_reward_locked();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("promotions", "0002_vendor_to_casino"),
    ]

    operations = [
        migrations.RunSQL(SQL, reverse_sql=REVERSE_SQL),
    ]

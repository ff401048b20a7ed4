# Issue 13: money-bearing links become immutable once something depends on them, in the
# database (so no path can move them: the admin, a shell, a raw UPDATE):
#
# - a market's event, once any bet exists on its selections;
# - a selection's market, once it has bets;
# - a bet's selection, stake, odds, player and idempotency key, always (its status,
#   settled_at and version still change: settling);
# - a game's reels and paytable while a session is open on it (stakes, name, active
#   flag... still change).
#
# A refusal is SQLSTATE 23L01 (class 23, so Django raises IntegrityError) with a message
# fit for staff, the column and a constraint name (core.db.LOCKED_LINK_SQLSTATE and
# core.db.locked_link_error turn it into a DomainError).
#
# Races: a dependant being inserted while the link changes. The parent's check takes
# FOR UPDATE on the rows the dependants reference, and each dependant's INSERT takes
# FOR KEY SHARE on that row first (the foreign keys are DEFERRABLE, so their own check,
# with the same lock, would come only at COMMIT). So the change either waits for an
# in-flight bet (session) to commit and then sees it, or the insert waits for the change
# to commit. FOR KEY SHARE does not block an odds update, a settlement or another bet.
from django.db import migrations

MARKET = """
CREATE FUNCTION casino_market_event_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- wait for bets being placed on this market (they hold FOR KEY SHARE on their selection)
    PERFORM 1 FROM casino_selection WHERE market_id = OLD.id ORDER BY id FOR UPDATE;
    IF EXISTS (
        SELECT 1 FROM casino_sportsbet b JOIN casino_selection s ON s.id = b.selection_id
        WHERE s.market_id = OLD.id
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23L01', CONSTRAINT = 'market_event_locked', TABLE = TG_TABLE_NAME, COLUMN = 'event_id',
            MESSAGE = 'The event of this market cannot change: bets have been placed on it, '
                      'and they settle with its event.',
            DETAIL = format('market %s has bets; event %s -> %s refused', OLD.id, OLD.event_id, NEW.event_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER market_event_locked BEFORE UPDATE OF event_id ON casino_market
    FOR EACH ROW WHEN (OLD.event_id IS DISTINCT FROM NEW.event_id)
    EXECUTE FUNCTION casino_market_event_locked();
"""

SELECTION = """
CREATE FUNCTION casino_selection_market_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- wait for bets being placed on this selection (FOR KEY SHARE on this row)
    PERFORM 1 FROM casino_selection WHERE id = OLD.id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM casino_sportsbet WHERE selection_id = OLD.id) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23L01', CONSTRAINT = 'selection_market_locked', TABLE = TG_TABLE_NAME, COLUMN = 'market_id',
            MESSAGE = 'The market of this selection cannot change: bets have been placed on it.',
            DETAIL = format('selection %s has bets; market %s -> %s refused', OLD.id, OLD.market_id, NEW.market_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER selection_market_locked BEFORE UPDATE OF market_id ON casino_selection
    FOR EACH ROW WHEN (OLD.market_id IS DISTINCT FROM NEW.market_id)
    EXECUTE FUNCTION casino_selection_market_locked();
"""

SPORTSBET = """
CREATE FUNCTION casino_sportsbet_terms_locked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    changed := CASE
        WHEN OLD.selection_id IS DISTINCT FROM NEW.selection_id THEN 'selection_id'
        WHEN OLD.stake IS DISTINCT FROM NEW.stake THEN 'stake'
        WHEN OLD.odds IS DISTINCT FROM NEW.odds THEN 'odds'
        WHEN OLD.player_id IS DISTINCT FROM NEW.player_id THEN 'player_id'
        ELSE 'idempotency_key'
    END;
    RAISE EXCEPTION USING
        ERRCODE = '23L01', CONSTRAINT = 'sportsbet_terms_locked', TABLE = TG_TABLE_NAME, COLUMN = changed,
        MESSAGE = 'A placed bet''s selection, stake, odds and player never change (only settling changes a bet).',
        DETAIL = format('bet %s: %s refused', OLD.id, changed);
END $$;
CREATE TRIGGER sportsbet_terms_locked BEFORE UPDATE ON casino_sportsbet
    FOR EACH ROW WHEN (
        (OLD.selection_id, OLD.stake, OLD.odds, OLD.player_id, OLD.idempotency_key)
        IS DISTINCT FROM (NEW.selection_id, NEW.stake, NEW.odds, NEW.player_id, NEW.idempotency_key)
    )
    EXECUTE FUNCTION casino_sportsbet_terms_locked();

CREATE FUNCTION casino_sportsbet_hold_selection() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the lock the deferred foreign key check takes at COMMIT, taken now: a concurrent
    -- change of this selection's (or its market's) link waits for this bet
    PERFORM 1 FROM casino_selection WHERE id = NEW.selection_id FOR KEY SHARE;
    RETURN NEW;
END $$;
CREATE TRIGGER sportsbet_hold_selection BEFORE INSERT ON casino_sportsbet
    FOR EACH ROW EXECUTE FUNCTION casino_sportsbet_hold_selection();
"""

GAME = """
CREATE FUNCTION casino_game_machine_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- wait for sessions being opened on this game (FOR KEY SHARE on this row)
    PERFORM 1 FROM casino_game WHERE id = OLD.id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM casino_gamesession WHERE game_id = OLD.id AND status = 'open') THEN
        RAISE EXCEPTION USING
            ERRCODE = '23L01', CONSTRAINT = 'game_machine_locked', TABLE = TG_TABLE_NAME,
            COLUMN = CASE WHEN OLD.reels IS DISTINCT FROM NEW.reels THEN 'reels' ELSE 'paytable' END,
            MESSAGE = 'The reels and paytable of this game cannot change while a session is open on it: '
                      'close the open sessions first (deactivating the game stops new ones).',
            DETAIL = format('game %s has open sessions; reels/paytable change refused', OLD.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER game_machine_locked BEFORE UPDATE OF reels, paytable ON casino_game
    FOR EACH ROW WHEN (OLD.reels IS DISTINCT FROM NEW.reels OR OLD.paytable IS DISTINCT FROM NEW.paytable)
    EXECUTE FUNCTION casino_game_machine_locked();

CREATE FUNCTION casino_gamesession_hold_game() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- a concurrent reels/paytable change waits for this session, or this waits for it
    PERFORM 1 FROM casino_game WHERE id = NEW.game_id FOR KEY SHARE;
    RETURN NEW;
END $$;
CREATE TRIGGER gamesession_hold_game BEFORE INSERT ON casino_gamesession
    FOR EACH ROW EXECUTE FUNCTION casino_gamesession_hold_game();
"""


def drop(*pairs: tuple[str, str, str]) -> str:
    """DROP statements for (trigger, table, function) triples."""
    return "\n".join(
        f"DROP TRIGGER IF EXISTS {trigger} ON {table}; DROP FUNCTION IF EXISTS {function}();"
        for trigger, table, function in pairs
    )


class Migration(migrations.Migration):
    dependencies = [
        ("casino", "0003_vendor_from_promotions"),
    ]

    operations = [
        migrations.RunSQL(
            MARKET, reverse_sql=drop(("market_event_locked", "casino_market", "casino_market_event_locked"))
        ),
        migrations.RunSQL(
            SELECTION,
            reverse_sql=drop(("selection_market_locked", "casino_selection", "casino_selection_market_locked")),
        ),
        migrations.RunSQL(
            SPORTSBET,
            reverse_sql=drop(
                ("sportsbet_terms_locked", "casino_sportsbet", "casino_sportsbet_terms_locked"),
                ("sportsbet_hold_selection", "casino_sportsbet", "casino_sportsbet_hold_selection"),
            ),
        ),
        migrations.RunSQL(
            GAME,
            reverse_sql=drop(
                ("game_machine_locked", "casino_game", "casino_game_machine_locked"),
                ("gamesession_hold_game", "casino_gamesession", "casino_gamesession_hold_game"),
            ),
        ),
    ]

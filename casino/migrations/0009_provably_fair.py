# Issue 17: provably fair slots.
#
# - GameVersion: the reels and paytable a session is played on, immutable (a trigger).
# - GameSession: server seed (secret while open), client seed, game version. The server
#   seed column is added without a default for existing rows (a callable default would be
#   evaluated once, giving every row the same seed); then each session still open gets its
#   own fresh seeds and the version of its game as it is now (its reels cannot change while
#   it is open, 0004), so it plays on provably fair from its next spin. Closed sessions keep
#   NULL: they were played before, and cannot be verified.
# - Spin: the nonce (unique per session) and the win boost's percentage.
# - Triggers: a session's server seed and game version never change once set, and its
#   client seed not once a spin is played (23L01 like 0004's locked links).
import secrets
from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

import casino.fair

LOCKS = """
CREATE FUNCTION casino_gameversion_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = '23L01', CONSTRAINT = 'game_version_immutable', TABLE = TG_TABLE_NAME,
        MESSAGE = 'A game version never changes: sessions were played on it and are verified against it.',
        DETAIL = format('game version %s: UPDATE refused', OLD.id);
END $$;
CREATE TRIGGER game_version_immutable BEFORE UPDATE ON casino_gameversion
    FOR EACH ROW EXECUTE FUNCTION casino_gameversion_immutable();

CREATE FUNCTION casino_gamesession_seeds_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.server_seed IS NOT NULL AND NEW.server_seed IS DISTINCT FROM OLD.server_seed)
       OR (OLD.game_version_id IS NOT NULL AND NEW.game_version_id IS DISTINCT FROM OLD.game_version_id)
       OR (OLD.spin_count > 0 AND NEW.client_seed IS DISTINCT FROM OLD.client_seed) THEN
        RAISE EXCEPTION USING
            ERRCODE = '23L01', CONSTRAINT = 'session_seeds_locked', TABLE = TG_TABLE_NAME, COLUMN = 'client_seed',
            MESSAGE = 'The seeds and game version of a session cannot change once set '
                      '(the client seed: once a spin is played): its spins are derived from them.',
            DETAIL = format('session %s: seeds change refused', OLD.id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER gamesession_seeds_locked BEFORE UPDATE OF server_seed, client_seed, game_version_id
    ON casino_gamesession FOR EACH ROW EXECUTE FUNCTION casino_gamesession_seeds_locked();
"""

UNLOCKS = """
DROP TRIGGER IF EXISTS game_version_immutable ON casino_gameversion;
DROP FUNCTION IF EXISTS casino_gameversion_immutable();
DROP TRIGGER IF EXISTS gamesession_seeds_locked ON casino_gamesession;
DROP FUNCTION IF EXISTS casino_gamesession_seeds_locked();
"""


def seed_open_sessions(apps, schema_editor):
    Game = apps.get_model("casino", "Game")
    GameSession = apps.get_model("casino", "GameSession")
    GameVersion = apps.get_model("casino", "GameVersion")
    open_sessions = GameSession.objects.filter(status="open")
    for game in Game.objects.filter(pk__in=open_sessions.values("game_id")):
        digest = casino.fair.game_digest(game.reels, game.paytable)
        version, _ = GameVersion.objects.get_or_create(
            game=game, digest=digest, defaults={"reels": game.reels, "paytable": game.paytable}
        )
        for session in open_sessions.filter(game=game).only("pk"):
            GameSession.objects.filter(pk=session.pk).update(
                game_version=version, server_seed=secrets.token_hex(32), client_seed=secrets.token_hex(8)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("casino", "0008_bonus_db_defaults"),
    ]

    operations = [
        migrations.CreateModel(
            name="GameVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=64)),
                ("reels", models.JSONField()),
                ("paytable", models.JSONField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "game",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="versions", to="casino.game"
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "constraints": [
                    models.UniqueConstraint(fields=("game", "digest"), name="game_version_digest_unique")
                ],
            },
        ),
        migrations.AddField(
            model_name="gamesession",
            name="server_seed",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="gamesession",
            name="server_seed",
            field=models.CharField(
                blank=True, default=casino.fair.new_server_seed, editable=False, max_length=64, null=True
            ),
        ),
        migrations.AddField(
            model_name="gamesession",
            name="client_seed",
            field=models.CharField(
                blank=True, db_default="", default=casino.fair.new_client_seed, editable=False, max_length=64
            ),
        ),
        migrations.AddField(
            model_name="gamesession",
            name="game_version",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sessions",
                to="casino.gameversion",
            ),
        ),
        migrations.AddField(
            model_name="spin",
            name="nonce",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="spin",
            name="boost_percent",
            field=models.DecimalField(
                db_default=Decimal("0"),
                decimal_places=2,
                default=Decimal("0"),
                help_text="Win boost in force (%)",
                max_digits=7,
            ),
        ),
        migrations.AddConstraint(
            model_name="spin",
            constraint=models.UniqueConstraint(fields=("session", "nonce"), name="spin_nonce_per_session"),
        ),
        migrations.RunPython(seed_open_sessions, migrations.RunPython.noop),
        migrations.RunSQL(LOCKS, reverse_sql=UNLOCKS),
    ]

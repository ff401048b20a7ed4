"""Provably fair sessions (issue 17) through the services, the database and the pages:
seeds at open, derived spins with nonces, the client seed, the reveal, the statement,
``manage.py verify_session`` and the standalone script on a real session's statement."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from casino import fair, selectors, services
from casino.exceptions import ClientSeedLocked, InvalidClientSeed, SessionClosed, SessionStillOpen
from casino.models import Game, GameSession, GameVersion, Spin, Vendor
from casino.slots import Machine
from promotions import services as promotions
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db
FAIR_PY = Path(fair.__file__)


def play(session, spins: int = 12, stake: str = "0.20") -> list[Spin]:
    return [services.spin(session=session, stake=stake, idempotency_key=f"s{i}") for i in range(spins)]


@pytest.fixture
def session(fruit, player):
    opened = services.open_session(player=player, game=fruit)
    services.feed(session=opened, amount="50.00", idempotency_key="feed")
    return opened


def test_a_session_opens_with_its_own_seeds_and_the_game_version(session, fruit, other_player):
    assert len(session.server_seed) == 64 and session.commitment == fair.commitment(session.server_seed)
    assert fair.valid_client_seed(session.client_seed)
    version = GameVersion.objects.get(pk=session.game_version_id)
    assert (version.reels, version.paytable) == (fruit.reels, fruit.paytable)
    assert version.digest == fair.game_digest(fruit.reels, fruit.paytable)
    other = services.open_session(player=other_player, game=fruit)
    assert other.game_version_id == session.game_version_id, "one version per content"
    assert other.server_seed != session.server_seed and other.client_seed != session.client_seed


def test_every_spin_is_derived_from_the_seeds_and_its_nonce(session):
    spins = play(session)
    machine = Machine.for_game(session.game)
    for nonce, spin in enumerate(spins, start=1):
        assert spin.nonce == nonce
        outcome = machine.play(server_seed=session.server_seed, client_seed=session.client_seed, nonce=nonce)
        assert tuple(spin.stops) == outcome.stops and tuple(spin.symbols) == outcome.symbols
        assert spin.win == outcome.win_for(spin.stake)


def test_a_replayed_spin_returns_the_stored_spin_and_takes_no_nonce(session):
    first = services.spin(session=session, stake="0.20", idempotency_key="same")
    again = services.spin(session=session, stake="0.20", idempotency_key="same")
    nxt = services.spin(session=session, stake="0.20", idempotency_key="next")
    assert again.pk == first.pk and (first.nonce, nxt.nonce) == (1, 2)


def test_the_player_sets_a_client_seed_before_the_first_spin_only(session):
    services.set_client_seed(session=session, client_seed="  my-lucky_seed-7 ")
    session.refresh_from_db()
    assert session.client_seed == "my-lucky_seed-7"
    spin = services.spin(session=session, stake="0.20", idempotency_key="s")
    assert tuple(spin.stops) == fair.derive_stops(
        session.server_seed, "my-lucky_seed-7", 1, (len(r) for r in session.game.reels)
    )
    with pytest.raises(ClientSeedLocked):
        services.set_client_seed(session=session, client_seed="another")
    services.leave(session=session)
    with pytest.raises(SessionClosed):
        services.set_client_seed(session=GameSession(pk=session.pk), client_seed="another")


@pytest.mark.parametrize("seed", ["", " ", "x" * 65, "a:b", "naïve", "a b", "a\x00b", None, 12])
def test_a_bad_client_seed_is_refused(session, seed):
    with pytest.raises(InvalidClientSeed):
        services.set_client_seed(session=session, client_seed=seed)


def test_the_database_refuses_to_change_seeds_or_versions(session, fruit):
    play(session, 1)
    for column, value in [
        ("server_seed", fair.new_server_seed()),
        ("client_seed", "changed"),
        ("game_version_id", None),
    ]:
        with pytest.raises(IntegrityError, match="seeds and game version"), transaction.atomic():
            GameSession.objects.filter(pk=session.pk).update(**{column: value})
    with pytest.raises(IntegrityError, match="game version never changes"), transaction.atomic():
        GameVersion.objects.filter(pk=session.game_version_id).update(paytable=[])


def test_a_closed_session_verifies_against_its_version_after_the_game_changes(session, fruit, player):
    play(session, 20)
    services.leave(session=session)
    Game.objects.filter(pk=fruit.pk).update(
        paytable=[*fruit.paytable[:-1], {**fruit.paytable[-1], "pays": fruit.paytable[-1]["pays"] + 1}]
    )
    fresh = services.open_session(player=player, game=Game.objects.get(pk=fruit.pk))
    assert fresh.game_version_id != session.game_version_id
    verified = selectors.verify_session(GameSession.objects.get(pk=session.pk))
    assert verified.result.ok and len(verified.result.spins) == 20
    assert verified.statement["game"]["paytable"] == fruit.paytable


def test_free_spins_and_win_boosts_are_in_the_statement_and_verify(player):
    vendor = Vendor.objects.create(slug="acme", name="Acme")
    game = Game.objects.create(
        slug="cherries",
        name="Cherries",
        vendor=vendor,
        min_stake=Decimal("0.10"),
        max_stake=Decimal("5.00"),
        reels=[["cherry", "cherry", "lemon"]] * 3,
        paytable=[{"line": ["cherry", "cherry", "cherry"], "pays": 3}],
    )
    services.grant_free_spins(player=player, game=game, count=3, stake="0.50", source_key="fs")
    from django.utils import timezone  # noqa: PLC0415

    now = timezone.now()
    promotions.add_vendor_promotion(
        vendor=vendor, kind="win_boost", starts_at=now, ends_at=now + timezone.timedelta(days=1), percent="12.5"
    )
    session = services.open_session(player=player, game=game)
    services.feed(session=session, amount="10.00", idempotency_key="f")
    for i in range(3):
        services.spin(session=session, idempotency_key=f"free{i}", free_spin=True)
    for i in range(12):
        services.spin(session=session, stake="0.30", idempotency_key=f"paid{i}")
    services.leave(session=session)
    statement = selectors.session_statement(GameSession.objects.get(pk=session.pk))
    assert [s["free_spin"] for s in statement["spins"][:4]] == [True, True, True, False]
    boosted = [s for s in statement["spins"] if s["boost"] != "0.00"]
    assert boosted and all(s["boost_percent"] == "12.5" for s in boosted)
    assert fair.verify_statement(statement).ok


def test_the_statement_is_refused_while_the_session_is_open(session):
    play(session, 2)
    with pytest.raises(SessionStillOpen):
        selectors.session_statement(session)


# --- the standalone script and the command ------------------------------------------
def closed_statement(session, spins: int = 25) -> dict:
    play(session, spins)
    services.leave(session=session)
    return selectors.session_statement(GameSession.objects.select_related("game", "game_version").get(pk=session.pk))


def run_script(tmp_path: Path, statement) -> subprocess.CompletedProcess:
    """The verifier as a player runs it: the one file copied elsewhere, Python in isolated
    mode (no site-packages, no environment, no project on the path)."""
    script = tmp_path / "fair.py"
    shutil.copy(FAIR_PY, script)
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(statement) if not isinstance(statement, str) else statement)
    return subprocess.run(
        [sys.executable, "-I", str(script), str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )


def test_the_standalone_script_verifies_a_real_sessions_statement(session, tmp_path):
    statement = closed_statement(session)
    done = run_script(tmp_path, statement)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 25 spin(s) verified" in done.stdout


def test_the_standalone_script_rejects_a_tampered_statement(session, tmp_path):
    statement = closed_statement(session)
    spin = statement["spins"][7]
    spin["win"] = str(Decimal(spin["win"]) + Decimal("1.00"))
    done = run_script(tmp_path, statement)
    assert done.returncode == 1 and "✗ spin 8" in done.stdout and "FAILED" in done.stdout
    assert run_script(tmp_path, "{not json").returncode == 2


def test_verify_session_command(session):
    statement = closed_statement(session, spins=10)
    out = _call("verify_session", str(session.pk))
    assert "all 10 spin(s) verified" in out
    Spin.objects.filter(session=session, nonce=4).update(stops=[0, 0, 0])  # a stored spin changed
    with pytest.raises(CommandError, match="does NOT verify"):
        _call("verify_session", str(session.pk))
    assert statement["spins"][3]["nonce"] == 4


def test_verify_session_command_refuses_an_open_or_unknown_session(session):
    with pytest.raises(CommandError, match="revealed when the session closes"):
        _call("verify_session", str(session.pk))
    with pytest.raises(CommandError, match="no game session"):
        _call("verify_session", "999999")


def _call(*args) -> str:
    import io  # noqa: PLC0415

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- pages -----------------------------------------------------------------------------
def test_the_open_session_page_shows_the_commitment_and_the_seed_form_never_the_seed(session, player_client):
    page = player_client.get(session.get_absolute_url()).content.decode()
    assert session.commitment in page and session.client_seed in page
    assert session.server_seed not in page
    assert reverse("session_seed", args=[session.pk]) in page


def test_the_seed_form_saves_and_shows_errors(session, player_client):
    url = reverse("session_seed", args=[session.pk])
    response = player_client.post(url, {"seed-client_seed": "my-seed"})
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.client_seed == "my-seed"
    bad = player_client.post(url, {"seed-client_seed": "no spaces allowed"})
    assert bad.status_code == 422 and "letters, digits" in bad.content.decode()
    play(session, 1)
    locked = player_client.post(url, {"seed-client_seed": "later"}, follow=True)
    assert locked.redirect_chain[-1][1] == 302 and "fixed once the first spin" in locked.content.decode()
    session.refresh_from_db()
    assert session.client_seed == "my-seed"


def test_the_first_htmx_spin_fixes_the_seed_on_the_page(session, player_client):
    url = reverse("session_spin", args=[session.pk])
    data = {"spin-stake": "0.20", "spin-idempotency_key": uuid.uuid4().hex}
    first = player_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="fair-client-seed" hx-swap-oob="true"' in first and "fixed since the first spin" in first
    assert "seed-form" not in first
    data["spin-idempotency_key"] = uuid.uuid4().hex
    second = player_client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "fair-client-seed" not in second


def test_the_closed_session_reveals_and_verifies(session, player_client):
    spins = play(session, 8)
    services.leave(session=session)
    page = player_client.get(session.get_absolute_url()).content.decode()
    assert session.server_seed in page and session.commitment in page
    verify = player_client.get(reverse("session_verify", args=[session.pk]))
    body = verify.content.decode()
    assert verify.status_code == 200 and "Every spin verified" in body
    assert body.count('data-testid="check-ok"') == 8 and 'data-testid="check-bad"' not in body
    assert all(" · ".join(map(str, s.stops)) in body for s in spins)
    download = player_client.get(reverse("session_statement", args=[session.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert fair.verify_statement(json.loads(download.content)).ok


def test_a_tampered_spin_shows_a_cross_on_the_verify_page(session, player_client):
    play(session, 5)
    services.leave(session=session)
    Spin.objects.filter(session=session, nonce=3).update(win=Decimal("99.00"))
    body = player_client.get(reverse("session_verify", args=[session.pk])).content.decode()
    assert "does not verify" in body and body.count('data-testid="check-bad"') == 1


def test_an_open_session_cannot_be_verified_or_downloaded_yet(session, player_client):
    play(session, 2)
    verify = player_client.get(reverse("session_verify", args=[session.pk])).content.decode()
    assert "revealed when the session closes" in verify and session.server_seed not in verify
    download = player_client.get(reverse("session_statement", args=[session.pk]))
    assert download.status_code == 409 and session.server_seed not in download.content.decode()


def test_another_players_session_is_a_404(session, client):
    client.force_login(PlayerFactory())
    services.leave(session=session)
    for name in ("session_verify", "session_statement"):
        assert client.get(reverse(name, args=[session.pk])).status_code == 404
    assert client.post(reverse("session_seed", args=[session.pk]), {"seed-client_seed": "x"}).status_code == 404


def test_the_verifier_script_is_offered_for_download(client):
    response = client.get(reverse("fair_verifier"))
    assert response.status_code == 200 and response.content == FAIR_PY.read_bytes()


def test_a_session_from_before_issue_17_says_it_cannot_be_verified(session, player_client):
    play(session, 2)
    services.leave(session=session)
    with connection.cursor() as cursor:  # as the migration leaves a session closed before it
        cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers: this test's rows only
        GameSession.objects.filter(pk=session.pk).update(server_seed=None, game_version=None)
        cursor.execute("SET LOCAL session_replication_role = origin")
    assert "before provably fair play" in player_client.get(session.get_absolute_url()).content.decode()
    assert (
        "before provably fair play" in player_client.get(reverse("session_verify", args=[session.pk])).content.decode()
    )
    assert player_client.get(reverse("session_statement", args=[session.pk])).status_code == 409

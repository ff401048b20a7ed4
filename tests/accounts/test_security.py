"""Security hardening: production settings, login lockout, password strength, headers, admin access."""

import importlib
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.models import User
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**env) -> subprocess.CompletedProcess:
    dropped = {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # the last is set by conftest
    full_env = {k: v for k, v in os.environ.items() if k not in dropped}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = _check_deploy(
        DJANGO_SETTINGS_MODULE="casino.settings_production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="casino.example.com",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNINGS" not in output


def test_base_settings_do_not_pass_check_deploy():
    """The check is real: the development settings (no HSTS, insecure cookies) fail it."""
    result = _check_deploy(DJANGO_SETTINGS_MODULE="casino.settings")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr  # no HSTS


@pytest.mark.parametrize(
    "env",
    [
        {"ALLOWED_HOSTS": "casino.example.com"},  # no SECRET_KEY
        {"ALLOWED_HOSTS": "casino.example.com", "SECRET_KEY": "short"},
        {"SECRET_KEY": secrets.token_urlsafe(64)},  # no ALLOWED_HOSTS
    ],
)
def test_production_settings_refuse_to_start_without_secrets(env):
    result = _check_deploy(DJANGO_SETTINGS_MODULE="casino.settings_production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


@pytest.fixture
def production(settings, monkeypatch):
    """Apply the production module's security settings to this test process."""
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(64))
    monkeypatch.setenv("ALLOWED_HOSTS", "testserver")
    module = importlib.import_module("casino.settings_production")
    module = importlib.reload(module)
    for name in dir(module):
        if name.startswith(("SECURE_", "SESSION_COOKIE_", "CSRF_COOKIE_")):
            setattr(settings, name, getattr(module, name))
    return module


def test_production_redirects_to_https_and_sends_hsts(production, client, db):
    response = client.get("/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    response = client.get("/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    # Behind the TLS proxy: X-Forwarded-Proto counts as HTTPS.
    assert client.get("/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


def test_production_csp_uses_a_real_nonce(production, settings, client, db):
    settings.CONTENT_SECURITY_POLICY = production.CONTENT_SECURITY_POLICY
    response = client.get("/login/", secure=True)
    script_src = response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert "'nonce'" not in script_src  # never the bare sentinel string


def test_production_cookies_are_secure(production, client, player):
    client.get("/login/", secure=True)
    response = client.post("/login/", {"username": player.username, "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["secure"] and session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert client.cookies["csrftoken"]["secure"]


def test_security_headers_on_every_page(client, player):
    client.force_login(player)
    for url in ("/login/", "/wallet/", "/responsible/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        script_src = csp.split("script-src")[1].split(";")[0]
        assert "'self'" in script_src and "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
        nonce = re.search(r"'nonce-([^']+)'", script_src)
        html = response.content.decode()
        # htmx works under this CSP: no inline handlers, every script is a file or carries the nonce.
        assert not re.search(r"\son[a-z]+\s*=", html), url
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or (nonce and f'nonce="{nonce.group(1)}"' in tag), tag


def test_session_and_csrf_cookie_flags_in_base_settings(client, player):
    response = client.post("/login/", {"username": player.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"] and response.cookies["sessionid"]["samesite"] == "Lax"


def _login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_login_lockout_after_five_failures_shows_the_locked_out_page(client, player, other_player):
    statuses = [_login(client, player.username, f"wrong-{i}").status_code for i in range(5)]
    assert statuses[:4] == [200] * 4  # the login form again, with an error
    response = _login(client, player.username, "wrong-again")
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content and b"<title>Too many attempts" in response.content

    response = _login(client, player.username, PASSWORD)  # the right password is still refused
    assert response.status_code == 429
    assert SESSION_KEY not in client.session

    # Locked by username + IP: another player from the same address is not locked out.
    response = _login(client, other_player.username, PASSWORD)
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(other_player.pk)


def test_lockout_is_per_username_and_address(client, player):
    for i in range(5):
        _login(client, player.username, f"wrong-{i}")
    other_address = client.post("/login/", {"username": player.username, "password": PASSWORD}, REMOTE_ADDR="10.9.8.7")
    assert other_address.status_code == 302


def test_failures_below_the_limit_do_not_lock(client, player):
    for i in range(4):
        _login(client, player.username, f"wrong-{i}")
    assert _login(client, player.username, PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "too short"),
        ("password123", "too common"),
        ("12345678901234", "entirely numeric"),
        ("newplayer-x", "too similar"),
    ],
)
def test_signup_rejects_weak_passwords_with_a_form_error(client, db, password, message):
    response = client.post(
        "/signup/",
        {"username": "newplayer", "email": "newplayer@example.com", "password1": password, "password2": password},
    )
    assert response.status_code in (200, 422)
    assert message in response.content.decode()
    assert 'class="errorlist' in response.content.decode()
    assert not User.objects.filter(username="newplayer").exists()


def test_signup_accepts_a_strong_password(client, db):
    strong = "amber-falcon-river-42"
    response = client.post("/signup/", {"username": "strongone", "password1": strong, "password2": strong})
    assert response.status_code == 302
    assert User.objects.get(username="strongone").check_password(strong)


def test_admin_is_staff_only(client, player):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(player)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.get("/admin/accounts/ledgertransaction/").status_code == 302
    client.logout()
    response = client.post("/admin/login/", {"username": player.username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 200 and b"staff account" in response.content
    assert SESSION_KEY not in client.session

"""Lobby, game pages and slot sessions (open, feed, spin, leave, history).

The session page is one template with a ``play`` partial: spin and feed posts
re-render just that partial for htmx (new reels, win, balance, history and
fresh one-time keys), or redirect back to the page for a plain form post.
"""

from __future__ import annotations

import uuid
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from accounts import ledger
from accounts.context_processors import account_balance
from casino import selectors, services
from casino.exceptions import BonusNotPlayable, MachineNotFed, SessionAlreadyOpen, SessionNotFound
from casino.forms.games import (
    ClientSeedForm,
    FeedForm,
    FreeSpinForm,
    OpenSessionForm,
    SpinForm,
    default_feed,
    quick_feeds,
    stake_range,
)
from casino.models import GameSession
from casino.notices import notify_since_last_visit
from casino.slots import Machine, icon, percent, symbol_name, win_tier
from core.exceptions import DomainError
from core.forms import add_domain_error
from core.htmx import changes_balance
from core.money import format_money

SESSIONS_PAGE_SIZE = 20


@login_required
@require_http_methods(["GET"])
def lobby(request):
    games = list(selectors.active_games())
    free_spins = selectors.free_spins_by_game(player=request.user)
    balance = account_balance(request)
    rows = [
        {
            "game": game,
            "rtp": percent(Machine.for_game(game).rtp),
            "free_spins": free_spins.get(game.pk, 0),
            "open_form": _open_form(balance, game),
        }
        for game in games
    ]
    notify_since_last_visit(request)
    ctx = {
        "rows": rows,
        "games": games,
        "balance": balance,
        "quick_feeds": quick_feeds(balance),
        "open_session": selectors.open_session_for(player=request.user),
    }
    return render(request, "casino/lobby.html", ctx)


def _open_form(balance, game, data=None):
    """The open-and-feed form of one game (ids per game: the lobby shows one per card)."""
    return OpenSessionForm(data, prefix="open", initial={"amount": default_feed(balance)}, auto_id=f"id_{game.slug}_%s")


@login_required
@require_http_methods(["GET"])
def game_detail(request, slug):
    game = get_object_or_404(selectors.active_games(), slug=slug)
    return _render_game(request, game)


def _render_game(request, game, *, open_form=None, status: int = 200):
    machine = Machine.for_game(game)
    balance = account_balance(request)
    theory = machine.theory  # computed once per saved version of the game, not per page view
    ctx = {
        "game": game,
        "rtp": percent(theory.rtp),
        "hit_frequency": percent(theory.hit_frequency),
        "rules": [
            {"symbols": [(icon(s), symbol_name(s)) for s in rule.line], "pays": rule.pays, "odds": _one_in(p)}
            for rule, p in theory.rule_probabilities
        ],
        "strips": [
            {"length": len(strip), "symbols": [(icon(s), symbol_name(s), n) for s, n in Counter(strip).most_common()]}
            for strip in machine.reels
        ],
        "game_list": [game],
        "free_spins": selectors.free_spins_for(player=request.user, game=game),
        "open_session": selectors.open_session_for(player=request.user),
        "balance": balance,
        "quick_feeds": quick_feeds(balance),
        "open_form": open_form or _open_form(balance, game),
    }
    return render(request, "casino/game.html", ctx, status=status)


@login_required
@require_http_methods(["POST"])
@changes_balance
def session_open(request, slug):
    """Open the machine and feed it in one step (a quick amount or a typed one), so the
    first spin has money to play: ``services.open_and_feed`` on the form's one-time key
    (a double submit opens once and feeds once)."""
    game = get_object_or_404(selectors.active_games(), slug=slug)
    form = _open_form(None, game, data=request.POST)
    if not form.is_valid():
        return _render_game(request, game, open_form=form, status=422)
    amount = form.cleaned_data.get("amount")
    try:
        session = services.open_and_feed(
            player=request.user,
            game=game,
            amount=amount,
            idempotency_key=form.cleaned_data["idempotency_key"],
            use_bonus=form.cleaned_data.get("use_bonus", False),
        )
    except MachineNotFed as exc:
        messages.error(request, f"Session opened on {game.name}, but the machine was not fed: {exc.reason.message}")
        if isinstance(exc.reason, BonusNotPlayable):  # the open machine's page, the reason beside its feed amount
            feed_form = FeedForm(
                {"feed-amount": f"{amount}", "feed-use_bonus": "on", "feed-idempotency_key": uuid.uuid4().hex},
                prefix="feed",
            )
            if feed_form.is_valid():
                add_domain_error(feed_form, exc.reason, default_field="amount")
            return _render_play(request, exc.session, feed_form=feed_form, status=exc.reason.status_code)
        return redirect(exc.session)
    except SessionAlreadyOpen as exc:
        messages.error(request, exc.message)
        return redirect(selectors.open_session_for(player=request.user) or "lobby")
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(game)
    if not amount:
        messages.success(request, f"Session opened on {game.name}. Feed the machine to play.")
    else:
        messages.success(request, f"Session opened on {game.name} with {format_money(amount)} in the machine.")
    return redirect(session)


@login_required
@require_http_methods(["GET"])
def session_history(request):
    page = Paginator(selectors.sessions_of(player=request.user), SESSIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "casino/sessions.html", {"page": page})


@login_required
@require_http_methods(["GET"])
@vary_on_headers("HX-Request")
def session_detail(request, pk):
    session = get_object_or_404(selectors.session_of(player=request.user, pk=pk))
    if not request.htmx:
        notify_since_last_visit(request)  # e.g. "payout paid" right after leaving the machine
    return _render_play(request, session)


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
def session_spin(request, pk):
    """One spin. The service checks the session is the player's own, in the same statement
    that reads it (no read here first); an htmx spin answers with what changed only."""
    session = GameSession(pk=pk, player_id=request.user.pk)
    free = bool(request.POST.get("free_spin"))
    form = FreeSpinForm(request.POST, prefix="free") if free else SpinForm(request.POST, prefix="spin")
    if form.is_valid():
        try:
            spin = services.spin(
                session=session,
                stake=form.cleaned_data.get("stake"),
                idempotency_key=form.cleaned_data["idempotency_key"],
                free_spin=free,
            )
        except SessionNotFound as exc:
            raise Http404(exc.message) from exc
        except DomainError as exc:
            add_domain_error(form, exc, default_field="stake")
        else:
            if not request.htmx:
                return redirect(session)
            return _render_spin(request, spin, meter=form.cleaned_data.get("meter", ""))
    forms = {"free_form": form} if free else {"spin_form": form}
    session = get_object_or_404(selectors.session_of(player=request.user, pk=pk))
    response = _render_play(request, session, status=422, **forms)
    return reswap(retarget(response, "#play"), "outerHTML") if request.htmx else response


def _render_spin(request, spin, *, meter: str = ""):
    """What a spin changed: reels and win, the machine balance (cash and bonus), a fresh
    spin form (keeping the stake), totals, the new history row, the bonus wagering meter
    (from ``meter``, what the page drew it from, plus the session's wagering now: no
    query); free spins left only after a free spin."""
    session = spin.session  # as it is after the spin, with its game
    stake = session.game.min_stake if spin.free_spin else spin.stake  # keep the chosen stake
    ctx = {
        "session": session,
        "game": session.game,
        "last_spin": spin,
        "win_tier": win_tier(spin.win, spin.stake),
        "reels": _reels(spin.symbols),
        "spin_form": SpinForm(
            prefix="spin", initial={"stake": stake}, game=session.game, bonus_max_stake=session.bonus_max_stake
        ),
        "stake_max": stake_range(session.game, session.bonus_max_stake)[1],
        "meter_token": meter,
    }
    if spin.free_spin:
        ctx["free_spins"] = selectors.free_spins_for(player=request.user, game=session.game)
        ctx["free_form"] = FreeSpinForm(prefix="free")
    return render(request, "casino/session.html#spin-swap", ctx)


def _reels(symbols):
    return [(icon(s), symbol_name(s)) for s in symbols]


@login_required
@require_http_methods(["POST"])
@vary_on_headers("HX-Request")
@changes_balance
def session_feed(request, pk):
    session = get_object_or_404(selectors.session_of(player=request.user, pk=pk))
    form = FeedForm(request.POST, prefix="feed")
    if form.is_valid():
        try:
            tx = services.feed(
                session=session,
                amount=form.cleaned_data["amount"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                use_bonus=form.cleaned_data["use_bonus"],
            )
        except DomainError as exc:
            add_domain_error(form, exc, default_field="amount")
        else:
            fed = f"Fed {format_money(form.cleaned_data['amount'])} into the machine"
            bonus = ledger.moved(tx, session.bonus_ledger_code) if form.cleaned_data["use_bonus"] else 0
            messages.success(request, f"{fed} ({format_money(bonus)} of it bonus funds)." if bonus else f"{fed}.")
            if not request.htmx:
                return redirect(session)
            return _render_play(request, session)
    return _render_play(request, session, feed_form=form, status=422)


@login_required
@require_http_methods(["POST"])
@changes_balance
def session_leave(request, pk):
    session = get_object_or_404(selectors.session_of(player=request.user, pk=pk))
    if not session.is_open:
        messages.info(request, "This session is already closed.")
    else:
        try:
            closed = services.leave(session=session)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Cashed out {format_money(closed.cashed_out)} to your account.")
    url = session.get_absolute_url()
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _render_play(
    request, session, *, status: int = 200, spin_form=None, free_form=None, feed_form=None, seed_form=None
):
    session = selectors.session_of(player=request.user, pk=session.pk).select_related("game_version").get()
    spins = selectors.recent_spins(session=session)
    last = spins[0] if spins else None
    balance = account_balance(request)
    spin_form = spin_form or SpinForm(prefix="spin", initial={"stake": session.game.min_stake})
    stake_max = stake_range(session.game, session.bonus_max_stake)[1]
    ctx = {
        "session": session,
        "game": session.game,
        "spins": spins,
        "last_spin": last,
        "win_tier": win_tier(last.win, last.stake) if last else "",
        "reels": _reels(last.symbols) if last else [("?", "")] * len(session.game.reels),
        "account_balance": balance,
        "quick_feeds": quick_feeds(balance),
        "free_spins": selectors.free_spins_for(player=request.user, game=session.game),
        "spin_form": spin_form.for_game(session.game, bonus_max_stake=session.bonus_max_stake),
        "stake_max": stake_max,
        "free_form": free_form or FreeSpinForm(prefix="free"),
        "feed_form": feed_form or FeedForm(prefix="feed"),
        "seed_form": seed_form or ClientSeedForm(prefix="seed", initial={"client_seed": session.client_seed}),
    }
    template = "casino/session.html#play-swap" if request.htmx else "casino/session.html"
    return render(request, template, ctx, status=status)


HTMX_STOP_POLLING = 286  # htmx stops an ``every`` trigger on this status


@login_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def reality_check(request):
    """Polled by the game-session page. Shows the reminder once per ``REALITY_CHECK_MINUTES``
    of play until the player acknowledges it (POST)."""
    check = selectors.reality_check(player=request.user)
    due = False
    if check is not None:
        key = f"reality_check_ack:{check.session.pk}"
        if request.method == "POST":
            request.session[key] = check.checkpoint
        due = check.checkpoint > request.session.get(key, 0)
    ctx = {"reality": check, "reality_due": due}
    if request.htmx:
        status = 200 if check is not None else HTMX_STOP_POLLING
        return render(request, "casino/partials/_reality_check.html", ctx, status=status)
    if request.method == "POST" and check is not None:
        return redirect(check.session.get_absolute_url())
    return render(request, "casino/reality_check.html", ctx)


def _one_in(probability) -> str:
    if probability == 0:
        return "never"
    return f"1 in {round(1 / probability):,}"

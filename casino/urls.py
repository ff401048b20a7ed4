"""The project's root URLconf (``casino`` is also the project package), with the casino app's own pages.

The accounts and promotions apps keep their pages in their own ``urls.py``; this
root wires them in by name, as ``INSTALLED_APPS`` does (no Python import of them).
"""

from django.contrib import admin
from django.urls import include, path

from casino.views import cashout, fair, games, slip, sportsbook
from core.views import favicon

casino_patterns = [
    path("", games.lobby, name="lobby"),
    path("games/<slug:slug>/", games.game_detail, name="game_detail"),
    path("games/<slug:slug>/play/", games.session_open, name="session_open"),
    path("sessions/", games.session_history, name="session_history"),
    path("sessions/<int:pk>/", games.session_detail, name="session_detail"),
    path("sessions/<int:pk>/spin/", games.session_spin, name="session_spin"),
    path("sessions/<int:pk>/feed/", games.session_feed, name="session_feed"),
    path("sessions/<int:pk>/leave/", games.session_leave, name="session_leave"),
    path("sessions/<int:pk>/seed/", fair.session_seed, name="session_seed"),
    path("sessions/<int:pk>/verify/", fair.session_verify, name="session_verify"),
    path("sessions/<int:pk>/statement.json", fair.session_statement, name="session_statement"),
    path("provably-fair/fair.py", fair.verifier_script, name="fair_verifier"),
    path("responsible/reality-check/", games.reality_check, name="reality_check"),
    path("sportsbook/", sportsbook.sportsbook, name="sportsbook"),
    path("sportsbook/bet/", sportsbook.place_bet, name="place_bet"),
    path("sportsbook/slip/add/", slip.slip_add, name="slip_add"),
    path("sportsbook/slip/remove/", slip.slip_remove, name="slip_remove"),
    path("sportsbook/slip/clear/", slip.slip_clear, name="slip_clear"),
    path("sportsbook/slip/place/", slip.slip_place, name="slip_place"),
    path("bets/", sportsbook.my_bets, name="my_bets"),
    path("bets/<int:pk>/", sportsbook.bet_detail, name="bet_detail"),
    path("bets/<int:pk>/cash-out/", sportsbook.cash_out_bet, name="cash_out_bet"),
    path("bets/<int:pk>/cash-out-early/", cashout.cash_out_early, name="cash_out_early"),
]

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page says: send them to the real one.
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include(casino_patterns)),
    path("", include("promotions.urls")),
]

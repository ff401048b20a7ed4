from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.decorators.http import require_http_methods

from accounts.views import profile, responsible, wallet

urlpatterns = [
    path("signup/", wallet.signup, name="signup"),
    path(
        "login/",
        require_http_methods(["GET", "POST"])(auth_views.LoginView.as_view(template_name="accounts/login.html")),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/deposit/", wallet.deposit, name="deposit"),
    path("wallet/withdraw/", wallet.withdraw, name="withdraw"),
    path("wallet/statement/", wallet.statement, name="statement"),
    path("wallet/balance/", wallet.header_balance, name="header_balance"),
    path("responsible/", responsible.responsible_page, name="responsible"),
    path("responsible/limits/", responsible.set_limits, name="responsible_limits"),
    path("responsible/break/", responsible.take_break, name="responsible_break"),
    path("responsible/exclude/", responsible.self_exclude, name="responsible_exclude"),
    path("profile/", profile.profile_page, name="profile"),
]

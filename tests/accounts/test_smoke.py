from decimal import Decimal

from accounts import selectors


def test_player_factory_deposits(player):
    assert selectors.balance_of(player=player) == Decimal("100.00")


def test_wallet_renders(player_client):
    response = player_client.get("/wallet/")
    assert response.status_code == 200
    assert b"100.00" in response.content

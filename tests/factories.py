"""factory_boy factories. Money state is built through services, as a player would."""

import itertools
from decimal import Decimal

import factory

from accounts import services as account_services
from accounts.models import User

PASSWORD = "correct-horse-battery-9"
_seq = itertools.count(1)


class PlayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"player{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")

    @classmethod
    def _create(cls, model_class, *args, username, email="", password=PASSWORD, balance=Decimal("0"), **kwargs):
        user = account_services.create_player(username=username, password=password, email=email)
        if balance:
            account_services.deposit(player=user, amount=Decimal(balance), idempotency_key=f"seed-{next(_seq)}")
        return user


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True

    @classmethod
    def _create(cls, model_class, *args, username, password=PASSWORD, **kwargs):
        return User.objects.create_user(username=username, password=password, **kwargs)

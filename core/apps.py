from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The base layer: imports no app of this project; every app may import it."""

    name = "core"
    verbose_name = "Audit"

from promotions.admin import codes, vendors  # noqa: F401

from promotions.admin import bonus, codes, vendors  # noqa: F401

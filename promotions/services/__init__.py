"""Promotion write services. Stable names: issue_code, issue_codes_bulk, redeem,
add_vendor_promotion, archive_expired_promotions, grant_bonus, forfeit_bonus."""

from promotions.services.bonus import (  # noqa: F401
    cancel_bonus,
    expire_bonus_grants,
    forfeit_bonus,
    forfeit_preview,
    grant_bonus,
    validate_bonus_terms,
)
from promotions.services.codes import deactivate_code, issue_code, issue_codes_bulk, redeem  # noqa: F401
from promotions.services.vendors import (  # noqa: F401
    add_vendor_promotion,
    archive_expired_promotions,
    remove_vendor_promotion,
    update_vendor_promotion_window,
)

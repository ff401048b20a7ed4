"""Promotion write services. Stable names: issue_code, issue_codes_bulk, redeem,
add_vendor_promotion, archive_expired_promotions."""

from promotions.services.codes import issue_code, issue_codes_bulk, redeem  # noqa: F401
from promotions.services.vendors import add_vendor_promotion, archive_expired_promotions  # noqa: F401

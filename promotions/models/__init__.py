from promotions.models.bonus import BonusGrant, bonus_ledger_code
from promotions.models.codes import LimitToken, PromotionCode, Redemption
from promotions.models.vendors import PromotionHistory, PromotionKind, VendorPromotion

__all__ = [
    "BonusGrant",
    "LimitToken",
    "PromotionCode",
    "PromotionHistory",
    "PromotionKind",
    "Redemption",
    "VendorPromotion",
    "bonus_ledger_code",
]

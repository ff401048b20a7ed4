from promotions.models.codes import LimitToken, PromotionCode, Redemption
from promotions.models.vendors import PromotionHistory, PromotionKind, VendorPromotion

__all__ = ["LimitToken", "PromotionCode", "PromotionHistory", "PromotionKind", "Redemption", "VendorPromotion"]

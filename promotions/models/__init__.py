from promotions.models.codes import LimitToken, PromotionCode, Redemption
from promotions.models.vendors import PromotionHistory, Vendor, VendorPromotion

__all__ = ["LimitToken", "PromotionCode", "PromotionHistory", "Redemption", "Vendor", "VendorPromotion"]

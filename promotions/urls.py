from django.urls import path

from promotions.views import bonus, codes, vendors

urlpatterns = [
    path("redeem/", codes.redeem, name="redeem"),
    path("redemptions/<int:pk>/", codes.redemption_detail, name="redemption_detail"),
    path("bonus/<int:pk>/forfeit/", bonus.bonus_forfeit, name="bonus_forfeit"),
    path("vendors/<slug:slug>/", vendors.vendor_detail, name="vendor_detail"),
]

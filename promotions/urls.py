from django.urls import path

from promotions.views import codes, vendors

urlpatterns = [
    path("redeem/", codes.redeem, name="redeem"),
    path("redemptions/<int:pk>/", codes.redemption_detail, name="redemption_detail"),
    path("vendors/<slug:slug>/", vendors.vendor_detail, name="vendor_detail"),
]

from django.urls import path

from apps.registry import api

urlpatterns = [
    path("models/", api.ModelList.as_view(), name="api-registry-models"),
    path("models/<str:name>/", api.ModelDetail.as_view(), name="api-registry-model"),
    path("models/<str:name>/versions/", api.VersionList.as_view(), name="api-registry-versions"),
    path(
        "models/<str:name>/alias-history/",
        api.AliasHistory.as_view(),
        name="api-registry-alias-history",
    ),
    path("models/<str:name>/policy/", api.PolicyView.as_view(), name="api-registry-policy"),
    path("models/<str:name>/rollback/", api.Rollback.as_view(), name="api-registry-rollback"),
    path("promotions/", api.PromotionListCreate.as_view(), name="api-registry-promotions"),
    path("promotions/<int:pk>/", api.PromotionDetail.as_view(), name="api-registry-promotion"),
    path(
        "promotions/<int:pk>/approve/", api.PromotionApprove.as_view(), name="api-registry-approve"
    ),
    path("promotions/<int:pk>/reject/", api.PromotionReject.as_view(), name="api-registry-reject"),
    path("promotions/<int:pk>/cancel/", api.PromotionCancel.as_view(), name="api-registry-cancel"),
]

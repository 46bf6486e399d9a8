from django.urls import path

from apps.registry import views

app_name = "registry"

# Pages that are not a model live under "-/", a name MLflow models do not take in practice.
urlpatterns = [
    path("", views.model_list, name="model-list"),
    path("-/reviews/", views.my_reviews, name="my-reviews"),
    path("-/reviews/live/", views.my_reviews_live, name="my-reviews-live"),
    path("-/webhooks/", views.global_webhooks, name="webhooks"),
    path("-/webhooks/<int:pk>/remove/", views.global_webhook_remove, name="webhook-global-remove"),
    path("-/promotions/<int:pk>/", views.promotion_detail, name="promotion-detail"),
    path("-/promotions/<int:pk>/live/", views.promotion_live, name="promotion-live"),
    path("-/promotions/<int:pk>/decide/", views.promotion_decide, name="promotion-decide"),
    path("-/promotions/<int:pk>/cancel/", views.promotion_cancel, name="promotion-cancel"),
    path("<str:name>/", views.model_detail, name="model-detail"),
    path("<str:name>/versions/<int:version>/", views.version_detail, name="version-detail"),
    path("<str:name>/request/", views.promotion_new, name="promotion-new"),
    path("<str:name>/rollback/", views.rollback, name="rollback"),
    path("<str:name>/policy/", views.policy_edit, name="policy-edit"),
    path("<str:name>/grants/", views.grants_edit, name="grants-edit"),
    path("<str:name>/metadata/", views.metadata_edit, name="metadata-edit"),
    path("<str:name>/webhooks/", views.webhook_add, name="webhook-add"),
    path("<str:name>/webhooks/<int:pk>/remove/", views.webhook_remove, name="webhook-remove"),
]

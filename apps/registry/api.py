"""Registry API: the same selectors, services and checks as the pages.

Invisible models and requests answer 404, visible ones without the permission 403, and
a request in the wrong state 409 with that state.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.registry import selectors, services
from apps.registry.exceptions import StateConflict
from apps.registry.models import AliasAssignment, ModelVersion, PromotionRequest, RegisteredModel
from apps.registry.permissions import MODEL_PERMISSIONS

ConflictSerializer = inline_serializer(
    "Conflict", {"detail": serializers.CharField(), "state": serializers.CharField()}
)


class GovernanceErrors:
    """Turn service refusals into API answers (409 for state, 400 for invalid input)."""

    def handle_exception(self, exc):
        if isinstance(exc, StateConflict):
            return Response(
                {"detail": str(exc), "state": exc.state}, status=status.HTTP_409_CONFLICT
            )
        if isinstance(exc, DjangoValidationError):
            body = exc.message_dict if hasattr(exc, "message_dict") else {"detail": exc.messages}
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)


def visible_model(request, name) -> RegisteredModel:
    return MODEL_PERMISSIONS.get_or_404(request.user, name=name)


# --- serializers -----------------------------------------------------------------------


class ModelSerializer(serializers.ModelSerializer):
    aliases = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredModel
        fields = ["name", "description", "tags", "aliases", "synced_at", "deleted_in_mlflow"]

    def get_aliases(self, obj) -> dict[str, int]:
        holders = self.context.get("holders")
        if holders is not None:
            return holders.get(obj.pk, {})
        return selectors.current_holders(obj)


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "version",
            "aliases",
            "tags",
            "description",
            "status",
            "source",
            "run_id",
            "run_name",
            "run_author",
            "experiment_id",
            "run_metrics",
            "created",
            "deleted_in_mlflow",
        ]


class AliasAssignmentSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AliasAssignment
        fields = [
            "alias",
            "version",
            "started_at",
            "ended_at",
            "how",
            "actor",
            "approvers",
            "promotion",
            "reason",
        ]


class PolicySerializer(serializers.Serializer):
    required_approvals = serializers.IntegerField(min_value=1)
    eligible_users = serializers.SlugRelatedField(
        slug_field="username",
        many=True,
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
    )
    eligible_teams = serializers.SlugRelatedField(
        slug_field="name",
        many=True,
        required=False,
        queryset=Group.objects.filter(team__isnull=False),
    )
    exclude_run_author = serializers.BooleanField(required=False, default=False)
    metric_gates = serializers.CharField(required=False, allow_blank=True, default="")
    rollback_requires_approval = serializers.BooleanField(required=False, default=False)
    expiry_hours = serializers.IntegerField(min_value=1, required=False, default=72)
    is_default = serializers.BooleanField(read_only=True)


def policy_data(policy) -> dict:
    return {**services.policy_snapshot(policy), "is_default": policy.pk is None}


class ApprovalSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    decision = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class PromotionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version")
    requested_by = serializers.CharField(source="requested_by.username")
    state_label = serializers.CharField()
    approvals = ApprovalSerializer(many=True)

    class Meta:
        model = PromotionRequest
        fields = [
            "id",
            "model",
            "version",
            "target",
            "kind",
            "emergency",
            "state",
            "state_label",
            "retrying",
            "justification",
            "requested_by",
            "evidence",
            "previous_version",
            "required_approvals",
            "approvals",
            "failure_reason",
            "created_at",
            "expires_at",
            "decided_at",
            "promoted_at",
        ]


class PromotionCreateSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField(min_value=1)
    target = serializers.CharField()
    justification = serializers.CharField()


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class RollbackSerializer(serializers.Serializer):
    target = serializers.CharField()
    reason = serializers.CharField()


# --- views -------------------------------------------------------------------------------


class ModelList(generics.ListAPIView):
    serializer_class = ModelSerializer

    def get_queryset(self):
        return MODEL_PERMISSIONS.visible_to(self.request.user).order_by("name")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["holders"] = selectors.holders_by_model(self.get_queryset())
        return context


class ModelDetail(generics.RetrieveAPIView):
    serializer_class = ModelSerializer

    def get_object(self):
        return visible_model(self.request, self.kwargs["name"])


class VersionList(generics.ListAPIView):
    serializer_class = VersionSerializer

    def get_queryset(self):
        return visible_model(self.request, self.kwargs["name"]).versions.all()


class AliasHistory(generics.ListAPIView):
    serializer_class = AliasAssignmentSerializer

    def get_queryset(self):
        return selectors.alias_history(visible_model(self.request, self.kwargs["name"]))


class PolicyView(GovernanceErrors, APIView):
    @extend_schema(responses=PolicySerializer, summary="The model's approval policy")
    def get(self, request, name):
        model = visible_model(request, name)
        return Response(policy_data(selectors.policy_for(model)))

    @extend_schema(
        request=PolicySerializer,
        responses=PolicySerializer,
        summary="Replace the approval policy (manage permission)",
    )
    def put(self, request, name):
        model = visible_model(request, name)
        MODEL_PERMISSIONS.require(request.user, "manage", model)
        payload = PolicySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = {k: v for k, v in payload.validated_data.items() if k != "is_default"}
        policy = services.policy_update(user=request.user, model=model, **data)
        return Response(policy_data(policy))


class PromotionListCreate(GovernanceErrors, generics.ListAPIView):
    serializer_class = PromotionSerializer

    def get_queryset(self):
        promotions = selectors.visible_promotions(self.request.user).prefetch_related(
            "approvals__reviewer"
        )
        state = self.request.query_params.get("state")
        return promotions.filter(state=state) if state else promotions

    @extend_schema(
        request=PromotionCreateSerializer,
        responses={201: PromotionSerializer},
        summary="Request a promotion (request_promotion permission)",
    )
    def post(self, request):
        payload = PromotionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        model = visible_model(request, data.pop("model"))
        promotion = services.promotion_request(user=request.user, model=model, **data)
        return Response(PromotionSerializer(promotion).data, status=status.HTTP_201_CREATED)


class PromotionDetail(generics.RetrieveAPIView):
    serializer_class = PromotionSerializer

    def get_object(self):
        return get_object_or_404(
            selectors.visible_promotions(self.request.user), pk=self.kwargs["pk"]
        )


class PromotionDecision(GovernanceErrors, APIView):
    action_name = ""

    def decide(self, request, pk):
        promotion = get_object_or_404(selectors.visible_promotions(request.user), pk=pk)
        payload = CommentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = payload.validated_data["comment"]
        if self.action_name == "approve":
            services.promotion_approve(
                user=request.user, promotion_id=promotion.pk, comment=comment
            )
        else:
            services.promotion_reject(user=request.user, promotion_id=promotion.pk, comment=comment)
        promotion.refresh_from_db()
        return Response(PromotionSerializer(promotion).data)


class PromotionApprove(PromotionDecision):
    action_name = "approve"

    @extend_schema(
        request=CommentSerializer,
        responses={200: PromotionSerializer, 409: ConflictSerializer},
        summary="Approve a request (eligible reviewers)",
    )
    def post(self, request, pk):
        return self.decide(request, pk)


class PromotionReject(PromotionDecision):
    action_name = "reject"

    @extend_schema(
        request=CommentSerializer,
        responses={200: PromotionSerializer, 409: ConflictSerializer},
        summary="Reject a request with a comment (eligible reviewers)",
    )
    def post(self, request, pk):
        return self.decide(request, pk)


class PromotionCancel(GovernanceErrors, APIView):
    @extend_schema(
        request=None,
        responses={200: PromotionSerializer, 409: ConflictSerializer},
        summary="Withdraw an undecided request (requester or manager)",
    )
    def post(self, request, pk):
        promotion = get_object_or_404(selectors.visible_promotions(request.user), pk=pk)
        promotion = services.promotion_cancel(user=request.user, promotion_id=promotion.pk)
        return Response(PromotionSerializer(promotion).data)


class Rollback(GovernanceErrors, APIView):
    @extend_schema(
        request=RollbackSerializer,
        responses={202: PromotionSerializer, 409: ConflictSerializer},
        summary="Return an alias to its previous holder (promote permission)",
    )
    def post(self, request, name):
        model = visible_model(request, name)
        MODEL_PERMISSIONS.require(request.user, "promote", model)
        payload = RollbackSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        promotion = services.model_rollback(
            user=request.user, model=model, **payload.validated_data
        )
        return Response(PromotionSerializer(promotion).data, status=status.HTTP_202_ACCEPTED)

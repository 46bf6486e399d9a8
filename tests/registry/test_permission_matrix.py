"""Who may do what, from one table: roles × actions × objects, through pages and API.

A role that may not view an object gets 404; one that may view it but not act gets 403;
one that may act gets the action's success status.
"""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.registry import services
from apps.registry.models import AliasAssignment, AssignmentHow, RegisteredModel
from apps.registry.permissions import MODEL_PERMISSIONS
from apps.registry.sync import registry_sync
from tests.conftest import make_user
from tests.registry.conftest import create_mlflow_model, grant_demo_access

ROLES = ("data_scientist", "reviewer", "platform_admin", "outsider")
DS, REV, ADMIN = "data_scientist", "reviewer", "platform_admin"

# Who may view each object: the granted model is shared with the data scientist and the
# reviewers team; the hidden one with nobody but its requester (admins see all).
VIEWERS = {"granted": {DS, REV, ADMIN}, "hidden": {ADMIN}}

# action: (method, url, body, success status, roles allowed on an object they can view)
ACTIONS = {
    "page: model": ("GET", "/models/{model}/", None, 200, {DS, REV, ADMIN}),
    "page: version": ("GET", "/models/{model}/versions/1/", None, 200, {DS, REV, ADMIN}),
    "page: request form": ("GET", "/models/{model}/request/", None, 200, {DS, ADMIN}),
    "page: request detail": (
        "GET",
        "/models/-/promotions/{promotion}/",
        None,
        200,
        {DS, REV, ADMIN},
    ),
    "page: approve": (
        "POST",
        "/models/-/promotions/{promotion}/decide/",
        {"decision": "approve"},
        302,
        {REV, ADMIN},
    ),
    "page: roll back": (
        "POST",
        "/models/{model}/rollback/",
        {"target": "production", "reason": "errors"},
        302,
        {ADMIN},
    ),
    "page: edit policy": (
        "POST",
        "/models/{model}/policy/",
        {"required_approvals": 2, "expiry_hours": 24},
        302,
        {ADMIN},
    ),
    "page: grant": (
        "POST",
        "/models/{model}/grants/",
        {"action": "view", "team": "{team}"},
        302,
        {ADMIN},
    ),
    "api: model": ("GET", "/api/v1/models/{model}/", None, 200, {DS, REV, ADMIN}),
    "api: versions": ("GET", "/api/v1/models/{model}/versions/", None, 200, {DS, REV, ADMIN}),
    "api: alias history": (
        "GET",
        "/api/v1/models/{model}/alias-history/",
        None,
        200,
        {DS, REV, ADMIN},
    ),
    "api: policy": ("GET", "/api/v1/models/{model}/policy/", None, 200, {DS, REV, ADMIN}),
    "api: request detail": ("GET", "/api/v1/promotions/{promotion}/", None, 200, {DS, REV, ADMIN}),
    "api: request": (
        "POST",
        "/api/v1/promotions/",
        {"model": "{model}", "version": 3, "target": "staging", "justification": "better"},
        201,
        {DS, ADMIN},
    ),
    "api: approve": (
        "POST",
        "/api/v1/promotions/{promotion}/approve/",
        {"comment": "ok"},
        200,
        {REV, ADMIN},
    ),
    "api: reject": (
        "POST",
        "/api/v1/promotions/{promotion}/reject/",
        {"comment": "no"},
        200,
        {REV, ADMIN},
    ),
    "api: roll back": (
        "POST",
        "/api/v1/models/{model}/rollback/",
        {"target": "production", "reason": "errors"},
        202,
        {ADMIN},
    ),
    "api: edit policy": (
        "PUT",
        "/api/v1/models/{model}/policy/",
        {"required_approvals": 2},
        200,
        {ADMIN},
    ),
}


def expected_status(role, action, obj):
    *_, success, allowed = ACTIONS[action]
    if role not in VIEWERS[obj]:
        return 404
    return success if role in allowed else 403


CASES = [
    pytest.param(role, action, obj, id=f"{role}-{obj}-{action}")
    for role in ROLES
    for obj in VIEWERS
    for action in ACTIONS
]


@pytest.fixture(scope="module")
def mlflow_models(mlflow_client):
    """Two models in MLflow, created once: production on v2 (v1 held it before)."""
    return {
        obj: create_mlflow_model(mlflow_client, prefix=f"matrix-{obj}", aliases={"production": 2})
        for obj in VIEWERS
    }


@pytest.fixture
def world(db, mlflow_models, request):
    users = {role: request.getfixturevalue(role) for role in ROLES}
    requester = make_user("frank", role=None, teams=["fraud"])
    registry_sync(names=list(mlflow_models.values()))

    objects = {}
    for obj, name in mlflow_models.items():
        model = RegisteredModel.objects.get(name=name)
        past = timezone.now() - timezone.timedelta(days=3)
        AliasAssignment.objects.create(
            model=model,
            alias="production",
            version=1,
            started_at=past,
            ended_at=past,
            how=AssignmentHow.PORTAL,
        )
        MODEL_PERMISSIONS.grant("view", requester, model)
        MODEL_PERMISSIONS.grant("request_promotion", requester, model)
        if obj == "granted":
            grant_demo_access(model, data_scientist=users[DS])
        promotion = services.promotion_request(
            user=requester, model=model, version=3, target="production", justification="why"
        )
        objects[obj] = {"model": name, "promotion": promotion.pk}
    team = users[REV].groups.get(name="team:reviewers").pk
    return users, objects, team


def fill(value, values):
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, str):
        return value.format(**values)
    return value


@pytest.mark.parametrize(("role", "action", "obj"), CASES)
def test_permission_matrix(world, role, action, obj):
    users, objects, team = world
    method, url, body, *_ = ACTIONS[action]
    values = {**objects[obj], "team": team}
    url, body = fill(url, values), fill(body, values)

    if action.startswith("api"):
        client = APIClient()
        client.force_authenticate(users[role])
        response = getattr(client, method.lower())(url, body, format="json")
    else:
        from django.test import Client

        client = Client()
        client.force_login(users[role])
        response = client.get(url) if method == "GET" else client.post(url, body)

    assert response.status_code == expected_status(role, action, obj), (
        getattr(response, "data", None) or response.content[:300]
    )

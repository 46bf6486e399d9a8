"""The MLflow module against real stores: a SQLite store, a real server, and a dead one."""

import pytest
from mlflow.tracking import MlflowClient

from apps.core import mlflow_gateway

DEAD_SERVER = "http://127.0.0.1:9"  # the discard port: nothing answers here


@pytest.fixture
def quick_failure(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")


def test_it_lists_experiments_from_the_configured_store(settings):
    name = "gateway-sqlite-check"
    raw = MlflowClient(settings.MLFLOW_TRACKING_URI)
    if raw.get_experiment_by_name(name) is None:
        raw.create_experiment(name, artifact_location=f"{settings.MLFLOW_ARTIFACT_ROOT}/{name}")

    names = [e.name for e in mlflow_gateway.list_experiments()]
    assert name in names
    mlflow_gateway.ping()


def test_it_talks_to_a_real_mlflow_server(mlflow_server, mlflow_at):
    MlflowClient(mlflow_server).create_experiment("through-rest")
    mlflow_at(mlflow_server)

    mlflow_gateway.ping()
    assert "through-rest" in [e.name for e in mlflow_gateway.list_experiments()]


def test_an_unreachable_server_raises_mlflow_unavailable(mlflow_at, quick_failure):
    mlflow_at(DEAD_SERVER)
    with pytest.raises(mlflow_gateway.MlflowUnavailable):
        mlflow_gateway.ping()
    with pytest.raises(mlflow_gateway.MlflowUnavailable):
        mlflow_gateway.list_experiments()


def test_a_refused_request_raises_mlflow_error_not_unavailable():
    with pytest.raises(mlflow_gateway.MlflowError) as caught:
        mlflow_gateway.search_runs(["0"], filter_string="params.x < 'a' and")
    assert not isinstance(caught.value, mlflow_gateway.MlflowUnavailable)


@pytest.mark.django_db
def test_pages_show_the_banner_instead_of_failing_when_mlflow_is_down(
    client, data_scientist, mlflow_at, quick_failure
):
    mlflow_at(DEAD_SERVER)
    client.force_login(data_scientist)

    for path in ("/", "/experiments/", "/models/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"MLflow is unreachable" in response.content, path


@pytest.mark.django_db
def test_the_banner_is_absent_when_everything_answers(client, data_scientist):
    client.force_login(data_scientist)
    response = client.get("/")
    assert b"outage-banner" not in response.content


@pytest.mark.django_db
def test_the_banner_names_redis_when_redis_is_down(client, data_scientist, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    client.force_login(data_scientist)
    # Sessions live in the database, so pages still render without Redis.
    response = client.get("/")
    assert response.status_code == 200
    assert b"Redis is unreachable" in response.content


@pytest.mark.django_db
def test_the_api_answers_503_json_when_mlflow_is_down(mlflow_at, quick_failure):
    from rest_framework.test import APIRequestFactory, force_authenticate
    from rest_framework.views import APIView

    class ExperimentNames(APIView):
        def get(self, request):
            from rest_framework.response import Response

            return Response([e.name for e in mlflow_gateway.list_experiments()])

    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("api-user")
    mlflow_at(DEAD_SERVER)
    request = APIRequestFactory().get("/api/v1/x/")
    force_authenticate(request, user=user)

    response = ExperimentNames.as_view()(request)
    assert response.status_code == 503
    assert response.data["detail"] == "MLflow is unreachable; try again shortly."

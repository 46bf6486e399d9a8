"""Anonymous users reach only the login page, health endpoints and static files."""

import pytest

from tests.conftest import PASSWORD


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/audit/", "/notifications/", "/experiments/", "/models/", "/jobs/", "/admin/"]
)
def test_pages_redirect_anonymous_users_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/") or "login" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_schema_and_docs_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_login_page_is_public(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Sign in" in response.content


@pytest.mark.django_db
def test_static_files_are_public(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200


@pytest.mark.django_db
def test_bad_password_shows_a_message_on_the_form(client, data_scientist):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


@pytest.mark.django_db
def test_it_returns_a_token_for_good_credentials(client, data_scientist):
    response = client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]

    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["roles"] == ["Data scientists"]
    assert me.json()["teams"] == ["team:fraud"]


@pytest.mark.django_db
def test_it_refuses_a_token_for_bad_credentials(client, data_scientist):
    response = client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


@pytest.mark.django_db
def test_api_answers_401_json_to_anonymous_callers(client):
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.django_db
def test_unknown_api_url_is_a_json_404(client, data_scientist):
    client.force_login(data_scientist)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_unknown_page_is_a_friendly_404(client, data_scientist):
    client.force_login(data_scientist)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


@pytest.mark.django_db
def test_schema_and_docs_are_served_locally(client, data_scientist):
    client.force_login(data_scientist)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content

    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()

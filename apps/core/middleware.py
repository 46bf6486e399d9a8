import re

from django.conf import settings
from django.contrib.auth.views import redirect_to_login

from apps.core.context import new_request_id, set_context

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Reachable without signing in. The API answers 401 itself, in JSON; its schema and docs
# (/api/schema/, /api/docs/) are for signed-in users like every other page.
PUBLIC_PREFIXES = ("/accounts/login/", "/healthz", "/readyz", "/metrics", "/api/v1/", "/static/")


class RequestIdMiddleware:
    """Tag each request with an id (kept from X-Request-ID when sane) and its audit source."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else new_request_id()
        source = "api" if request.path.startswith("/api/") else "web"
        set_context(source=source, request_id=request.request_id)

        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class LoginRequiredMiddleware:
    """Anonymous users see only the login page, health endpoints and static files."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated or request.path.startswith(PUBLIC_PREFIXES):
            return self.get_response(request)
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return self.get_response(request)
        return redirect_to_login(request.get_full_path())

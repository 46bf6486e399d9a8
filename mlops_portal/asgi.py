"""ASGI entry point: HTTP through Django on a pool of worker threads, websockets through
Channels.

Websockets need a signed-in session and an Origin that matches ALLOWED_HOSTS.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_portal.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from mlops_portal.sync_http import SyncHTTPHandler  # noqa: E402

http_app = SyncHTTPHandler(threads=settings.HTTP_THREADS)

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from mlops_portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

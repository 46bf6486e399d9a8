"""Django's own ASGI handler for HTTP, for comparing it with the portal's (`--stock-asgi`).

The portal's `mlops_portal.asgi` runs each HTTP request on a worker thread in one go
(`mlops_portal/sync_http.py`); this module serves the same project through
`django.core.asgi`, as it was served before that change. HTTP only: no websockets.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_portal.settings")
application = get_asgi_application()

"""Portal settings plus psycopg's connection pool, for `--pool` benchmark runs only.

Under ASGI (daphne) Django runs each request in a fresh thread, so CONN_MAX_AGE cannot
keep connections and every request opens a new one to PostgreSQL. Django's built-in
pool (psycopg_pool, `OPTIONS={"pool": True}`) removes that cost; this module measures it.
"""

from mlops_portal.settings import *  # noqa: F403
from mlops_portal.settings import DATABASES

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 8}

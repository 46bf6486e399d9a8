"""Container health check for the web process: GET /healthz on the local daphne.

Exits 0 when the portal answers 200, 1 otherwise. Django answers 400 to a Host header
outside ALLOWED_HOSTS, so the request names the first allowed host rather than
127.0.0.1; /healthz is exempt from the HTTPS redirect in settings.
"""

import http.client
import os
import sys

PORT = 8000
TIMEOUT_SECONDS = 4


def probe_host(allowed_hosts: str) -> str:
    """The first ALLOWED_HOSTS entry usable as a Host header ("*" allows any)."""
    for entry in allowed_hosts.split(","):
        entry = entry.strip()
        if entry and entry != "*":
            # ".example.com" allows example.com itself as well as its subdomains.
            return entry.lstrip(".")
    return "localhost"


def main() -> int:
    host = probe_host(os.environ.get("ALLOWED_HOSTS", ""))
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=TIMEOUT_SECONDS)
    try:
        connection.request("GET", "/healthz", headers={"Host": host})
        status = connection.getresponse().status
    except OSError as error:
        sys.stderr.write(f"healthz unreachable: {error}\n")
        return 1
    finally:
        connection.close()

    if status != 200:
        sys.stderr.write(f"healthz answered {status} for Host {host}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

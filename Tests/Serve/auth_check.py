"""`recycle serve --api-key KEY`: the statuses of requests without a key, with a wrong one,
with the right one, and of /health without one. Prints one JSON object.

Usage: auth_check.py PORT KEY
"""

import http.client
import json
import sys


def status(port, path, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def main():
    port, key = int(sys.argv[1]), sys.argv[2]
    print(json.dumps({
        "none": status(port, "/v1/models", {}),
        "wrong": status(port, "/v1/models", {"Authorization": "Bearer " + key[:-1] + "x"}),
        "right": status(port, "/v1/models", {"Authorization": "Bearer " + key}),
        "health": status(port, "/health", {}),
    }))


if __name__ == "__main__":
    main()

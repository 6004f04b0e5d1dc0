"""Hostile and malformed requests to `recycle serve`, over raw sockets: each must get the
expected 4xx/5xx status (never a crash, a hang or a dropped connection without an answer),
and the server must stay healthy after all of them. Prints one JSON object: the cases that
went wrong (empty when all is well) and what was checked.

Usage: bad_requests.py HOST PORT IDLE_TIMEOUT_SECONDS
"""

import json
import socket
import sys
import time


def exchange(host, port, raw, timeout=30, read_all=True):
    """Sends raw bytes, returns (status, body text); status None if no response came."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if not read_all and b"\r\n\r\n" in data:
                    head, _, rest = data.partition(b"\r\n\r\n")
                    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                    if length and len(rest) >= length[0]:
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data.decode("latin-1")
    return int(data[9:12]), data.partition(b"\r\n\r\n")[2].decode("utf-8", "replace")


def post(path, body, extra=b""):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def chat(body):
    return post("/v1/chat/completions", body)


def main():
    host, port, idle = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    msg = '{"role":"user","content":"hi"}'
    cases = [
        ("malformed request line", b"GARBAGE\r\n\r\n", 400),
        ("HTTP/2.0", b"GET /health HTTP/2.0\r\n\r\n", 505),
        ("header over 16 KB", b"GET /health HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431),
        ("control character in a header", b"GET /health HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400),
        ("body over 1 MB", b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413),
        ("Content-Length and Transfer-Encoding", b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("gzip transfer coding", b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("bad chunk size", b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("bad Content-Length", b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        ("unknown path", b"GET /v2/nothing HTTP/1.1\r\nConnection: close\r\n\r\n", 404),
        ("GET on a POST endpoint", b"GET /v1/chat/completions HTTP/1.1\r\nConnection: close\r\n\r\n", 405),
        ("invalid JSON", chat("{bad json"), 400),
        ("JSON that is not an object", chat("[1, 2, 3]"), 400),
        ("invalid UTF-8", chat(b'{"messages":[{"role":"user","content":"\xff\xfe"}]}'), 400),
        ("deeply nested JSON", chat("[" * 100000 + "]" * 100000), 400),
        ("huge number", chat('{"messages":[' + msg + '],"max_tokens":1e308}'), 400),
        ("messages missing", chat("{}"), 400),
        ("messages empty", chat('{"messages":[]}'), 400),
        ("messages a string", chat('{"messages":"hi"}'), 400),
        ("unknown role", chat('{"messages":[{"role":"wizard","content":"hi"}]}'), 400),
        ("role a number", chat('{"messages":[{"role":5,"content":"hi"}]}'), 400),
        ("content a number", chat('{"messages":[{"role":"user","content":5}]}'), 400),
        ("image content", chat('{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}'), 400),
        ("max_tokens a string", chat('{"messages":[' + msg + '],"max_tokens":"ten"}'), 400),
        ("max_tokens negative", chat('{"messages":[' + msg + '],"max_tokens":-5}'), 400),
        ("max_tokens huge", chat('{"messages":[' + msg + '],"max_tokens":1000000000}'), 400),
        ("temperature a string", chat('{"messages":[' + msg + '],"temperature":"hot"}'), 400),
        ("temperature out of range", chat('{"messages":[' + msg + '],"temperature":7}'), 400),
        ("n = 2", chat('{"messages":[' + msg + '],"n":2}'), 400),
        ("stop a number", chat('{"messages":[' + msg + '],"stop":5}'), 400),
        ("stream a string", chat('{"messages":[' + msg + '],"stream":"yes"}'), 400),
        ("prompt too long for the context", chat(json.dumps({"messages": [{"role": "user", "content": "word " * 6000}]})), 400),
        ("completion without a prompt", post("/v1/completions", "{}"), 400),
    ]
    failures, checked = [], 0
    for name, raw, expected in cases:
        status, body = exchange(host, port, raw)
        checked += 1
        if status != expected:
            failures.append(f"{name}: expected {expected}, got {status} {body[:200]!r}")
        elif expected >= 400 and '"error"' not in body:
            failures.append(f"{name}: no OpenAI-style error body: {body[:200]!r}")

    # A request whose headers never end: answered 408 once the idle time is up, then closed.
    start = time.monotonic()
    status, body = exchange(host, port, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n", timeout=idle + 20)
    if status != 408 or time.monotonic() - start > idle + 10:
        failures.append(f"slow request: expected 408 after about {idle} s, got {status} after {time.monotonic() - start:.1f} s")
    checked += 1

    # Marker text typed by a user is text: "<|im_end|>" takes several tokens, not one.
    def prompt_tokens(content):
        status, body = exchange(host, port, chat(json.dumps({"messages": [{"role": "user", "content": content}], "max_tokens": 1})))
        return json.loads(body)["usage"]["prompt_tokens"] if status == 200 else None
    plain, marker = prompt_tokens("hi"), prompt_tokens("hi<|im_end|>")
    if plain is None or marker is None or marker - plain < 3:
        failures.append(f"marker text became a control token: {plain} vs {marker} prompt tokens")
    checked += 1

    # A client that leaves in the middle of a streamed reply: the server goes on serving.
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(chat(json.dumps({"messages": [{"role": "user", "content": "Write a long story about a dragon."}],
                                   "max_tokens": 2000, "stream": True})))
        first = s.recv(65536)
        if b"200 OK" not in first:
            failures.append(f"streamed request: {first[:200]!r}")
    status, body = exchange(host, port, b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
    if status != 200:
        failures.append(f"health after everything: {status} {body!r}")
    checked += 2
    print(json.dumps({"checked": checked, "failures": failures}))


if __name__ == "__main__":
    main()

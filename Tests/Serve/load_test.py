"""A bounded load test of `recycle serve`, on 127.0.0.1 only: CLIENTS threads each send
REQUESTS requests, a mix of plain and streamed chat completions and malformed ones. Every
request must be answered (200, a 4xx for the malformed ones, or 503 when the queue is
full), and every 200 must carry exactly the text `recycle generate` gave for its prompt.
Prints one JSON object with the counts; `lost` (requests with no HTTP answer) must be 0.

Usage: load_test.py PORT EXPECTED.json CLIENTS REQUESTS
EXPECTED.json: [{"prompt": ..., "max_tokens": N, "text": ...}, ...]
"""

import http.client
import json
import sys
import threading


def request(port, body, stream):
    """(status, text) of one chat completion; text None unless 200."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            return response.status, None
        if not stream:
            return 200, json.loads(data)["choices"][0]["message"]["content"]
        text = ""
        for line in data.decode("utf-8").split("\n"):
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:]).get("choices", []):
                    text += choice.get("delta", {}).get("content") or ""
        return 200, text
    finally:
        conn.close()


def main():
    port, expected_path, clients, per_client = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    counts = {"total": 0, "ok": 0, "bad_request": 0, "busy": 0, "lost": 0, "mismatched": 0, "unexpected": 0}
    problems, lock = [], threading.Lock()

    def client(c):
        for r in range(per_client):
            n = c * per_client + r
            case = expected[n % len(expected)]
            malformed = n % 5 == 4
            stream = n % 2 == 0
            body = (b'{"messages": [{"role": "user", "content": ' if malformed else
                    json.dumps({"messages": [{"role": "user", "content": case["prompt"]}],
                                "max_tokens": case["max_tokens"], "stream": stream}).encode())
            try:
                status, text = request(port, body, stream)
            except Exception as error:  # no HTTP answer at all
                with lock:
                    counts["total"] += 1
                    counts["lost"] += 1
                    problems.append(f"request {n}: {error!r}")
                continue
            with lock:
                counts["total"] += 1
                if status == 503:
                    counts["busy"] += 1
                elif malformed and status == 400:
                    counts["bad_request"] += 1
                elif not malformed and status == 200:
                    counts["ok"] += 1
                    if text != case["text"]:
                        counts["mismatched"] += 1
                        problems.append(f"request {n}: {text!r} != {case['text']!r}")
                else:
                    counts["unexpected"] += 1
                    problems.append(f"request {n}: status {status}")

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts["problems"] = problems[:20]
    print(json.dumps(counts))


if __name__ == "__main__":
    main()

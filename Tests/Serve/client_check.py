"""The official `openai` client against `recycle serve`: a chat completion, the same one
streamed, a raw completion and the model list. Prints one JSON object with what came back;
the Swift test (ServerTests) compares it with `recycle generate`.

Usage: client_check.py BASE_URL PROMPT MAX_TOKENS
"""

import json
import sys

import openai


def main():
    base, prompt, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=120)
    messages = [{"role": "user", "content": prompt}]
    chat = client.chat.completions.create(model="recycle", messages=messages, max_tokens=max_tokens)
    stream = client.chat.completions.create(model="recycle", messages=messages, max_tokens=max_tokens, stream=True)
    pieces, finish, roles = [], None, []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.role:
                roles.append(choice.delta.role)
            if choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    # The next turn of the same conversation: its prompt starts with the cached one.
    follow = client.chat.completions.create(model="recycle", max_tokens=8, messages=messages + [
        {"role": "assistant", "content": chat.choices[0].message.content}, {"role": "user", "content": "And one more?"}])
    completion = client.completions.create(model="recycle", prompt="The capital of France is", max_tokens=8)
    print(json.dumps({
        "chat": chat.choices[0].message.content,
        "chat_finish": chat.choices[0].finish_reason,
        "usage": chat.usage.model_dump(),
        "stream": "".join(pieces),
        "stream_pieces": len(pieces),
        "stream_finish": finish,
        "stream_roles": roles,
        "follow_usage": follow.usage.model_dump(),
        "completion": completion.choices[0].text,
        "models": [m.id for m in client.models.list().data],
    }))


if __name__ == "__main__":
    main()

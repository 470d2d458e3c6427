"""Drives a running gateway with the official Python SDKs (openai, anthropic, google-genai).

Usage: sdk_clients.py BASE_URL API_KEY
Prints one JSON object: {"<sdk>.<api>.<model>.<stream|plain>": "<answer text>" | {"error": "..."}}.
The end-to-end test compares the answers; this script only reports what each SDK saw.
"""
import json
import sys

base, key = sys.argv[1], sys.argv[2]
models = ["gpt-fake", "claude-fake", "gemini-fake"]
results = {}


def record(name, fn):
    try:
        results[name] = fn()
    except Exception as exc:  # report every failure, keep going
        results[name] = {"error": f"{type(exc).__name__}: {exc}"}


def openai_checks():
    from openai import OpenAI

    client = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
    for model in models:
        record(f"openai.chat.{model}.plain", lambda: client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Say hi"}]).choices[0].message.content)

        def chat_stream():
            text = ""
            for chunk in client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": "Say hi"}], stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
            return text
        record(f"openai.chat.{model}.stream", chat_stream)

        def tool_call():
            message = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "What's the weather in Paris?"}],
                tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {
                    "type": "object", "properties": {"city": {"type": "string"}}}}}]).choices[0].message
            call = message.tool_calls[0]
            return f"{call.function.name} {json.loads(call.function.arguments)['city']}"
        record(f"openai.tools.{model}.plain", tool_call)

        record(f"openai.responses.{model}.plain", lambda: client.responses.create(model=model, input="Say hi").output_text)

        def responses_stream():
            text = ""
            with client.responses.stream(model=model, input="Say hi") as stream:
                for event in stream:
                    if event.type == "response.output_text.delta":
                        text += event.delta
                final = stream.get_final_response()
            return text if final.status == "completed" else f"status {final.status}"
        record(f"openai.responses.{model}.stream", responses_stream)


def anthropic_checks():
    from anthropic import Anthropic

    client = Anthropic(base_url=base, api_key=key, max_retries=0)
    for model in models:
        record(f"anthropic.messages.{model}.plain", lambda: client.messages.create(
            model=model, max_tokens=100, messages=[{"role": "user", "content": "Say hi"}]).content[0].text)

        def stream():
            with client.messages.stream(model=model, max_tokens=100, messages=[{"role": "user", "content": "Say hi"}]) as s:
                return s.get_final_text()
        record(f"anthropic.messages.{model}.stream", stream)


def gemini_checks():
    from google import genai
    from google.genai import types

    client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base))
    for model in models:
        record(f"gemini.generate.{model}.plain", lambda: client.models.generate_content(model=model, contents="Say hi").text)
        record(f"gemini.generate.{model}.stream", lambda: "".join(
            chunk.text or "" for chunk in client.models.generate_content_stream(model=model, contents="Say hi")))


for checks in (openai_checks, anthropic_checks, gemini_checks):
    try:
        checks()
    except ImportError as exc:
        results[checks.__name__] = {"error": f"missing SDK: {exc}"}

print(json.dumps(results))

"""Drives llmux's HTTP front with the official openai SDK.

Run by Tests/LLMuxTests/OpenAISDKTests.swift against a test daemon whose
mock upstream answers; prints one line per check and exits non-zero on the
first failure. LLMUX_BASE_URL and LLMUX_TOKEN point at the TCP front,
LLMUX_HTTP_SOCKET at the Unix-socket front.
"""
import json
import os
import sys

try:  # openai 3.x ships on httpx2; 1.x and 2.x on httpx.
    import httpx2 as httpx
except ImportError:
    import httpx
import openai
from openai import OpenAI

BASE_URL = os.environ["LLMUX_BASE_URL"]
TOKEN = os.environ["LLMUX_TOKEN"]
SOCKET = os.environ["LLMUX_HTTP_SOCKET"]

client = OpenAI(base_url=BASE_URL, api_key=TOKEN, max_retries=0)


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + (": " + detail if detail and not condition else ""))
    if not condition:
        sys.exit(1)


# Not streamed.
completion = client.chat.completions.create(
    model="smart-select",
    messages=[{"role": "user", "content": "Say hello"}],
)
check("non-streamed call", completion.choices[0].message.content == "echo: Say hello", repr(completion))
check("non-streamed usage", completion.usage is not None and completion.usage.total_tokens > 0, repr(completion.usage))

# Streamed with include_usage: the last chunk carries usage and no choices.
chunks = list(
    client.chat.completions.create(
        model="smart-select",
        messages=[{"role": "user", "content": "count"}],
        stream=True,
        stream_options={"include_usage": True},
    )
)
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
check("include_usage text", text == "echo: count", text)
check("include_usage last chunk", chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0, repr(chunks[-1]))
check("only the last chunk has usage", all(c.usage is None for c in chunks[:-1]))

# Tool-call round trip: the model asks for a tool, the tool result goes back.
tools = [{
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
}]
stream = client.chat.completions.create(
    model="mock/tools",
    messages=[{"role": "user", "content": "Weather in Paris?"}],
    tools=tools,
    stream=True,
)
calls = {}
finish = None
for chunk in stream:
    choice = chunk.choices[0]
    for fragment in choice.delta.tool_calls or []:
        call = calls.setdefault(fragment.index, {"id": None, "name": None, "arguments": ""})
        if fragment.id:
            call["id"] = fragment.id
        if fragment.function and fragment.function.name:
            call["name"] = fragment.function.name
        if fragment.function and fragment.function.arguments:
            call["arguments"] += fragment.function.arguments
    finish = choice.finish_reason or finish
check("tool call streamed", calls.get(0, {}).get("name") == "get_weather", repr(calls))

# The same tool call, originating as an Anthropic tool_use block.
anthropic = client.chat.completions.create(
    model="claude/tools",
    messages=[{"role": "user", "content": "Weather in Paris?"}],
    tools=tools,
)
anthropic_call = anthropic.choices[0].message.tool_calls[0]
check("Anthropic tool_use as an OpenAI tool call",
      anthropic_call.function.name == "get_weather" and json.loads(anthropic_call.function.arguments) == {"city": "Paris"}
      and anthropic.choices[0].finish_reason == "tool_calls", repr(anthropic))
check("tool call arguments", json.loads(calls[0]["arguments"]) == {"city": "Paris"}, calls[0]["arguments"])
check("finish_reason tool_calls", finish == "tool_calls", repr(finish))
answer = client.chat.completions.create(
    model="smart-select",
    messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": calls[0]["id"], "type": "function",
                                               "function": {"name": "get_weather", "arguments": calls[0]["arguments"]}}]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny"},
        {"role": "user", "content": "thanks"},
    ],
)
check("tool result round trip", answer.choices[0].message.content == "echo: thanks", repr(answer))

# An unknown model is the SDK's NotFoundError.
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    check("unknown model raises NotFoundError", False, "no exception")
except openai.NotFoundError as error:
    check("unknown model raises NotFoundError", "no-such-model" in str(error), str(error))

# models.retrieve: one model by id, and NotFoundError for an unknown one.
model = client.models.retrieve("smart-select")
check("models.retrieve", model.id == "smart-select" and model.object == "model", repr(model))
try:
    client.models.retrieve("no-such-model")
    check("models.retrieve unknown raises NotFoundError", False, "no exception")
except openai.NotFoundError as error:
    check("models.retrieve unknown raises NotFoundError", "no-such-model" in str(error), str(error))

# TCP without the token is the SDK's AuthenticationError.
try:
    OpenAI(base_url=BASE_URL, api_key="wrong", max_retries=0).models.list()
    check("wrong token raises AuthenticationError", False, "no exception")
except openai.AuthenticationError:
    check("wrong token raises AuthenticationError", True)

# The Unix-socket front needs no token.
local = OpenAI(
    base_url="http://llmux/v1",
    api_key="unused",
    http_client=httpx.Client(transport=httpx.HTTPTransport(uds=SOCKET)),
    max_retries=0,
)
models = [m.id for m in local.models.list()]
check("models over the Unix socket", "smart-select" in models, repr(models))

"""Drives llmux's Anthropic Messages front with the official anthropic SDK.

Run by Tests/LLMuxTests/AnthropicSDKTests.swift against a test daemon whose
mock upstream answers (scripts per model are set there); prints one line per
check and exits non-zero on the first failure. ANTHROPIC_BASE_URL and
ANTHROPIC_API_KEY point at the TCP front with llmux's token, LLMUX_HTTP_SOCKET
at the Unix-socket front.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:  # recent SDKs ship on httpx2, older ones on httpx.
    import httpx2 as httpx
except ImportError:
    import httpx
import anthropic
from anthropic import Anthropic
from sdk_checks import check, expect_error

SOCKET = os.environ["LLMUX_HTTP_SOCKET"]
client = Anthropic(max_retries=0)


# Not streamed, through the route whose first target fails.
message = client.messages.create(model="smart-select", max_tokens=64, messages=[{"role": "user", "content": "Say hello"}])
check("non-streamed text", [b.type for b in message.content] == ["text"] and message.content[0].text == "echo: Say hello", repr(message))
check("non-streamed stop reason", message.stop_reason == "end_turn", repr(message.stop_reason))
check("non-streamed usage", message.usage.input_tokens > 0 and message.usage.output_tokens > 0, repr(message.usage))
check("message id", message.id.startswith("msg_"), message.id)

# Streamed: the SDK's accumulator gets message_start first, then blocks in order.
with client.messages.stream(model="smart-select", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "count"}]) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
check("streamed text", text == "echo: count", text)
check("streamed final message", final.content[0].text == "echo: count" and final.stop_reason == "end_turn", repr(final))
check("streamed usage arrives with message_delta", final.usage.input_tokens > 0 and final.usage.output_tokens > 0, repr(final.usage))

# Raw events: the order Claude Code relies on.
events = [e.type for e in client.messages.create(model="mock/default", max_tokens=64, stream=True, messages=[{"role": "user", "content": "x"}])]
check(
    "event order",
    events[:2] == ["message_start", "content_block_start"] and events[-3:] == ["content_block_stop", "message_delta", "message_stop"],
    repr(events),
)

# Tool use: streamed, the tool's input is assembled from input_json_delta; then the result goes back.
tools = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
with client.messages.stream(model="mock/tools", max_tokens=64, tools=tools, messages=[{"role": "user", "content": "Weather in Paris?"}]) as stream:
    final = stream.get_final_message()
uses = [b for b in final.content if b.type == "tool_use"]
check("tool_use block", len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}, repr(final.content))
check("tool_use stop reason", final.stop_reason == "tool_use", repr(final.stop_reason))
answer = client.messages.create(
    model="mock/default",
    max_tokens=64,
    tools=tools,
    messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": uses[0].id, "name": "get_weather", "input": uses[0].input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "sunny"}]},
    ],
)
check("tool result round trip", answer.content[0].type == "text", repr(answer))

# Thinking: reasoning comes as a thinking block before the text.
with client.messages.stream(
    model="mock/thinker", max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}, messages=[{"role": "user", "content": "why"}]
) as stream:
    final = stream.get_final_message()
check("thinking block first", [b.type for b in final.content] == ["thinking", "text"], repr(final.content))
check("thinking text", final.content[0].thinking == "Let me think. ", repr(final.content[0]))

# count_tokens: an estimate, but a positive one that grows with the prompt.
small = client.messages.count_tokens(model="mock/default", messages=[{"role": "user", "content": "hi"}])
large = client.messages.count_tokens(model="mock/default", messages=[{"role": "user", "content": "hi " * 400}])
check("count_tokens", 0 < small.input_tokens < large.input_tokens, "%r %r" % (small, large))

# The model list in Anthropic's shape, one page.
ids = [m.id for m in client.models.list()]
check("models list", "smart-select" in ids and "fast" in ids, repr(ids))

# Errors before output: a real status, Anthropic's body, the SDK's class for it.
expect_error("429 is RateLimitError", anthropic.RateLimitError, lambda: client.messages.create(model="mock/limited", max_tokens=8, messages=[{"role": "user", "content": "x"}]))
expect_error("400 is BadRequestError", anthropic.BadRequestError, lambda: client.messages.create(model="mock/bad", max_tokens=8, messages=[{"role": "user", "content": "x"}]))
expect_error("529 is OverloadedError", anthropic.OverloadedError, lambda: client.messages.create(model="mock/overloaded", max_tokens=8, messages=[{"role": "user", "content": "x"}]))
expect_error("unknown model is NotFoundError", anthropic.NotFoundError, lambda: client.messages.create(model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}]))
expect_error("missing max_tokens is BadRequestError", anthropic.BadRequestError, lambda: client.post("/v1/messages", cast_to=object, body={"model": "fast", "messages": []}))
wrong = Anthropic(api_key="not-the-token", max_retries=0)
expect_error("a wrong key is AuthenticationError", anthropic.AuthenticationError, lambda: wrong.messages.create(model="fast", max_tokens=8, messages=[{"role": "user", "content": "x"}]))

# An upstream error after output began: an error event, which the SDK raises.
def broken_stream():
    with client.messages.stream(model="mock/broken", max_tokens=64, messages=[{"role": "user", "content": "x"}]) as stream:
        for _ in stream.text_stream:
            pass


expect_error("an error event mid-stream raises", anthropic.APIStatusError, broken_stream)

# The Unix-socket front, with ANTHROPIC_AUTH_TOKEN's bearer header instead of x-api-key.
local = Anthropic(base_url="http://localhost", auth_token="unused", api_key=None, max_retries=0, http_client=httpx.Client(transport=httpx.HTTPTransport(uds=SOCKET)))
message = local.messages.create(model="fast", max_tokens=64, messages=[{"role": "user", "content": "over the socket"}])
check("unix socket front", message.content[0].text == "echo: over the socket", repr(message))
bearer = Anthropic(api_key=None, auth_token=os.environ["ANTHROPIC_API_KEY"], max_retries=0)
check("bearer token on TCP", bearer.messages.create(model="fast", max_tokens=8, messages=[{"role": "user", "content": "b"}]).content[0].text == "echo: b")
print("all checks passed")

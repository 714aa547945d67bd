"""Drives llmux's Responses front with the official openai SDK's `responses` API.

Run by OpenAISDKTests.responsesChecks against a test daemon whose mock
upstream answers (scripts per model are set there); prints one line per check
and exits non-zero on the first failure.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:  # openai 3.x ships on httpx2; 1.x and 2.x on httpx.
    import httpx2 as httpx
except ImportError:
    import httpx
import openai
from openai import OpenAI
from sdk_checks import check, expect_error

client = OpenAI(base_url=os.environ["LLMUX_BASE_URL"], api_key=os.environ["LLMUX_TOKEN"], max_retries=0)


# Not streamed, through the route whose first target fails.
response = client.responses.create(model="smart-select", input="Say hello")
check("non-streamed text", response.output_text == "echo: Say hello", repr(response))
check("non-streamed status and usage", response.status == "completed" and response.usage.total_tokens > 0, repr(response))
check("response id", response.id.startswith("resp_"), response.id)

# Streamed: created first, completed last, sequence numbers rising from 0.
with client.responses.stream(model="smart-select", instructions="Be brief.", input=[{"role": "user", "content": "count"}]) as stream:
    events = list(stream)
    final = stream.get_final_response()
types = [e.type for e in events]
check("streamed text", final.output_text == "echo: count", repr(final))
check("first and last events", types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed", repr(types))
check("sequence numbers", [e.sequence_number for e in events] == list(range(len(events))), repr([e.sequence_number for e in events]))
check("streamed usage", final.usage.input_tokens > 0 and final.usage.output_tokens > 0, repr(final.usage))

# A tool round trip, as Codex does it: the whole transcript as input each turn.
tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
with client.responses.stream(model="mock/tools", tools=tools, input="Weather in Paris?") as stream:
    final = stream.get_final_response()
calls = [item for item in final.output if item.type == "function_call"]
check("function_call item", len(calls) == 1 and calls[0].name == "get_weather" and calls[0].arguments == '{"city": "Paris"}', repr(final.output))
check("call_id is the upstream's", calls[0].call_id == "call_7", repr(calls[0]))
answer = client.responses.create(
    model="mock/default",
    tools=tools,
    input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": calls[0].call_id, "name": calls[0].name, "arguments": calls[0].arguments},
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"},
    ],
)
check("tool output round trip", answer.status == "completed" and answer.output[0].type == "message", repr(answer))

# Reasoning comes as a reasoning item with a summary, before the message.
with client.responses.stream(model="mock/thinker", input="why", reasoning={"effort": "low"}) as stream:
    final = stream.get_final_response()
check("reasoning item first", [item.type for item in final.output] == ["reasoning", "message"], repr(final.output))
check("reasoning summary", final.output[0].summary[0].text == "Let me think. ", repr(final.output[0]))

# A cut answer is incomplete, with the reason.
cut = client.responses.create(model="mock/cut", input="long")
check("incomplete", cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens", repr(cut))

# An upstream failure after output began ends the stream with response.failed.
failed = [e.type for e in client.responses.create(model="mock/broken", input="x", stream=True)]
check("response.failed ends a broken stream", failed[-1] == "response.failed" and "response.completed" not in failed, repr(failed))

# Refusals.
error = expect_error("previous_response_id is refused", openai.BadRequestError, lambda: client.responses.create(model="mock/default", input="x", previous_response_id="resp_old"))
check("previous_response_not_found", error.code == "previous_response_not_found", repr(error.body))
expect_error("429 is RateLimitError", openai.RateLimitError, lambda: client.responses.create(model="mock/limited", input="x"))
expect_error("unknown model is NotFoundError", openai.NotFoundError, lambda: client.responses.create(model="nope", input="x"))
upgrade = httpx.get(os.environ["LLMUX_BASE_URL"] + "/responses", headers={"Authorization": "Bearer " + os.environ["LLMUX_TOKEN"], "Connection": "Upgrade", "Upgrade": "websocket"})
check("a WebSocket upgrade gets 426", upgrade.status_code == 426, "%d %s" % (upgrade.status_code, upgrade.text))
print("all checks passed")

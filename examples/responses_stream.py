# Streams a response through llmux's OpenAI Responses front with the official
# openai SDK: its Responses streaming example, pointed at llmux by two variables.
#
#   export OPENAI_BASE_URL=http://127.0.0.1:8411/v1   # http_listen in the config
#   export OPENAI_API_KEY=$(llmux token)
#   python3 examples/responses_stream.py [model]       # default: smart
import sys

from openai import OpenAI

client = OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY

stream = client.responses.create(
    model=sys.argv[1] if len(sys.argv) > 1 else "smart",
    input="Explain the benefits of streaming.",
    stream=True,
)

for event in stream:
    if event.type == "response.output_text.delta":
        print(event.delta, end="", flush=True)

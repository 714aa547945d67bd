# Streams a chat completion through llmux's OpenAI-compatible HTTP front with the
# official openai SDK: the guide's example, pointed at llmux by two variables.
#
#   export OPENAI_BASE_URL=http://127.0.0.1:8411/v1   # http_listen in the config
#   export OPENAI_API_KEY=$(llmux token)
#   python3 examples/openai_stream.py [model]          # default: smart
import sys

from openai import OpenAI

client = OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY

stream = client.chat.completions.create(
    model=sys.argv[1] if len(sys.argv) > 1 else "smart",
    messages=[{"role": "user", "content": "Explain the benefits of streaming." }],
    stream=True
)

for chunk in stream:
    content = chunk.choices[0].delta.content
    if content:
        print(content, end="", flush=True)

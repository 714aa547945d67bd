# Streams a message through llmux's Anthropic Messages front with the official
# anthropic SDK: its streaming example, pointed at llmux by two variables.
#
#   export ANTHROPIC_BASE_URL=http://127.0.0.1:8411    # http_listen in the config, no /v1
#   export ANTHROPIC_API_KEY=$(llmux token)
#   python3 examples/anthropic_stream.py [model]        # default: smart
import sys

import anthropic

client = anthropic.Anthropic()  # reads ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY

with client.messages.stream(
    max_tokens=1024,
    messages=[{"role": "user", "content": "Explain the benefits of streaming."}],
    model=sys.argv[1] if len(sys.argv) > 1 else "smart",
) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)

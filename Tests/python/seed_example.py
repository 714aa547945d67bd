# The guide's example (../shared/seeds), unchanged except for base_url and
# api_key, which point at llmux's HTTP front.
import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ["LLMUX_BASE_URL"],
    api_key=os.environ["LLMUX_TOKEN"]
)

stream = client.chat.completions.create(
    model="smart-select",
    messages=[{"role": "user", "content": "Explain the benefits of streaming." }],
    stream=True
)

for chunk in stream:
    content = chunk.choices[0].delta.content
    if content:
        print(content, end="", flush=True)

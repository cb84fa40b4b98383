"""The local model's speed on this machine: prompt and generation tokens per second.

    python bench/llm.py [--model qwen2.5-coder-1.5b] [--prompt-tokens 1500] [--gen-tokens 128] [--repeats 3]

Starts the runtime as BIZSQL_LLM_PROVIDER=local does (``bizsql.local_model``, on a model from
``bizsql model install``) and times requests over its chat-completions API, so the figures are those a
turn sees. Prompt speed: a prompt of about --prompt-tokens tokens (schema-like text, made unique per
request so no cached prefix is reused) answered with one token; the count is the server's own (``usage``).
Generation speed: a short prompt asking for a long answer, streamed, from the first token to the last
(one streamed chunk is one token). A prompt read again: the same schema with another question, after an
unrelated prompt came between (as a turn's classify, SQL and answer prompts alternate), timed against the
first read; with BIZSQL_LLM_LOCAL_CACHE_MB=0 only the previous request's prefix is kept, so compare the two
runs. Medians of --repeats runs after one warm-up request. The machine's load average is printed with
the figures: the runtime's threads share the cores with whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from openai import OpenAI
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizsql.config import Settings
from bizsql.local_model import check_local
from bizsql.model_store import CATALOG

console = Console()

TABLE = "CREATE TABLE orders_{n} (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers(id), "
TABLE += "placed_at timestamptz NOT NULL, status text, total_cents integer, region text);\n"
STORY = "Write a long, detailed story about a shop that keeps its orders in a database."


def timed(client: OpenAI, model: str, prompt: str, max_tokens: int) -> tuple[int, int, float]:
    """(prompt tokens, generated tokens, seconds) of one request."""
    started = time.perf_counter()
    reply = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0.0,
    )
    seconds = time.perf_counter() - started
    assert reply.usage is not None, "the runtime reports no usage"
    return reply.usage.prompt_tokens, reply.usage.completion_tokens, seconds


def streamed(client: OpenAI, model: str, prompt: str, max_tokens: int) -> tuple[int, float]:
    """(tokens generated after the first, seconds from the first token to the last) of one request."""
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0.0,
        stream=True,
    )
    stamps = [time.perf_counter() for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    return len(stamps) - 1, (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0


def schema_prompt(tokens: int, salt: int) -> str:
    """About ``tokens`` tokens of DDL (one table is about 45), unique from its first token on."""
    body = "".join(TABLE.format(n=n) for n in range(max(1, tokens // 45)))
    return f"Run {salt}. Which table holds order totals?\n{body}"


def reread(client: OpenAI, model: str, args: argparse.Namespace) -> tuple[float, float]:
    """Medians of (seconds to read a schema prompt first, seconds to read it again with another question
    after an unrelated prompt)."""
    first, again = [], []
    for salt in range(args.repeats):
        schema = schema_prompt(args.prompt_tokens, 100 + salt)
        first.append(timed(client, model, f"{schema}\nQuestion 1: which columns hold money?", 1)[2])
        timed(client, model, schema_prompt(args.prompt_tokens // 4, 200 + salt), 1)  # another prompt between
        again.append(timed(client, model, f"{schema}\nQuestion 2: which columns are keys?", 1)[2])
    return statistics.median(first), statistics.median(again)


def measure(client: OpenAI, model: str, args: argparse.Namespace) -> dict[str, float]:
    timed(client, model, "Say hi.", 4)  # warm-up: the first request pays for the model's pages
    prompt_rates, prompt_sizes = [], []
    for salt in range(args.repeats):
        read, _, seconds = timed(client, model, schema_prompt(args.prompt_tokens, salt), 1)
        prompt_rates.append(read / seconds)
        prompt_sizes.append(read)
    gen_rates, gen_sizes = [], []
    for salt in range(args.repeats):
        made, seconds = streamed(client, model, f"({salt}) {STORY}", args.gen_tokens)
        if made > 0:
            gen_rates.append(made / seconds)
            gen_sizes.append(made + 1)
    first, again = reread(client, model, args)
    return {
        "first_read": first,
        "read_again": again,
        "prompt_tokens": statistics.median(prompt_sizes),
        "prompt_rate": statistics.median(prompt_rates),
        "gen_tokens": statistics.median(gen_sizes or [0]),
        "gen_rate": statistics.median(gen_rates or [0.0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b", choices=sorted(CATALOG))
    parser.add_argument("--prompt-tokens", type=int, default=1500)
    parser.add_argument("--gen-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    settings = Settings(llm_provider="local", llm_model=args.model)
    runtime, gguf = check_local(settings)
    started = time.perf_counter()
    url = runtime.serve(gguf, settings)
    load = time.perf_counter() - started
    threads = settings.llm_local_threads or os.cpu_count()
    figures = measure(OpenAI(base_url=url, api_key="no-key-needed"), args.model, args)

    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    title = (
        f"{args.model} on {runtime.name}, {threads} threads ({gguf.name}), prompt cache "
        f"{settings.llm_local_cache_mb} MB; load average {load_avg}"
    )
    table = Table(title=title)
    columns = (
        "start (s)", "prompt tokens", "prompt tok/s", "generated tokens", "generation tok/s",
        "first read (s)", "read again (s)",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        f"{load:.1f}",
        f"{figures['prompt_tokens']:.0f}",
        f"{figures['prompt_rate']:.1f}",
        f"{figures['gen_tokens']:.0f}",
        f"{figures['gen_rate']:.1f}",
        f"{figures['first_read']:.1f}",
        f"{figures['read_again']:.1f}",
    )
    console.print(table)


if __name__ == "__main__":
    main()

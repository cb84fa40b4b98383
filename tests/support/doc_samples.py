"""Sample blocks in the docs that a test fills from a real run, so the shown outputs cannot drift.

A sample is a ``bash`` block holding one ``curl`` command and the block with what it printed, between
``<!-- sample: NAME -->`` and ``<!-- /sample -->``. The test reads the command, sends the same request to
the app, and renders the answer here: JSON laid out to fit ``WIDTH`` columns, Server-Sent Events one event
per entry, and values that change on every run (tokens, the thread id, timestamps) as placeholders.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

WIDTH = 110
SAMPLE = re.compile(
    r"(?P<open><!-- sample: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(?P<close><!-- /sample -->)", re.S
)
FENCE = re.compile(r"```(?P<lang>\w*)\n(?P<text>.*?)```\n?", re.S)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
THREAD = "<thread_id>"
APPROVAL = "<approval_id>"


@dataclass(frozen=True)
class Sample:
    name: str
    command: str


@dataclass(frozen=True)
class Printed:
    """What curl printed, and the fence language it is shown under."""

    lang: str
    text: str


@dataclass(frozen=True)
class Curl:
    """The parts of a curl command line that decide the request and what curl prints."""

    method: str
    path: str
    headers: dict[str, str]
    data: str | None
    write_out: str | None
    body_shown: bool


@dataclass
class Session:
    """What the documented commands refer to: ``$TOKEN``, ``<thread_id>`` and the last pending
    ``<approval_id>``, and what to hide again
    (those values, timestamps, and the values of ``masked_keys`` wherever such a key appears)."""

    placeholders: dict[str, str] = field(default_factory=dict)
    masked_keys: dict[str, str] = field(default_factory=dict)
    token: str = ""
    thread_id: str = ""
    approval_id: str = ""

    def learn(self, body: Any) -> None:
        """Tokens come from a login; the thread is that of the session's first chat answer; the approval
        id that of the last answer waiting for one."""
        if not isinstance(body, dict):
            return
        if isinstance(body.get("access_token"), str):
            self.token = body["access_token"]
            self.placeholders[self.token] = "<access_token>"
        if isinstance(body.get("refresh_token"), str):
            self.placeholders[body["refresh_token"]] = "<refresh_token>"
        approval = body.get("approval")
        if isinstance(approval, dict) and approval.get("status") == "pending":
            self.approval_id = str(approval["approval_id"])
            self.placeholders[self.approval_id] = APPROVAL
        if isinstance(body.get("thread_id"), str) and not self.thread_id:
            self.thread_id = body["thread_id"]
            self.placeholders[self.thread_id] = THREAD

    def expand(self, text: str) -> str:
        text = text.replace("$TOKEN", self.token).replace(THREAD, self.thread_id or THREAD)
        return text.replace(APPROVAL, self.approval_id or APPROVAL)

    def hide(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.masked_keys.get(k) or self.hide(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.hide(v) for v in value]
        if not isinstance(value, str):
            return value
        for secret, placeholder in self.placeholders.items():
            value = value.replace(secret, placeholder)
        return "<timestamp>" if TIMESTAMP.match(value) else value


def read_samples(doc: str) -> list[Sample]:
    samples = []
    for match in SAMPLE.finditer(doc):
        blocks = [(m["lang"], m["text"]) for m in FENCE.finditer(match["body"])]
        if not blocks or blocks[0][0] != "bash" or len(blocks) > 2:
            raise ValueError(f"sample {match['name']!r}: expected a bash block and at most one output block")
        samples.append(Sample(match["name"], blocks[0][1]))
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        raise ValueError(f"sample names repeat: {names}")
    return samples


def write_outputs(doc: str, outputs: dict[str, Printed]) -> str:
    """The doc with each sample's output block replaced by (or given) what this run printed."""

    def replace(match: re.Match[str]) -> str:
        command = FENCE.match(match["body"])
        assert command is not None, match["name"]
        printed = outputs[match["name"]]
        return f"{match['open']}{command.group(0)}```{printed.lang}\n{printed.text}```\n{match['close']}"

    return SAMPLE.sub(replace, doc)


def parse_curl(command: str) -> Curl:
    """One curl command of a sample (comments and line continuations allowed, nothing else)."""
    lines = [line for line in command.replace("\\\n", " ").splitlines() if line.strip()]
    commands = [line for line in lines if not line.lstrip().startswith("#")]
    if len(commands) != 1 or not commands[0].lstrip().startswith("curl "):
        raise ValueError(f"a sample runs exactly one curl command, not {commands}")
    words = shlex.split(commands[0], comments=True)[1:]
    method, url, data, write_out, body_shown = "", "", None, None, True
    headers: dict[str, str] = {}
    options = iter(words)
    for word in options:
        if word in ("-X", "--request"):
            method = next(options)
        elif word in ("-H", "--header"):
            name, value = next(options).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data"):
            data = next(options)
        elif word in ("-w", "--write-out"):
            write_out = next(options)
        elif word in ("-o", "--output"):
            if next(options) != "/dev/null":
                raise ValueError("curl -o is understood only as -o /dev/null")
            body_shown = False
        elif word in ("-s", "-N", "-sN", "-Ns"):
            continue
        elif word.startswith("-"):
            raise ValueError(f"curl option {word} is not understood here")
        else:
            url = word
    parts = urlsplit(url if "://" in url else f"http://{url}")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Curl(method or ("POST" if data is not None else "GET"), path, headers, data, write_out, body_shown)


async def run_curl(
    client: httpx.AsyncClient, session: Session, command: str
) -> tuple[httpx.Response, Printed]:
    """Send the command's request and render what curl would print, with the run's values hidden."""
    curl = parse_curl(session.expand(command))
    response = await client.request(curl.method, curl.path, headers=curl.headers, content=curl.data)
    text = render_body(session, response) if curl.body_shown else ""
    if curl.write_out is not None:
        text += curl.write_out.replace("%{http_code}", str(response.status_code)).replace("\\n", "\n")
    is_json = curl.body_shown and curl.write_out is None and _is_json_response(response)
    return response, Printed("json" if is_json else "text", text if text.endswith("\n") else text + "\n")


def _is_json_response(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/json")


def render_body(session: Session, response: httpx.Response) -> str:
    if _is_json_response(response):
        body = response.json()
        session.learn(body)
        return render_json(session.hide(body))
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        entries = []
        for event, data in sse_events(response.text):
            if event == "final":
                session.learn(data)
            shown = render_json(session.hide(data), indent=len("data: "))
            entries.append(f"event: {event}\ndata: {shown}\n")
        return "\n".join(entries)
    return response.text


def sse_events(body: str) -> list[tuple[str, Any]]:
    """Server-Sent Events as (event, data) pairs, keep-alive comments left out."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":")
        if "event" in fields:
            events.append((fields["event"], json.loads(fields.get("data", "null"))))
    return events


def render_json(value: Any, used: int = 0, indent: int = 0) -> str:
    """Compact JSON where it fits in ``WIDTH`` columns; otherwise one member per line, recursively."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + used + len(flat) <= WIDTH:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        members = [
            f"{pad}{json.dumps(k)}: {render_json(v, len(json.dumps(k)) + 3, indent + 2)}"
            for k, v in value.items()
        ]
        brackets = "{}"
    else:
        members = [f"{pad}{render_json(v, 1, indent + 2)}" for v in value]
        brackets = "[]"
    return brackets[0] + "\n" + ",\n".join(members) + "\n" + " " * indent + brackets[1]

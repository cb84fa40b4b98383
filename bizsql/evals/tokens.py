"""Prompt-token counting for the eval report: a local model's own tokenizer (``GgufCounter``), else
Mistral's, or an estimate if that cannot load.

``mistral-common`` (a pinned dependency) ships its Tekken tokenizer files inside its wheel
(``mistral_common/data/``), so it counts offline, with no download from a model hub. It needs
``numpy<2.4`` on Python 3.11, which is why bizsql pins numpy 2.3.

Should it fail to import or load (a broken install), the estimate counts words, digits and other symbols
and weighs them with ``WEIGHTS``, fitted by least squares to Tekken's counts of bizsql's own prompts
(schema DDL, glossary, SQL, English, tool definitions). Characters / 4 is 30% off on these prompts (DDL
tokenizes at about 2.9 characters a token, English prose at 4.4); the weighted count is within a few
percent; see docs/quality.md. The report names the counter it used.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage

if TYPE_CHECKING:
    from bizsql.config import Settings

TEKKEN_FILE = "tekken_240911.json"
"""The Tekken vocabulary (131k tokens) of Mistral Small 3 and Nemo, bundled in mistral-common's wheel."""
WEIGHTS = (0.96, 1.62, 0.83)
"""Tokens per word (a run of letters), per digit, and per other non-space character."""
MESSAGE_OVERHEAD = 2
_PIECES = re.compile(r"(?P<word>[^\W\d_]+)|(?P<digit>\d)|(?P<symbol>[^\s])")


class TokenCounter(Protocol):
    name: str

    def count_prompt(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = ()) -> int:
        """Tokens the model reads for one request: the messages, and the tool (function) definitions."""
        ...

    def count_text(self, text: str) -> int: ...


def _text(message: BaseMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else json.dumps(content)


class EstimateCounter:
    """Words, digits and symbols weighed by how Mistral's tokenizer splits bizsql's prompts."""

    name = "estimate (0.96 per word, 1.62 per digit, 0.83 per symbol; see bizsql/evals/tokens.py)"

    def count_text(self, text: str) -> int:
        counts = {"word": 0, "digit": 0, "symbol": 0}
        for match in _PIECES.finditer(text):
            counts[match.lastgroup or "symbol"] += 1
        words, digits, symbols = WEIGHTS
        return math.ceil(words * counts["word"] + digits * counts["digit"] + symbols * counts["symbol"])

    def count_prompt(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = ()) -> int:
        total = sum(self.count_text(_text(m)) + MESSAGE_OVERHEAD for m in messages)
        return total + (self.count_text(json.dumps(list(tools))) if tools else 0)


class MistralCommonCounter:
    """Exact counts with mistral-common's Tekken tokenizer, loaded from the file in its own wheel."""

    def __init__(self, path: Path) -> None:
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

        self._tokenizer = MistralTokenizer.from_file(str(path))
        self.name = f"mistral-common {_version()} ({path.name})"

    def count_text(self, text: str) -> int:
        raw = self._tokenizer.instruct_tokenizer.tokenizer
        return len(raw.encode(text, bos=False, eos=False)) if text else 0

    def count_prompt(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = ()) -> int:
        try:
            return self._chat_tokens(messages, tools)
        except Exception:  # a message order the chat template refuses: count the parts instead
            parts = sum(self.count_text(_text(m)) + MESSAGE_OVERHEAD for m in messages)
            return parts + (self.count_text(json.dumps(list(tools))) if tools else 0)

    def _chat_tokens(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]]) -> int:
        from mistral_common.protocol.instruct.messages import (
            AssistantMessage,
            UserMessage,
        )
        from mistral_common.protocol.instruct.messages import (
            SystemMessage as MSystem,
        )
        from mistral_common.protocol.instruct.request import ChatCompletionRequest
        from mistral_common.protocol.instruct.tool_calls import Function, Tool

        converted: list[Any] = []
        for message in messages:
            text = _text(message)
            if isinstance(message, SystemMessage):
                converted.append(MSystem(content=text))
            elif isinstance(message, AIMessage):
                converted.append(AssistantMessage(content=text))
            elif converted and isinstance(converted[-1], UserMessage):
                converted[-1] = UserMessage(content=f"{converted[-1].content}\n\n{text}")
            else:
                converted.append(UserMessage(content=text))
        specs = [Tool(function=Function(**t["function"])) for t in tools if "function" in t]
        request: Any = ChatCompletionRequest(messages=converted, tools=specs or None)
        return len(self._tokenizer.encode_chat_completion(request).tokens)


def _version() -> str:
    from importlib.metadata import version

    return version("mistral-common")


@lru_cache(maxsize=1)
def get_counter() -> TokenCounter:
    """Mistral's tokenizer when mistral-common is importable and its bundled file loads, else the estimate."""
    try:
        import mistral_common
    except ImportError:
        return EstimateCounter()
    path = Path(mistral_common.__file__).parent / "data" / TEKKEN_FILE
    if not path.exists():
        return EstimateCounter()
    try:
        return MistralCommonCounter(path)
    except Exception:
        return EstimateCounter()


class GgufCounter:
    """Exact counts for a local model: its own tokenizer and chat template, read from its GGUF file (the
    vocabulary only, no weights), applied as llama-cpp-python's server applies them to a request."""

    def __init__(self, gguf: Path) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
        meta = self._llama.metadata
        template = meta.get("tokenizer.chat_template")
        if not template:
            raise ValueError(f"{gguf.name} has no chat template")

        def token(key: str) -> str:
            found = meta.get(key)
            return self._llama.detokenize([int(found)], special=True).decode() if found else ""

        self._format = Jinja2ChatFormatter(
            template,
            eos_token=token("tokenizer.ggml.eos_token_id"),
            bos_token=token("tokenizer.ggml.bos_token_id"),
        )
        self.name = f"the model's own tokenizer and chat template ({gguf.name})"

    def count_text(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode(), add_bos=False, special=False)) if text else 0

    def count_prompt(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = ()) -> int:
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        chat: Any = [{"role": roles.get(m.type, "user"), "content": _text(m)} for m in messages]
        specs: Any = list(tools) or None  # typed as llama_cpp's TypedDicts, which these dicts match
        formatted = self._format(messages=chat, tools=specs)
        prompt = self._llama.tokenize(
            formatted.prompt.encode(), add_bos=not formatted.added_special, special=True
        )
        return len(prompt)


def counter_for(settings: Settings) -> TokenCounter:
    """The local model's own tokenizer for ``BIZSQL_LLM_PROVIDER=local`` (with llama-cpp-python installed),
    else Mistral's (``get_counter``): an OpenAI-compatible server's tokenizer is not known here, and its
    own counts are in the report's provider columns."""
    if settings.llm_provider == "local":
        try:
            from bizsql.local_model import model_file

            return GgufCounter(model_file(settings))
        except Exception:  # no llama-cpp-python, or no file yet: check_provider has said which
            return get_counter()
    return get_counter()

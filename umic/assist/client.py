"""A thin client for an OpenAI-compatible chat endpoint (vLLM, Ollama, a cloud tenant).

Built on the ``openai`` package, imported only when a call is made: with ``ASSIST_URL`` empty
the app never imports it. No retries (``max_retries=0``): a technician waiting on a page would
rather read "it did not answer" after ``ASSIST_TIMEOUT_SECONDS`` than wait three times as long.
Every failure becomes one ``AssistError`` with a short reason in English for the log
("timeout", "connection refused", "HTTP 500", "empty answer"); the page words it for people.

The key, if the server wants one, comes from ``ASSIST_API_KEY`` (the environment:
``UMIC_ASSIST_API_KEY``); servers that want none (Ollama, vLLM without ``--api-key``) get a
placeholder, since the library insists on some key.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

#: Sent as the key when none is configured (the library refuses an empty one).
NO_KEY = "no-key"


class AssistError(Exception):
    """The model could not be asked or did not answer; ``reason`` is short, for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


def host_of(url: str) -> str:
    """The host (and port) of ``url``, for the log: never a path, user or password."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if host and port else host


@dataclass(frozen=True)
class ChatClient:
    """One endpoint and model. ``chat`` sends a system and a user message, returns the text."""

    url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0

    def chat(self, system: str, user: str) -> str:
        import httpx
        import openai  # lazily: the app never imports it while the assistant is off

        client = openai.OpenAI(
            base_url=self.url,
            api_key=self.api_key or NO_KEY,
            timeout=self.timeout,
            max_retries=0,
        )
        try:
            response = client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": user},
                ],
                temperature=0.2,
            )
        except openai.APITimeoutError:
            raise AssistError("timeout") from None
        except openai.APIConnectionError as error:
            raise AssistError(_connection_reason(error)) from None
        except openai.APIStatusError as error:
            raise AssistError(f"HTTP {error.status_code}") from None
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as error:
            raise AssistError(type(error).__name__) from None
        finally:
            client.close()
        choices = getattr(response, "choices", None) or []
        text = (choices[0].message.content or "").strip() if choices else ""
        if not text:
            raise AssistError("empty answer")
        return text


def _connection_reason(error: Exception) -> str:
    cause = error.__cause__ or error.__context__
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if "refused" in str(cause).lower():
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    return "connection failed"

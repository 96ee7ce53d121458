"""The optional language model (issue 15, item 5): a summary of a long description and a
first draft of a reply, from a model server the service runs itself behind an OpenAI-compatible
API (vLLM, Ollama, its own cloud tenant). Off while ``ASSIST_URL`` is empty; then nothing here
contacts anything and the ``openai`` package is never imported.

- ``client``: the thin client (one exception type for every failure).
- ``service``: what is sent (redacted by ``umic.core.redact``) and the log (``AssistUse``).

docs/assist.md says how to connect a server and what is, and is not, removed.
"""

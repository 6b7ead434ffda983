"""Generation through an OpenAI-compatible chat-completions endpoint (vLLM's server, SGLang, TGI, a hosted API).

    GenerationConfig(backend="openai", endpoint="http://10.0.0.5:8000/v1", concurrency=16)
    make_generator(ModelSpec(path="Qwen/Qwen2.5-VL-7B-Instruct"), config)   # path = the served model name

Each (image, instruction) becomes one request: the user turn carries the image as a base64 PNG data URL, then
the instruction (the same order as the chat template's user turn in `training.conversation`). Requests run in
parallel (`concurrency`), answers come back in input order. Rate limits and server errors (429, 5xx, dropped
connections) are retried with exponential back-off; other errors, or errors after the last retry, raise
`EndpointError` naming the status and the server's message. The key is read from the environment variable
`api_key_env` (OPENAI_API_KEY by default) and is optional for local servers. `chat()` is the plain call that the
evaluation's judge uses too.
"""

from __future__ import annotations

import base64
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class EndpointError(RuntimeError):
    pass


def image_part(image: Any) -> dict[str, Any]:
    """An `image_url` content part holding the image as a PNG data URL."""
    from training.generate import _rgb

    buf = io.BytesIO()
    _rgb(image).save(buf, "PNG")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}


def chat(
    endpoint: str,
    model: str,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int | None = None,
    api_key: str | None = None,
    timeout_s: float = 600.0,
    retries: int = 4,
    client: Any = None,
) -> str:
    """One chat completion; returns the first choice's text."""
    import httpx

    url = endpoint.rstrip("/") + "/chat/completions"
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "top_p": top_p,
    }
    if seed is not None:
        body["seed"] = seed
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    client = client or httpx.Client(timeout=timeout_s)
    try:
        for attempt in range(retries + 1):
            try:
                response = client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:  # refused, reset, timed out
                if attempt == retries:
                    raise EndpointError(f"{url}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code == 200:
                    return _content(response.json(), url)
                if response.status_code not in RETRY_STATUS or attempt == retries:
                    raise EndpointError(f"{url} answered {response.status_code}: {response.text[:500]}")
            time.sleep(min(30.0, 0.5 * 2**attempt))
    finally:
        if own:
            client.close()
    raise EndpointError(f"{url}: no answer after {retries + 1} attempts")  # pragma: no cover - loop returns/raises


def _content(payload: dict[str, Any], url: str) -> str:
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise EndpointError(f"{url}: unexpected answer {str(payload)[:300]}") from exc
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


class EndpointGenerator:
    """The `Generator` interface over an OpenAI-compatible server."""

    def __init__(self, model: str, config):
        import httpx

        if not config.endpoint:
            raise EndpointError("backend openai needs `endpoint` (e.g. http://127.0.0.1:8000/v1)")
        self.name = model
        self.config = config
        self.api_key = os.environ.get(config.api_key_env) or None
        self._client = httpx.Client(
            timeout=config.request_timeout_s, limits=httpx.Limits(max_connections=config.concurrency)
        )

    def generate(self, images: list[Any], instructions: list[str], **overrides: Any) -> list[str]:
        from training.conversation import USER

        cfg = self.config.model_copy(update=overrides)

        def one(pair: tuple[Any, str]) -> str:
            image, text = pair
            content = [image_part(image), {"type": "text", "text": text}]
            return chat(
                cfg.endpoint,
                self.name,
                [{"role": USER, "content": content}],
                max_tokens=cfg.max_new_tokens,
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                seed=cfg.seed,
                api_key=self.api_key,
                timeout_s=cfg.request_timeout_s,
                client=self._client,
            )

        with ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="endpoint") as pool:
            return list(pool.map(one, zip(images, instructions, strict=True)))

    def close(self) -> None:
        self._client.close()

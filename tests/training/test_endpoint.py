"""The OpenAI-compatible endpoint backend against an HTTP server on loopback that speaks the chat-completions
protocol: the request carries the image as a PNG data URL and the instruction, answers keep input order, a
transient 503 is retried, a 400 is an error naming the server's message, and a dead server is an error."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from training.endpoint import EndpointError, chat
from training.generate import GenerationConfig, make_generator
from training.models import ModelSpec


class ChatServer:
    """Answers each chat completion with the colour of the request's image and its instruction."""

    def __init__(self, fail_first: int = 0, status: int = 503):
        self.requests: list[dict] = []
        self.fail_first, self.status = fail_first, status
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                if len(server.requests) <= server.fail_first:
                    self.send_response(server.status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "busy"}')
                    return
                parts = body["messages"][0]["content"]
                url = parts[0]["image_url"]["url"]
                image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
                answer = f"{image.getpixel((0, 0))} {parts[1]['text']}"
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ChatServer()
    yield s
    s.close()


def test_generator_sends_images_and_keeps_order(server, monkeypatch):
    monkeypatch.setenv("VINCI_TEST_KEY", "sekret")
    config = GenerationConfig(
        backend="openai", endpoint=server.url, api_key_env="VINCI_TEST_KEY", concurrency=3, max_new_tokens=7
    )
    generator = make_generator(ModelSpec(path="served-model"), config)
    colors = ["red", "blue", "green", "white", "black"]
    images = [Image.new("RGB", (4, 4), c) for c in colors]
    answers = generator.generate(images, [f"draw {c}" for c in colors])
    expected = [f"{Image.new('RGB', (1, 1), c).getpixel((0, 0))} draw {c}" for c in colors]
    assert answers == expected
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "served-model"
    assert request["auth"] == "Bearer sekret" and request["max_tokens"] == 7 and request["temperature"] == 0.0
    assert request["messages"][0]["role"] == "user"
    assert request["messages"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    generator.close()


def test_transient_errors_are_retried_and_others_reported():
    busy = ChatServer(fail_first=1, status=503)
    try:
        image = Image.new("RGB", (2, 2), "red")
        content = [{"type": "image_url", "image_url": {"url": _data_url(image)}}, {"type": "text", "text": "x"}]
        assert chat(busy.url, "m", [{"role": "user", "content": content}], max_tokens=4).endswith(" x")
        assert len(busy.requests) == 2
    finally:
        busy.close()
    bad = ChatServer(fail_first=10, status=400)
    try:
        with pytest.raises(EndpointError, match="400.*busy"):
            chat(bad.url, "m", [{"role": "user", "content": "hi"}], max_tokens=4)
        assert len(bad.requests) == 1  # a client error is not retried
    finally:
        bad.close()


def test_a_dead_server_is_an_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EndpointError, match="ConnectError"):
        chat(f"http://127.0.0.1:{port}/v1", "m", [{"role": "user", "content": "hi"}], max_tokens=1, retries=1)
    with pytest.raises(EndpointError, match="needs `endpoint`"):
        make_generator(ModelSpec(path="m"), GenerationConfig(backend="openai"))


def _data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()

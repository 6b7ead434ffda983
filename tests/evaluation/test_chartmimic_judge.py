"""The ChartMimic judge against a chat-completions server on loopback: the server decodes both images of each
request and answers "Score: 100" when they are the same picture and a score derived from the generated image's
colour otherwise, so the tests see the images arrive reference first, in input order, with the key, and that
failures score 0 without stopping the others (or raise when every request fails)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from evaluation.metrics.chartmimic_judge import (
    CRITERIA,
    NO_IMAGE,
    NO_SCORE,
    JudgeConfig,
    JudgeScore,
    high_level,
    judge_many,
    judge_messages,
    judge_prompt,
    parse_score,
    summary,
)
from training.endpoint import EndpointError

FAIL_RED = 255  # a generated image whose red channel is this makes the server answer 400
MUTE_RED = 254  # ... and this one makes it answer without a score


def png(rgb: tuple[int, int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (6, 4), rgb if mode == "RGB" else (*rgb, 0)).save(buf, "PNG")
    return buf.getvalue()


def decode(part: dict) -> tuple[int, ...]:
    url = part["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).getpixel((0, 0))


class JudgeServer:
    """Scores a pair 100 when identical, else the generated image's green value; reference red = delay in ms."""

    def __init__(self, status: int | None = None):
        self.requests: list[dict] = []
        self.status = status  # answer every request with this error status
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                parts = body["messages"][0]["content"]
                reference, generated = decode(parts[0]), decode(parts[1])
                time.sleep(reference[0] / 1000)  # later items can finish first
                if server.status or generated[0] == FAIL_RED:
                    self._send(server.status or 400, {"error": "bad sample"})
                    return
                if generated[0] == MUTE_RED:
                    answer = "I cannot tell."
                elif reference == generated:
                    answer = "Chart type: 20/20 ...\n**Score:** 100"
                else:
                    answer = f"Data: 5/20\nScore: {generated[1]}/100"
                self._send(200, {"choices": [{"message": {"role": "assistant", "content": answer}}]})

            def _send(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = JudgeServer()
    yield s
    s.close()


def config(url: str, **kw) -> JudgeConfig:
    return JudgeConfig(endpoint=url, model="judge-model", api_key_env="VINCI_JUDGE_TEST_KEY", **kw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Score: 85", 85.0),
        ("Reasoning...\n**Score:** 72", 72.0),
        ("Score: **64**", 64.0),
        ("score: 85/100", 85.0),
        ("Chart type score: 10\nTotal Score: 40\nScore: 55", 55.0),
        ("SCORE: 92.5", 92.5),
        ("Score: 130", 100.0),
        ("The charts look alike.", None),
        ("subscore: 12", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_score(text, expected):
    assert parse_score(text) == expected


def test_criteria_and_prompt():
    assert [name for name, _ in CRITERIA] == ["Chart type", "Layout", "Text content", "Data", "Style", "Clarity"]
    assert [points for _, points in CRITERIA] == [20, 10, 20, 20, 20, 10]
    assert sum(points for _, points in CRITERIA) == 100
    prompt = judge_prompt()
    for name, points in CRITERIA:
        assert f"{name} ({points} points)" in prompt
    assert "first image" in prompt and "second image" in prompt
    assert prompt.rstrip().endswith("Score: N")


def test_messages_put_reference_first_and_flatten_transparency():
    messages = judge_messages(png((1, 2, 3)), png((9, 9, 9), mode="RGBA"))
    assert len(messages) == 1 and messages[0]["role"] == "user"
    first, second, text = messages[0]["content"]
    assert decode(first) == (1, 2, 3)
    assert decode(second) == (255, 255, 255)  # fully transparent -> white, not black
    assert text == {"type": "text", "text": judge_prompt()}


def test_judge_many_keeps_order_and_sends_key(server, monkeypatch):
    monkeypatch.setenv("VINCI_JUDGE_TEST_KEY", "sekret")
    # reference red = server delay in ms: the first items answer last
    references = [png((40 - 8 * i, i, 0)) for i in range(6)]
    generated = [png((0, 10 * i, 7)) for i in range(6)]
    generated[2] = references[2]  # identical -> 100
    seen: list[int] = []
    scores = judge_many(references, generated, config(server.url, concurrency=3, max_tokens=50), progress=seen.append)
    assert [s.score for s in scores] == [0.0, 10.0, 100.0, 30.0, 40.0, 50.0]
    assert all(s.parsed and s.error is None for s in scores)
    assert scores[2].raw.endswith("**Score:** 100")
    assert seen == [1, 2, 3, 4, 5, 6]
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "judge-model"
    assert request["auth"] == "Bearer sekret" and request["max_tokens"] == 50 and request["temperature"] == 0.0
    assert len(server.requests) == 6


def test_no_key_sends_no_authorization(server, monkeypatch):
    monkeypatch.delenv("VINCI_JUDGE_TEST_KEY", raising=False)
    judge_many([png((0, 0, 0))], [png((0, 33, 0))], config(server.url))
    assert server.requests[0]["auth"] is None


def test_missing_images_score_zero_without_a_request(server):
    references = [png((0, 0, i)) for i in range(4)]
    generated = [None, png((0, 80, 0)), None, references[3]]
    seen: list[int] = []
    scores = judge_many(references, generated, config(server.url, concurrency=2), progress=seen.append)
    assert len(server.requests) == 2
    assert scores[0] == JudgeScore(0.0, False, None, NO_IMAGE) and scores[2] == scores[0]
    assert [s.score for s in scores] == [0.0, 80.0, 0.0, 100.0]
    assert seen[0] == 2 and seen[-1] == 4
    assert high_level(scores) == 45.0
    assert summary(scores) == {"high_level": 45.0, "judged": 2, "parsed": 2, "errors": 0}


def test_nothing_to_judge_needs_no_server():
    scores = judge_many([png((0, 0, 0))], [None], config("http://127.0.0.1:9/v1"))
    assert summary(scores) == {"high_level": 0.0, "judged": 0, "parsed": 0, "errors": 0}
    assert high_level([]) is None and summary([])["high_level"] is None


def test_one_failing_sample_scores_zero_and_the_others_go_on(server):
    references = [png((0, 0, i)) for i in range(4)]
    generated = [png((0, 60, 0)), png((FAIL_RED, 0, 0)), png((MUTE_RED, 0, 0)), png((0, 90, 0))]
    scores = judge_many(references, generated, config(server.url, concurrency=4))
    assert [s.score for s in scores] == [60.0, 0.0, 0.0, 90.0]
    failed, mute = scores[1], scores[2]
    assert not failed.parsed and failed.raw is None and "400" in failed.error and "bad sample" in failed.error
    assert not mute.parsed and mute.raw == "I cannot tell." and mute.error == NO_SCORE
    assert len(server.requests) == 4  # a 400 is not retried
    assert high_level(scores) == 37.5
    assert summary(scores) == {"high_level": 37.5, "judged": 4, "parsed": 2, "errors": 1}


def test_every_request_failing_raises():
    down = JudgeServer(status=400)
    try:
        with pytest.raises(EndpointError, match="all 2 judge requests failed.*400"):
            judge_many([png((0, 0, 0))] * 3, [png((0, 1, 0)), None, png((0, 2, 0))], config(down.url))
        assert len(down.requests) == 2
    finally:
        down.close()


def test_length_mismatch_and_config_checks():
    with pytest.raises(ValueError, match="2 generated images for 1 references"):
        judge_many([png((0, 0, 0))], [None, None], config("http://127.0.0.1:9/v1"))
    with pytest.raises(ValueError):
        JudgeConfig(endpoint="x", model="m", concurency=2)
    with pytest.raises(ValueError):
        JudgeConfig(endpoint="x", model="m", concurrency=0)

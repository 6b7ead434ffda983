"""Shared fixtures: real third-party samples, a temporary Prefect server, an S3 API server on loopback, the offline
tiny VLM and a small curated dataset (real ChartMimic scripts and SVG icons rendered by the engine, so that a
row's image is exactly what its code draws and a draft equal to the ground truth scores 1.0)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from storage.manifest import InputRecord
from tasks.stage import Stage, finalize_stage, plan_stage, run_shard, shard_jobs

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("VINCI_PROGRESS", "0")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("VINCI_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real samples (ChartMimic charts, Design2Code pages, TikZ, SVG icons, SMILES)."""
    if not (SHARED_DATA / "MANIFEST.md").exists():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (set VINCI_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def data_root(tmp_path: Path) -> str:
    return str(tmp_path / "data")


@pytest.fixture(scope="session")
def prefect_server():
    """A real temporary Prefect server (SQLite) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 API server on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """Environment pointing fsspec, polars and Prefect at the loopback S3 server; yields a fresh bucket URI."""
    import uuid

    import boto3

    monkeypatch.setenv("VINCI_S3_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"vinci-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    import fsspec

    fsspec.config.conf.pop("s3", None)
    from s3fs import S3FileSystem

    S3FileSystem.clear_instance_cache()
    yield f"s3://{bucket}"
    S3FileSystem.clear_instance_cache()


# -- training fixtures -------------------------------------------------------------------------------------
CHARTS = 8
SVGS = 8


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from training.tiny import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("models") / "tiny-vlm")


def _rows(shared: Path) -> list[dict[str, Any]]:
    import renderers
    from schemas.sample import sample_id
    from training.prompts import direct_instruction

    files = sorted((shared / "charts").glob("*.py"))[:CHARTS] + sorted((shared / "svg").glob("*.svg"))[:SVGS]
    rows = []
    for path in files:
        language = "python" if path.suffix == ".py" else "svg"
        code = path.read_text(encoding="utf-8")
        result = renderers.render(code, language)
        assert result.ok, f"{path.name}: {result.error_kind} {result.error_message}"
        rows.append(
            {
                "id": sample_id("shared", path.name),
                "domain": "chart" if language == "python" else "svg",
                "subdomain": None,
                "language": language,
                "task": "direct",
                "instruction": direct_instruction(language, key=path.name),
                "code": code,
                "draft_code": None,
                "image": {"bytes": result.image, "path": f"{path.stem}.png"},
                "image_width": result.width,
                "image_height": result.height,
                "source": "shared",
                "source_id": path.name,
                "split": "train",
                "meta": None,
            }
        )
    return rows


class CuratedConfig(BaseModel):
    shards: int = 2


class CuratedStage(Stage):
    """Writes the rows as a finished dataset named `dedup` (two shards, manifest, LATEST)."""

    name = "dedup"
    config: CuratedConfig
    rows: list[dict[str, Any]] = []

    def inputs(self) -> list[InputRecord]:
        return [InputRecord(name="shared", kind="test", fingerprint=f"curated-{len(self.rows)}")]

    def shard_specs(self, version) -> list[dict[str, Any]]:
        return [{"index": i} for i in range(self.config.shards)]

    def process(self, spec):
        yield from self.rows[spec["index"] :: self.config.shards]


@pytest.fixture(scope="session")
def curated_rows(shared_data) -> list[dict[str, Any]]:
    return _rows(Path(shared_data))


@pytest.fixture
def curated_root(tmp_path, curated_rows) -> str:
    """A fresh data root holding the curated dataset as the `dedup` stage's LATEST."""
    return write_dedup(str(tmp_path / "data"), curated_rows, shards=2)


TOY_COLORS = ("red", "blue", "green", "orange")


def toy_svg_code(color: str) -> str:
    head = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    return f'{head}<rect width="64" height="64" fill="{color}"/></svg>'


def write_dedup(root: str, rows: list[dict[str, Any]], shards: int = 1) -> str:
    """Write rows as a finished `dedup` dataset under `root` (as the real stage would leave it)."""
    stage = CuratedStage(CuratedConfig(shards=shards), root)
    stage.rows = rows
    plan = plan_stage(stage)
    for job in shard_jobs(plan):
        run_shard(stage, job)
    finalize_stage(stage, plan)
    return root


@pytest.fixture(scope="session")
def dedup_writer():
    """`write_dedup(root, rows, shards=1)`, for tests that build their own curated dataset."""
    return write_dedup


@pytest.fixture(scope="session")
def toy_svg_rows() -> list[dict[str, Any]]:
    """Four one-rectangle SVGs and their renders: short enough for the tiny model to learn in a minute."""
    import renderers
    from schemas.sample import sample_id
    from training.prompts import direct_instruction

    rows = []
    for color in TOY_COLORS:
        code = toy_svg_code(color)
        result = renderers.render(code, "svg")
        assert result.ok, result.error_message
        rows.append(
            {
                "id": sample_id("toy", color),
                "domain": "svg",
                "subdomain": None,
                "language": "svg",
                "task": "direct",
                "instruction": direct_instruction("svg", key=color),
                "code": code,
                "draft_code": None,
                "image": {"bytes": result.image, "path": f"{color}.png"},
                "image_width": result.width,
                "image_height": result.height,
                "source": "toy",
                "source_id": color,
                "split": "train",
                "meta": None,
            }
        )
    return rows


class OracleEndpoint:
    """An OpenAI-compatible chat-completions server on loopback standing in for a model we cannot run here: it
    answers a one-image request with the text registered for that image's pixels ("" when none is), and a
    two-image request (ChartMimic's judge) with `judge_answer`. Counts the requests of each kind."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.answers: dict[str, str] = {}
        self.judge_answer = "Type and data match.\nScore: 80"
        self.generation_requests = 0
        self.judge_requests = 0
        oracle = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                parts = body["messages"][0]["content"]
                urls = [p["image_url"]["url"] for p in parts if p.get("type") == "image_url"]
                if len(urls) == 2:
                    oracle.judge_requests += 1
                    answer = oracle.judge_answer
                else:
                    oracle.generation_requests += 1
                    answer = oracle.answers.get(oracle.key(_data_url_bytes(urls[0])), "")
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def key(image: bytes) -> str:
        import hashlib
        import io

        from PIL import Image

        rgb = Image.open(io.BytesIO(image)).convert("RGB")
        return hashlib.sha256(repr(rgb.size).encode() + rgb.tobytes()).hexdigest()

    def answer(self, image: bytes, text: str) -> None:
        """Answer `text` whenever the model is shown `image`."""
        self.answers[self.key(image)] = text

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _data_url_bytes(url: str) -> bytes:
    import base64

    return base64.b64decode(url.split(",", 1)[1])


@pytest.fixture
def oracle_endpoint():
    server = OracleEndpoint()
    yield server
    server.close()

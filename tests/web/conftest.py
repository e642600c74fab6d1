"""Fixtures of the studio tests: a data folder, an uploaded photo, a live server on a free loopback port."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from impasto.web.testing import ServeProcess

pytest.importorskip("fastapi", reason="the studio tests need the web extra: pip install 'impasto[web]'")

SHARED = Path(__file__).resolve().parents[3] / "shared" / "images"
PHOTO = SHARED / "content" / "tubingen.jpg"


@pytest.fixture(scope="session")
def photo_bytes() -> bytes:
    if not PHOTO.is_file():
        pytest.skip(f"shared test photo missing: {PHOTO}")
    return PHOTO.read_bytes()


@contextmanager
def app_client(data: Path, **options: Any) -> Iterator[Any]:
    """The studio app on ``data`` in-process (FastAPI's TestClient, no worker processes: jobs run through
    ``work_once``); ``options`` go to ``create_app``, ``client.app_state`` is the app's state."""
    from fastapi.testclient import TestClient

    from impasto.web.app import create_app

    app = create_app(data, workers=0, **options)
    with TestClient(app) as client:
        client.app_state = app.state
        yield client


def client_fixture(**options: Any) -> Any:
    """A ``client`` fixture for a test module: ``app_client(tmp_path / "data", **options)`` for each test."""

    @pytest.fixture
    def client(tmp_path: Path) -> Iterator[Any]:
        with app_client(tmp_path / "data", **options) as c:
            yield c

    return client


def file_poster(url: str, default_name: str) -> Any:
    """``post(client, payload, name=default_name)``: ``payload`` sent to ``url`` as the form file ``file``."""

    def post(client: Any, payload: bytes, name: str = default_name) -> Any:
        return client.post(url, files={"file": (name, payload, "application/octet-stream")})

    return post


def leftovers(root: Path, *folders: str) -> list[str]:
    """The files in the ``folders`` of the data folder ``root``, relative to it."""
    return sorted(str(p.relative_to(root)) for sub in folders for p in (root / sub).iterdir())


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type]:
    started: list[ServeProcess] = []

    class Factory:
        @staticmethod
        def start(*extra: str, data: Path | None = None, env: dict[str, str] | None = None) -> ServeProcess:
            server = ServeProcess(data or tmp_path / "data", *extra, env=env)
            started.append(server)
            return server.wait_ready()

    yield Factory
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium not found: apt-get install -y chromium (.ci/run installs it)")
    pytest.importorskip("playwright", reason="the browser tests need playwright: pip install playwright")
    return path


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One studio server (one worker) shared by a test module."""
    server = ServeProcess(tmp_path_factory.mktemp("studio") / "data", "--workers", "1")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    """Debian's Chromium under Playwright, with a fake camera that needs no permission prompt."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=chromium_path,
            args=["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox"],
        )
        try:
            yield chromium
        finally:
            chromium.close()

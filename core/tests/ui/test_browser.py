"""The real dashboard in headless Chromium: navigate, retry a dead job by clicking, XSS.

Uses Debian's ``chromium`` through Playwright (no browser download). Screenshots of every
page go to the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from jobplug import Broker, Job
from jobplug.errors import UnknownSchemeError
from jobplug.registry import broker_class, broker_from_url
from jobplug.ui import create_app

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
XSS_ARGS = {"html": "<script>window.__xss = 1</script>", "note": "<b>bold?</b>"}
XSS_ERROR = '<img src=x onerror="window.__xss = 2">'


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why}; CI requires it", pytrace=False)
    pytest.skip(why)


class ServerThread:
    """uvicorn on 127.0.0.1 (a socket bound here: no port race) in a thread with its own
    loop; every broker call goes through that loop, as the memory broker wants."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        app = create_app(broker, allowed_hosts=("127.0.0.1", "localhost"), refresh_seconds=0.5)
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.loop.close()
        self.sock.close()


@pytest.fixture(params=["memory", "redis"])
def server(
    request: pytest.FixtureRequest, namespace: str, drop_redis: Any
) -> Iterator[ServerThread]:
    """The dashboard over a named in-process broker, or over Redis in its own namespace."""
    if request.param == "memory":
        url = f"memory://ui-browser-{uuid.uuid4().hex[:8]}"
    else:
        try:
            broker_class("redis://")
        except UnknownSchemeError:
            pytest.skip("the Redis adapter is not installed")
        url = f"{request.getfixturevalue('redis_server')}/0?namespace={namespace}"
    running = ServerThread(broker_from_url(url))
    running.start()
    try:
        yield running
    finally:
        running.call(running.broker.unsubscribe())
        if request.param == "redis":
            running.call(running.broker.close())
            running.call(drop_redis(url.split("?")[0], namespace))
        running.stop()


def test_dashboard_in_chromium(server: ServerThread, fill_backend: Any, tmp_path: Path) -> None:
    _need(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect

    # one dead job with hostile args, two ordinary ones, and one job of every other kind
    server.call(fill_backend(server.broker, "render", dead=1, args=XSS_ARGS, error=XSS_ERROR))
    filled = server.call(fill_backend(server.broker, "send_email", dead=2, scheduled=1, retry=1))
    xss_id = next(
        r.job.id
        for r in server.call(server.broker.inspector().dead()).items
        if r.job.handler == "render"
    )
    target = filled.dead[0].id
    shots: list[Path] = []

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))

            def shot(name: str) -> None:
                path = tmp_path / f"{name}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)

            # queues page
            page.goto(server.url + "/")
            expect(page).to_have_url(re.compile(r"/ui/queues$"))
            expect(page.locator("h1")).to_have_text("Queues")
            expect(page.locator('nav [data-count="dead"]')).to_have_text("3")
            shot("queues")

            # open the dead jobs page from the navigation
            page.get_by_role("link", name=re.compile(r"^Dead")).click()
            expect(page).to_have_url(re.compile(r"/ui/dead$"))
            rows = page.locator("#jobs tbody tr")
            expect(rows).to_have_count(3)
            died = rows.first.locator("time")  # relative, the absolute time on hover
            expect(died).to_have_text(re.compile(r"^(just now|\d+ s ago)$"))
            expect(died).to_have_attribute(
                "title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$")
            )
            shot("dead")

            # the hostile job renders as text, nothing of it runs or becomes markup
            hostile = page.locator(f'tr[data-job-id="{xss_id}"]')
            expect(hostile.locator("code.args")).to_contain_text(
                "<script>window.__xss = 1</script>"
            )
            expect(hostile.locator("td.error")).to_have_text(XSS_ERROR)
            assert page.locator("#jobs script, #jobs img, #jobs b").count() == 0
            assert page.evaluate("typeof window.__xss") == "undefined"

            # retry one dead job by clicking; it leaves the list
            page.locator(f'tr[data-job-id="{target}"]').get_by_role("button", name="Retry").click()
            expect(page.locator(".flash")).to_have_text("Job queued again.")
            expect(page.locator(f'tr[data-job-id="{target}"]')).to_have_count(0)
            expect(rows).to_have_count(2)
            expect(page.locator('nav [data-count="dead"]')).to_have_text("2")

            # the job detail page of the hostile job
            hostile.get_by_role("link", name="render").click()
            expect(page.locator("pre.args")).to_contain_text('"html": "<script>window.__xss = 1')
            expect(page.locator("pre.error")).to_have_text(XSS_ERROR)
            assert page.evaluate("typeof window.__xss") == "undefined"
            shot("job")

            for name in ("processes", "scheduled", "retry"):
                page.goto(f"{server.url}/ui/{name}")
                expect(page.locator("h1").first).to_be_visible()
                shot(name)
            expect(page.locator("#jobs tbody tr")).to_have_count(1)  # the retry job

            # the retried job is queued; counts refresh without reloading
            page.goto(server.url + "/ui/queues")
            count = page.locator('tr[data-handler="send_email"] [data-field="count"]')
            expect(count).to_have_text("1")
            server.call(server.broker.enqueue([Job("send_email", {"n": i}) for i in range(1234)]))
            expect(count).to_have_text("1,235", timeout=10_000)
            expect(page.locator('nav [data-count="queued"]')).to_have_text("1,235")
            assert "alert" not in dialogs
        finally:
            browser.close()

    for path in shots:
        assert path.stat().st_size > 5000, path
    assert {p.stem for p in shots} == {"queues", "dead", "job", "processes", "scheduled", "retry"}
    keep = os.environ.get("JOBPLUG_UI_SCREENSHOTS")
    if keep:  # handy when looking at the pages by hand
        for path in shots:
            shutil.copy(path, keep)

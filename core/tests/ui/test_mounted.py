"""The dashboard mounted under a prefix (``Mount("/jobs", create_app(...))``): every link,
asset, data source and form of every page stays under the prefix and answers."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from jobplug import Broker
from jobplug.ui import create_app

ORIGIN = "http://127.0.0.1:5040"
PREFIX = "/jobs"


class Targets(HTMLParser):
    """Where a page points: links and assets to GET, forms to POST."""

    def __init__(self) -> None:
        super().__init__()
        self.get: set[str] = set()
        self.post: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("href", "src", "data-source", "data-empty-source"):
            if found.get(name):
                self.get.add(str(found[name]))
        if found.get("data-root") is not None:
            self.get.add(f"{found['data-root']}/stats")  # what the script fetches
        if tag == "form" and found.get("action"):
            self.post.add(str(found["action"]))


def targets(html: str) -> Targets:
    parser = Targets()
    parser.feed(html)
    return parser


def mounted_client(broker: Broker) -> httpx.AsyncClient:
    outer = Starlette(routes=[Mount(PREFIX, app=create_app(broker))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url=ORIGIN)


async def test_every_link_asset_and_form_works_under_a_prefix(
    backend: Broker, fill_backend: Any
) -> None:
    await fill_backend(backend, ready=2, scheduled=2, retry=2, dead=2)
    async with mounted_client(backend) as client:
        home = await client.get(f"{PREFIX}/")
        assert home.status_code == 307 and home.headers["location"] == f"{PREFIX}/ui/queues"
        seen: set[str] = set()
        forms: set[str] = set()
        pending = [f"{PREFIX}/ui/queues"]
        while pending:
            path = pending.pop()
            if path in seen:
                continue
            seen.add(path)
            response = await client.get(path)
            assert response.status_code == 200, path
            if not response.headers["content-type"].startswith("text/html"):
                continue
            found = targets(response.text)
            for target in found.get | found.post:
                assert target.startswith(f"{PREFIX}/"), (path, target)
            pending += sorted(found.get - seen)
            forms |= found.post
        assert {f"{PREFIX}/static/style.css", f"{PREFIX}/static/app.js"} <= seen
        assert any(p.startswith(f"{PREFIX}/ui/job/dead/") for p in seen)
        # every button lands back on a page of the mounted dashboard
        for action in sorted(forms, key=lambda a: "all" in a):  # one-by-one before "all"
            response = await client.post(action, headers={"origin": ORIGIN})
            assert response.status_code == 303, (action, response.text)
            location = response.headers["location"]
            assert location.startswith(f"{PREFIX}/ui/"), (action, location)
            assert (await client.get(location)).status_code == 200, location

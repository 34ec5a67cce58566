"""CSRF refusal, the Host check, basic auth, form redirects and security headers."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from jobplug import Broker
from jobplug.errors import ConfigurationError
from jobplug.ui.security import parse_auth

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://127.0.0.1:3000"},  # another local server: same site, other origin
        {"Origin": "null"},  # sandboxed iframe, data: URL
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"},
    ],
)
async def test_cross_site_posts_are_refused_and_change_nothing(
    memory_broker: Broker, fill_backend: Any, make_client: Any, headers: dict[str, str]
) -> None:
    await fill_backend(memory_broker, dead=2)
    async with make_client(memory_broker) as client:
        for path in ("/retry_all_dead_jobs", "/delete_all_dead_jobs"):
            response = await client.post(path, headers=headers)
            assert response.status_code == 403
            assert response.json() == {"error": "cross-site request refused"}
        assert (await client.get("/dead_jobs")).json()["count"] == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, scripts, gocraft tools: no browser headers at all
        {"Origin": "http://127.0.0.1:5040", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked by the user
    ],
)
async def test_same_origin_and_non_browser_posts_pass(
    memory_broker: Broker, fill_backend: Any, make_client: Any, headers: dict[str, str]
) -> None:
    await fill_backend(memory_broker, dead=2)
    async with make_client(memory_broker) as client:
        response = await client.post("/delete_all_dead_jobs", headers=headers)
        assert response.status_code == 200, response.text
        assert (await client.get("/dead_jobs")).json()["count"] == 0


async def test_host_check_stops_dns_rebinding(memory_broker: Broker, make_client: Any) -> None:
    async with make_client(memory_broker, allowed_hosts=LOOPBACK) as client:
        assert (await client.get("/queues")).status_code == 200
        assert (await client.get("/queues", headers={"Host": "localhost:5040"})).status_code == 200
        assert (await client.get("/queues", headers={"Host": "[::1]:5040"})).status_code == 200
        rebound = await client.get("/ui/queues", headers={"Host": "attacker.example:5040"})
        assert rebound.status_code == 400
        assert rebound.json() == {"error": "invalid Host header"}


async def test_basic_auth(memory_broker: Broker, make_client: Any) -> None:
    async with make_client(memory_broker, auth="admin:s3cret:with-colon") as client:
        anonymous = await client.get("/ui/queues")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Basic ")
        assert (await client.get("/queues", headers=basic("admin", "nope"))).status_code == 401
        assert (
            await client.get("/queues", headers=basic("root", "s3cret:with-colon"))
        ).status_code == 401
        broken = {"Authorization": "Basic !!!not-base64"}
        assert (await client.get("/queues", headers=broken)).status_code == 401
        good = basic("admin", "s3cret:with-colon")
        assert (await client.get("/queues", headers=good)).status_code == 200
        assert (await client.post("/delete_all_dead_jobs")).status_code == 401
        assert (await client.post("/delete_all_dead_jobs", headers=good)).status_code == 200


def test_parse_auth_rejects_malformed_values_without_echoing_them() -> None:
    assert parse_auth("u:p:q") == ("u", "p:q")
    for bad in ("nocolon-secret", ":pw-secret", "user:"):
        with pytest.raises(ConfigurationError) as info:
            parse_auth(bad)
        assert "secret" not in str(info.value)


async def test_security_headers_on_every_response(memory_broker: Broker, make_client: Any) -> None:
    async with make_client(memory_broker) as client:
        for path in ("/ui/queues", "/queues", "/static/app.js"):
            response = await client.get(path)
            assert response.status_code == 200
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
        refused = await client.post("/retry_all_dead_jobs", headers={"Origin": "http://x.example"})
        assert refused.headers["x-frame-options"] == "DENY"


async def test_form_posts_redirect_back_with_an_outcome(
    memory_broker: Broker, fill_backend: Any, make_client: Any
) -> None:
    await fill_backend(memory_broker, dead=1)
    async with make_client(memory_broker) as client:
        job = (await client.get("/dead_jobs")).json()["jobs"][0]
        path = f"/retry_dead_job/{job['died_at']}/{job['id']}"
        done = await client.post(path, params={"next": "/ui/dead?page=1"})
        assert done.status_code == 303
        assert done.headers["location"] == "/ui/dead?page=1&done=retried"
        gone = await client.post(path, params={"next": "/ui/dead"})
        assert gone.status_code == 303
        assert gone.headers["location"] == "/ui/dead?failed=not_found"
        page = await client.get(gone.headers["location"])
        assert "That job is no longer there" in page.text


@pytest.mark.parametrize(
    "target", ["//evil.example/ui/", "https://evil.example/", "/ui/..\\x", "/other", ""]
)
async def test_form_redirects_stay_on_the_dashboard(
    memory_broker: Broker, make_client: Any, target: str
) -> None:
    async with make_client(memory_broker) as client:
        response = await client.post("/retry_all_dead_jobs", params={"next": target})
        assert response.status_code == 200  # plain JSON answer, no redirect anywhere
        assert response.json()["status"] == "ok"


def assert_security_headers(response: Any) -> None:
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/delete_dead_job/99999999999999999999/x"),
        ("POST", "/retry_dead_job/99999999999999999999/x"),
        ("POST", "/delete_scheduled_job/99999999999999999999/x"),
        ("POST", "/delete_retry_job/99999999999999999999/x"),
        ("GET", "/dead_jobs?page=1e23"),
        ("GET", "/retry_jobs?page=100000000000000000000000"),
        ("GET", "/scheduled_jobs?page=inf"),
        ("GET", "/ui/dead?page=100000000000000000000000"),
        ("GET", "/ui/job/dead/1/x?page=1e23"),
    ],
)
async def test_out_of_range_parameters_are_400s_with_the_security_headers(
    backend: Broker, make_client: Any, method: str, path: str
) -> None:
    async with make_client(backend) as client:
        response = await client.request(method, path)
        assert response.status_code == 400, response.text
        assert "page must be" in response.text or "is not a time" in response.text
        assert_security_headers(response)


async def test_an_unhandled_error_is_a_500_that_keeps_the_security_headers(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from jobplug_memory import MemoryBroker

    class Buggy(MemoryBroker):
        def inspector(self) -> Any:
            raise RuntimeError("a bug in an adapter")

    async with make_client(Buggy()) as client:
        response = await client.get("/queues")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error; see the server log"}
    assert_security_headers(response)
    assert "a bug in an adapter" in caplog.text

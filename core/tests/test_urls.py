from jobplug.urls import query_options, redact, scheme_of


def test_redact_hides_passwords_in_any_url_in_a_text() -> None:
    text = "failed on redis://user:s3cret@h:6379/0 and amqps://guest:p%40ss@rabbit/vh"
    out = redact(text)
    assert "s3cret" not in out and "p%40ss" not in out
    assert "redis://user:***@h:6379/0" in out and "amqps://guest:***@rabbit/vh" in out


def test_redact_handles_password_only_and_query_secrets() -> None:
    assert redact("redis://:pw@localhost") == "redis://:***@localhost"
    assert redact("x://h/?password=pw&db=1") == "x://h/?password=***&db=1"
    assert redact("memory://") == "memory://"


def test_scheme_and_options() -> None:
    assert scheme_of("Redis+Cluster://h") == "redis+cluster"
    assert scheme_of("nonsense") == ""
    assert query_options("redis://h/0?namespace=app&x=1") == {"namespace": "app", "x": "1"}

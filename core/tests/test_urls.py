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


def test_redact_hides_a_password_that_holds_an_unencoded_at_sign() -> None:
    # urllib and redis-py split the user info at the last "@": the password is "p@ss:w@rd"
    out = redact("Redis at redis://admin:p@ss:w@rd@db.example:6379/0 unreachable ('x', 1)")
    assert out == "Redis at redis://admin:***@db.example:6379/0 unreachable ('x', 1)"
    assert (
        redact("'redis://:a@b@h/0', 'amqp://u:c@d@r/'") == "'redis://:***@h/0', 'amqp://u:***@r/'"
    )

"""Secrets in URLs never reach a log line."""

from __future__ import annotations

import logging

import pytest

from bot._redact import RedactingFilter, redact


def test_redact_tokens_keys_and_feed_links() -> None:
    """Telegram tokens, robot keys, access tokens and private feed tokens are replaced."""
    assert redact(
        'HTTP Request: POST https://api.telegram.org/bot123:ABC-def/sendMessage "HTTP/1.1 200 OK"'
    ) == ('HTTP Request: POST https://api.telegram.org/bot<token>/sendMessage "HTTP/1.1 200 OK"')
    assert redact("POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcd-1234 ok") == (
        "POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=<redacted> ok"
    )
    assert redact("GET /cgi-bin/message/send?access_token=T0K&debug=1") == (
        "GET /cgi-bin/message/send?access_token=<redacted>&debug=1"
    )
    assert redact('127.0.0.1:5000 - "GET /feeds/e/Zx9_secret-Token.ics HTTP/1.1" 200') == (
        '127.0.0.1:5000 - "GET /feeds/e/<token>.ics HTTP/1.1" 200'
    )
    assert redact("GET /feeds/all.ics") == "GET /feeds/all.ics"


def test_filter_rewrites_arguments(caplog: pytest.LogCaptureFixture) -> None:
    """A record whose arguments carry a token is logged without it (as httpx logs requests)."""
    logger = logging.getLogger("huiqi.test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="huiqi.test.redact"):
        logger.info("HTTP Request: %s %s", "POST", "https://x.test/bot999:SECRET/getMe")
    assert caplog.messages == ["HTTP Request: POST https://x.test/bot<token>/getMe"]
    assert "SECRET" not in caplog.text


def test_filter_hides_configured_secrets_in_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """A secret value inside an exception's text is hidden in the logged traceback too."""
    logger = logging.getLogger("huiqi.test.redact.tb")
    logger.addFilter(RedactingFilter(["corp-secret-value"]))
    with caplog.at_level(logging.ERROR, logger="huiqi.test.redact.tb"):
        try:
            raise RuntimeError("refused corp-secret-value")
        except RuntimeError:
            logger.exception("call failed with corp-secret-value")
    assert caplog.records[0].exc_text is not None
    assert "corp-secret-value" not in caplog.records[0].exc_text
    assert caplog.messages == ["call failed with <secret>"]

"""Log redaction: bot tokens, robot keys and private feed tokens never reach a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# /bot<token>/method (Telegram), ?key=<robot key> and access_token=<token> (WeCom), and
# /feeds/e/<token>.ics (a private calendar link is as good as a password).
PATTERNS = (
    (re.compile(r"/bot[^/\s]+/"), "/bot<token>/"),
    (re.compile(r"([?&](?:key|access_token|corpsecret)=)[^&#\s\"']+"), r"\1<redacted>"),
    (re.compile(r"/feeds/e/[^/\s\"'?]+\.ics"), "/feeds/e/<token>.ics"),
)


def redact(text: str) -> str:
    """`text` with every secret-bearing part of a URL replaced."""
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments included) and traceback without secrets:
    the URL patterns above, and every configured secret value wherever it appears."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({x for x in secrets if len(x) >= 4}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        """`text` without URL secrets and without any configured secret value."""
        for secret in self.secrets:
            text = text.replace(secret, "<secret>")
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


def install(secrets: Iterable[str] = ()) -> None:
    """Put the filter on the root logger's handlers, which every library's records reach."""
    flt = RedactingFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)

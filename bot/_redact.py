"""Log redaction: bot tokens, robot keys and private feed tokens never reach a log line."""

from __future__ import annotations

import logging
import re

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
    """Rewrites each record's message (arguments included) without its secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Put the filter on the root logger's handlers, which every library's records reach."""
    flt = RedactingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)

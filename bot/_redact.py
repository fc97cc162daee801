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


def install(logger_names: tuple[str, ...] = ("httpx", "uvicorn.access", "telegram", "")) -> None:
    """Put the filter on every handler of the root logger and on the chatty libraries' loggers."""
    flt = RedactingFilter()
    for name in logger_names:
        logging.getLogger(name).addFilter(flt)
    for handler in logging.getLogger().handlers:
        handler.addFilter(flt)

"""Fetching a notice from the address an officer gives: its text, for reading its dates.

The server makes this request, so it goes only to public web servers (not this machine or the
bureau's internal network, unless the deployment allows it), within a time and a size limit,
following at most a few redirects, each checked again.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import re
import socket
import urllib.parse
from html.parser import HTMLParser

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "section", "article"}


class FetchError(Exception):
    """The notice could not be fetched; the message says why, in Chinese."""


class _Text(HTMLParser):
    """The visible text of a page, a line per block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript") and self._skip:
            self._skip -= 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(markup: str) -> str:
    """The text of an HTML page, one line per paragraph."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = (re.sub(r"[ \u3000\xa0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


async def _public(host: str, allow_private: bool) -> None:
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(f"找不到网站 {host[:80]}：请检查网址") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not allow_private and not address.is_global:
            raise FetchError("该网址指向内部网络，不能由服务器获取：请直接粘贴通知全文")


async def fetch_notice(url: str, *, allow_private: bool = False) -> str:
    """The text of the page at `url` (HTML or plain text)."""
    current = url.strip()
    async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise FetchError("通知网址应以 http:// 或 https:// 开头")
            await _public(parts.hostname, allow_private)
            try:
                async with client.stream("GET", current) as response:
                    if response.is_redirect and "location" in response.headers:
                        current = urllib.parse.urljoin(current, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FetchError(
                            f"获取通知失败：网站答复 {response.status_code}，请直接粘贴通知全文"
                        )
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_BYTES:
                            raise FetchError("通知页面过大：请直接粘贴通知全文")
                    kind = response.headers.get("content-type", "")
                    text = _decode(bytes(body), response.encoding)
                    return page_text(text) if "html" in kind or "<" in text[:200] else text
            except httpx.TimeoutException:
                raise FetchError("获取通知超时：请稍后再试，或直接粘贴通知全文") from None
            except httpx.HTTPError:
                raise FetchError("无法连接该网站：请检查网址，或直接粘贴通知全文") from None
    raise FetchError("通知网址跳转次数过多：请直接粘贴通知全文")


def _decode(body: bytes, declared: str | None) -> str:
    for encoding in (declared, "utf-8", "gb18030"):
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace")

"""A channel that posts each message as JSON to an HTTP endpoint (a bridge or a bot gateway)."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from schedulers import OK, PERMANENT, RETRY_AFTER, TRANSIENT, Capabilities, SendResult

PERMANENT_STATUS = {400, 401, 403, 404, 410}


@dataclass
class WebhookChannel:
    """POSTs {"to", "text"} JSON; maps the answer to ok, retry-after, transient or permanent."""

    url: str
    client: httpx.AsyncClient
    name: str = "webhook"
    rate_per_second: float | None = None
    capabilities: Capabilities = field(default_factory=Capabilities)

    async def send(self, address: str, text: str) -> SendResult:
        try:
            response = await self.client.post(self.url, json={"to": address, "text": text})
        except httpx.TimeoutException as exc:
            return SendResult(TRANSIENT, detail=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return SendResult(TRANSIENT, detail=f"network: {type(exc).__name__}")
        if response.status_code == 429:
            return SendResult(
                RETRY_AFTER, retry_after=_retry_after(response), detail="429 Too Many Requests"
            )
        if response.status_code in PERMANENT_STATUS:
            return SendResult(PERMANENT, detail=f"{response.status_code} {response.reason_phrase}")
        if response.status_code >= 400:
            return SendResult(TRANSIENT, detail=f"{response.status_code} {response.reason_phrase}")
        return SendResult(OK)


def _retry_after(response: httpx.Response) -> float:
    header = response.headers.get("Retry-After", "")
    try:
        return max(float(header), 0.0)
    except ValueError:
        return 1.0

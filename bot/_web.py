"""The web app: health, and the catalog as JSON (pages and feeds come later)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot._views import policy_record
from schedulers import Catalog


def create_web_app(catalog: Catalog, *, today: Callable[[], dt.date]) -> Starlette:
    """The ASGI app over one loaded catalog; `today` gives the default day."""

    def day_of(request: Request) -> dt.date | Response:
        text = request.query_params.get("on")
        if text is None:
            return today()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return JSONResponse({"error": f"on={text!r}: expected a date YYYY-MM-DD"}, 400)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "policies": len(catalog.policies)})

    async def policies(request: Request) -> Response:
        on = day_of(request)
        if isinstance(on, Response):
            return on
        return JSONResponse([policy_record(p, on=on) for p in catalog.policies])

    async def policy(request: Request) -> Response:
        on = day_of(request)
        if isinstance(on, Response):
            return on
        found = catalog.get(request.path_params["policy_id"])
        if found is None:
            return JSONResponse({"error": "no such policy"}, 404)
        return JSONResponse(policy_record(found, on=on))

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/policies", policies),
            Route("/api/policies/{policy_id}", policy),
        ]
    )

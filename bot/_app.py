"""The one place where huiqi is wired together."""

from __future__ import annotations

import logging

import uvicorn
from starlette.applications import Starlette

from bot import _clock
from bot._settings import Settings
from bot._web import create_web_app
from schedulers import Catalog

log = logging.getLogger("huiqi")


def create_app(settings: Settings, catalog: Catalog) -> Starlette:
    """The ASGI app with everything the settings turn on."""
    return create_web_app(catalog, today=_clock.today)


def run(settings: Settings, catalog: Catalog, *, demo: bool = False) -> None:
    """Serve until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log.info(
        "%d policies, channels: %s, http://%s:%d%s",
        len(catalog.policies),
        ", ".join(settings.channels),
        settings.host,
        settings.port,
        " (demo)" if demo else "",
    )
    uvicorn.run(
        create_app(settings, catalog), host=settings.host, port=settings.port, log_level="info"
    )

"""The faces of huiqi: the command line, the web app, the chat bots, and their wiring."""

from bot._cli import main

__all__ = ["main"]

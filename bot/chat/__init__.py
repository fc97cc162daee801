"""The chat face: one service answers every channel's members, one module per feature."""

from bot.chat._talk import Button, Reply, Who, is_admin
from bot.chat.service import ChatService

__all__ = ["Button", "ChatService", "Reply", "Who", "is_admin"]

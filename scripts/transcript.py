"""Write docs/telegram-registration.md: a guided and a one-line registration, as the bot answers.

Usage: python scripts/transcript.py
Drives the chat service every channel uses (the Telegram bot sends exactly these texts, as
HTML) on a throwaway database at a fixed day, so the transcript is reproducible.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from bot._chat import ChatService, Reply, Who, strip_tags
from bot._service import World
from schedulers import SHANGHAI, load_catalog
from subscriptions import Store, load_size_standard, load_vocab

OUT = Path(__file__).resolve().parent.parent / "docs" / "telegram-registration.md"
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
STEPS: list[tuple[str, str]] = [
    ("text", "/start"),
    ("text", "/register"),
    ("text", "鄂州某光电科技有限公司"),
    ("button", "reg:sec:C"),
    ("button", "reg:div:C39"),
    ("text", "180"),
    ("text", "12000"),
    ("button", "reg:q:0"),
    ("button", "reg:q:3"),
    ("button", "reg:q:done"),
    ("button", "reg:d:3"),
    ("button", "reg:ok"),
    ("text", "/upcoming"),
    ("text", "/register 人数=320"),
]


def show(reply: Reply) -> str:
    """A reply as Markdown: its text, its buttons, and a note for a photo."""
    lines = [f"> {line}" if line else ">" for line in strip_tags(reply.text).split("\n")]
    if reply.photo:
        lines.insert(0, "> [二维码图片]")
    labels = [f"[{b.label}]" for row in reply.buttons for b in row]
    if labels:
        shown = labels if len(labels) <= 8 else [*labels[:8], f"…共{len(labels)}个按钮"]
        lines.append("> " + " ".join(shown))
    return "\n".join(lines)


def main() -> int:
    """Run the conversation and write the transcript."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'huiqi.db'}")
        world = World(load_catalog(), load_vocab(), load_size_standard())
        service = ChatService(
            world,
            store,
            clock=lambda: NOW,
            public_url="https://huiqi.example.cn",
            bot_username="huiqi_bot",
        )
        who = Who("telegram", "100", "100", "张三")
        out = [
            "# 登记对话示例（Telegram）",
            "",
            "由 `python scripts/transcript.py` 生成：2026-11-22，一家光电企业私聊登记。",
            "“用户”为企业发出的消息或点击的按钮，引用块为机器人的回复。",
            "",
        ]
        labels = {
            "reg:sec:C": "C 制造业",
            "reg:div:C39": "C39 计算机、通信和其他电子设备制造业",
            "reg:q:0": "高新技术企业",
            "reg:q:3": "省级专精特新中小企业",
            "reg:q:done": "完成",
            "reg:d:3": "葛店经开区",
            "reg:ok": "确认登记",
        }
        for kind, value in STEPS:
            replies = (
                service.handle_text(who, value)
                if kind == "text"
                else service.handle_button(who, value)
            )
            said = value if kind == "text" else f"（点击按钮）{labels.get(value, value)}"
            out.append(f"**用户**：{said}")
            out.append("")
            out.extend(show(r) + "\n" for r in replies)
        store.close()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(out).rstrip() + "\n", encoding="utf-8")
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())

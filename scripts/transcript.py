"""Write docs/telegram-registration.md and docs/wecom-registration.md: registrations as answered.

Usage: python scripts/transcript.py
Drives the chat service every channel uses on a throwaway database at a fixed day, so the
transcripts are reproducible: the Telegram bot sends exactly these texts (as HTML), the WeCom
app exactly these (as `bot._wecom.reply_text` writes them, in messages of at most 2,048 bytes).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

from bot._service import World
from bot._wecom import TEXT_BYTES, reply_text
from bot.chat import ChatService, Reply, Who
from schedulers import SHANGHAI, split_long, utf8_size
from schedulers.data import load_catalog
from subscriptions.data import load_size_standard, load_vocab
from subscriptions.store import Store

DOCS = Path(__file__).resolve().parent.parent / "docs"
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
WECOM_STEPS = [
    "帮助",
    "注册",
    "鄂州某光电科技有限公司",
    "光电子",
    "C39",
    "180人",
    "1.2亿",
    "1,4",
    "葛店经开区",
    "确认",
    "注册 名称=鄂州某光电科技有限公司 行业=光电子 人数=180 营收=12000",
    "注册 名称=鄂州某光电科技有限公司 行业=C39 人数=一百八十 营收=12000",
    "注册 名称=鄂州某光电科技有限公司 行业=C39 人数=180 营收=12000 "
    "资质=高新技术企业,省级专精特新中小企业 区域=葛店经开区",
    "近期",
    "政策 千名引硕",
    "日历",
    "提醒设置 屏蔽类别=税收优惠",
    "提醒设置 提前=7,3,1 时间=10:00",
    "注册 人数=320",
    "退订",
]


def show(reply: Reply) -> str:
    """A reply as Markdown: its text, its buttons, and a note for a photo."""
    lines = [f"> {line}" if line else ">" for line in reply.words.split("\n")]
    if reply.photo:
        lines.insert(0, "> [二维码图片]")
    labels = [f"[{b.label}]" for row in reply.buttons for b in row]
    if labels:
        shown = labels if len(labels) <= 8 else [*labels[:8], f"…共{len(labels)}个按钮"]
        lines.append("> " + " ".join(shown))
    return "\n".join(lines)


def service_on(store: Store, *, bot_username: str | None = None) -> ChatService:
    """The chat service at the transcript's fixed day."""
    world = World(load_catalog(), load_vocab(), load_size_standard())
    return ChatService(
        world,
        store,
        clock=lambda: NOW,
        public_url="https://huiqi.example.cn",
        bot_username=bot_username,
    )


def telegram(store: Store) -> list[str]:
    """A guided registration, the upcoming rounds and a correction, on Telegram."""
    service = service_on(store, bot_username="huiqi_bot")
    who = Who("telegram", "100", "100", "张三", buttons=True)
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
            service.handle_text(who, value) if kind == "text" else service.handle_button(who, value)
        )
        said = value if kind == "text" else f"（点击按钮）{labels.get(value, value)}"
        out.append(f"**用户**：{said}")
        out.append("")
        out.extend(show(r) + "\n" for r in replies)
    return out


def wecom(store: Store) -> list[str]:
    """A one-line registration and the everyday commands, in the WeCom app."""
    service = service_on(store)
    who = Who("wecom", "zhangsan", "zhangsan", "zhangsan")
    out = [
        "# 登记对话示例（企业微信）",
        "",
        "由 `python scripts/transcript.py` 生成：2026-11-22，一家光电企业在企业微信“惠企政策提醒”",
        "应用中登记。“成员”为发给应用的消息，引用块为应用发回的消息（每条不超过 2048 字节，",
        "较长的回答分几条发出）。",
        "",
    ]
    for text in WECOM_STEPS:
        out.append(f"**成员**：{text}")
        out.append("")
        for reply in service.handle_text(who, text):
            for part in split_long(reply_text(reply), TEXT_BYTES, utf8_size):
                out.append("\n".join(f"> {line}" if line else ">" for line in part.split("\n")))
                out.append("")
    return out


def main() -> int:
    """Run the conversations and write the transcripts."""
    DOCS.mkdir(exist_ok=True)
    for name, conversation in (("telegram", telegram), ("wecom", wecom)):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(f"sqlite:///{Path(tmp) / 'huiqi.db'}")
            lines = conversation(store)
            store.close()
        out = DOCS / f"{name}-registration.md"
        out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

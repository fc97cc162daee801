"""Settings: the one module that reads the environment (or a `.env` file).

Read once into a frozen value; secrets are wrapped so that `repr()` and logs never show them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

# Which keys make up a channel: all present turns it on, none leaves it off, some is an error.
CHANNELS: dict[str, tuple[str, ...]] = {
    "Telegram": ("HUIQI_TELEGRAM_TOKEN",),
    "WeCom": (
        "HUIQI_WECOM_CORP_ID",
        "HUIQI_WECOM_AGENT_ID",
        "HUIQI_WECOM_SECRET",
        "HUIQI_WECOM_TOKEN",
        "HUIQI_WECOM_AES_KEY",
    ),
    "WeChat": ("HUIQI_WECHAT_APP_ID", "HUIQI_WECHAT_APP_SECRET", "HUIQI_WECHAT_TOKEN"),
    "E-mail": ("HUIQI_SMTP_HOST", "HUIQI_SMTP_FROM"),
    "the SMTP login": ("HUIQI_SMTP_USER", "HUIQI_SMTP_PASSWORD"),
}
SMTP_TLS = {"starttls": 587, "tls": 465, "none": 25}  # each mode and its usual port
# The official account's template: what each value of a reminder is called.
TEMPLATE_SOURCES = (
    "title",  # the first line: 【申报开始】企业“千名引硕工程”人才生活补贴
    "kind",  # 申报开始, 还有3天截止（12月25日）, 日期变更 ...
    "policy",  # the policy's name
    "time",  # 2026-12-01 至 2026-12-25（已确认）
    "deadline",  # 2026-12-25
    "benefit",  # 最高3000元（每人每月）...
    "contact",  # 承办 department and phone
    "remark",  # how to see more and answer
    "text",  # the rest of the reminder
)
DEFAULT_TEMPLATE_FIELDS = "first=title,keyword1=policy,keyword2=time,keyword3=contact,remark=remark"
MODES = ("template", "subscribe")  # 模板消息 (message/template/send), 订阅通知 (subscribe/bizsend)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the key and what is accepted."""


class Secret:
    """A string that never shows itself in `repr()` or `str()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# Whom an enterprise calls when a policy's documents give no number: the bureau's own line.
DEFAULT_HOTLINE = "市经信局产业政策科 027-60830428"
PHONE = re.compile(r"\d{3,4}-?\d{7,8}|1\d{10}|\b\d{5}\b")


@dataclass(frozen=True)
class Settings:
    """Everything huiqi is configured with."""

    database_url: str = "sqlite:///var/huiqi.db"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    admins: tuple[str, ...] = ()
    telegram_token: Secret | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_secret: Secret | None = None
    wecom_corp_id: str | None = None
    wecom_agent_id: str | None = None
    wecom_secret: Secret | None = None
    wecom_token: Secret | None = None
    wecom_aes_key: Secret | None = None
    wecom_api_url: str = "https://qyapi.weixin.qq.com"
    wecom_robot_webhooks: tuple[Secret, ...] = field(default=())
    hotline: str = DEFAULT_HOTLINE  # named in reminders of policies without a phone number
    wechat_app_id: str | None = None
    wechat_app_secret: Secret | None = None
    wechat_token: Secret | None = None
    wechat_aes_key: Secret | None = None  # set: safe mode (encrypted callbacks)
    wechat_api_url: str = "https://api.weixin.qq.com"
    wechat_template_id: str | None = None  # unset: reminders as customer-service messages
    wechat_template_fields: tuple[tuple[str, str], ...] = ()
    wechat_send_mode: str = "template"
    wechat_daily_quota: int = 100_000
    wechat_qr_url: str | None = None  # the account's QR code image, shown on the web pages
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_user: str | None = None
    smtp_password: Secret | None = None
    smtp_from: str | None = None  # the From header of every e-mail

    @property
    def base_url(self) -> str:
        """Where users reach the web app: HUIQI_PUBLIC_URL, or the local address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def secret_values(self) -> list[str]:
        """Every secret value, and each robot URL's key, for the log filter to hide."""
        singles = (
            self.telegram_token,
            self.telegram_webhook_secret,
            self.wecom_secret,
            self.wecom_token,
            self.wecom_aes_key,
            self.wechat_app_secret,
            self.wechat_token,
            self.wechat_aes_key,
            self.smtp_password,
        )
        values = [x.reveal() for x in singles if x is not None]
        for robot in self.wecom_robot_webhooks:
            url = robot.reveal()
            values += [url, *re.findall(r"[?&]key=([^&#]+)", url)]
        return values

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from a mapping of HUIQI_* variables; raise SettingsError if malformed."""
        values = {k: v.strip() for k, v in env.items() if k.startswith("HUIQI_") and v.strip()}
        for channel, keys in CHANNELS.items():
            present = [k for k in keys if k in values]
            if present and len(present) < len(keys):
                missing = ", ".join(k for k in keys if k not in values)
                raise SettingsError(f"{channel} is half configured: missing {missing}")
        port_text = values.get("HUIQI_PORT", "8080")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SettingsError(f"HUIQI_PORT={port_text!r}: expected a port number 1-65535")

        _check_wecom(values)
        template_fields, send_mode, daily_quota = _check_wechat(values)
        smtp_tls, smtp_port = _check_smtp(values)
        hotline = values.get("HUIQI_HOTLINE", cls.hotline)
        if not PHONE.search(hotline) or len(hotline) > 60:
            raise SettingsError(
                f"HUIQI_HOTLINE={hotline!r}: expected who answers and a phone number (at most "
                "60 characters), e.g. 市经信局产业政策科 027-60830428"
            )
        _check_admins(values.get("HUIQI_ADMINS", ""))

        def secret(key: str) -> Secret | None:
            return Secret(values[key]) if key in values else None

        def listed(key: str) -> tuple[str, ...]:
            return tuple(x.strip() for x in values.get(key, "").split(",") if x.strip())

        return cls(
            hotline=hotline,
            database_url=values.get("HUIQI_DATABASE_URL", cls.database_url),
            host=values.get("HUIQI_HOST", cls.host),
            port=int(port_text),
            public_url=values.get("HUIQI_PUBLIC_URL"),
            admins=listed("HUIQI_ADMINS"),
            telegram_token=secret("HUIQI_TELEGRAM_TOKEN"),
            telegram_api_url=values.get("HUIQI_TELEGRAM_API_URL", cls.telegram_api_url),
            telegram_webhook_secret=secret("HUIQI_TELEGRAM_WEBHOOK_SECRET"),
            wecom_corp_id=values.get("HUIQI_WECOM_CORP_ID"),
            wecom_agent_id=values.get("HUIQI_WECOM_AGENT_ID"),
            wecom_secret=secret("HUIQI_WECOM_SECRET"),
            wecom_token=secret("HUIQI_WECOM_TOKEN"),
            wecom_aes_key=secret("HUIQI_WECOM_AES_KEY"),
            wecom_api_url=values.get("HUIQI_WECOM_API_URL", cls.wecom_api_url),
            wecom_robot_webhooks=tuple(Secret(u) for u in listed("HUIQI_WECOM_ROBOT_WEBHOOK")),
            wechat_app_id=values.get("HUIQI_WECHAT_APP_ID"),
            wechat_app_secret=secret("HUIQI_WECHAT_APP_SECRET"),
            wechat_token=secret("HUIQI_WECHAT_TOKEN"),
            wechat_aes_key=secret("HUIQI_WECHAT_AES_KEY"),
            wechat_api_url=values.get("HUIQI_WECHAT_API_URL", cls.wechat_api_url),
            wechat_template_id=values.get("HUIQI_WECHAT_TEMPLATE_ID"),
            wechat_qr_url=values.get("HUIQI_WECHAT_QR_URL"),
            wechat_template_fields=template_fields,
            wechat_send_mode=send_mode,
            wechat_daily_quota=daily_quota,
            smtp_host=values.get("HUIQI_SMTP_HOST"),
            smtp_port=smtp_port,
            smtp_tls=smtp_tls,
            smtp_user=values.get("HUIQI_SMTP_USER"),
            smtp_password=secret("HUIQI_SMTP_PASSWORD"),
            smtp_from=values.get("HUIQI_SMTP_FROM"),
        )

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels that are on; the console is always on."""
        on = ["console"]
        if self.telegram_token:
            on.append("telegram")
        if self.wecom_secret:
            on.append("wecom")
        if self.wechat_app_secret:
            on.append("wechat")
        if self.smtp_host:
            on.append("email")
        return tuple(on)


def _check_admins(text: str) -> None:
    """Each admin names its channel: a bare id could be a Telegram user and a WeCom member."""
    for entry in (x.strip() for x in text.split(",")):
        if entry and not re.fullmatch(
            r"tg:\d+|wecom:[A-Za-z0-9_.@-]{1,64}|wechat:[A-Za-z0-9_-]{20,64}", entry
        ):
            raise SettingsError(
                f"HUIQI_ADMINS entry {entry!r}: expected tg:<Telegram user id> (digits), "
                "wecom:<WeCom userid> or wechat:<the follower's OpenID>, comma-separated, "
                "e.g. tg:12345678,wecom:zhangsan,wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
            )


def _check_wecom(values: Mapping[str, str]) -> None:
    """WeCom values in the shapes its admin console gives; the message never shows a secret."""
    aes = values.get("HUIQI_WECOM_AES_KEY")
    if aes is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", aes):
        raise SettingsError(
            f"HUIQI_WECOM_AES_KEY: expected the 43-letter EncodingAESKey from the app's "
            f"接收消息 settings (letters and digits), got {len(aes)} characters"
        )
    token = values.get("HUIQI_WECOM_TOKEN")
    if token is not None and not re.fullmatch(r"[A-Za-z0-9]{1,32}", token):
        raise SettingsError(
            f"HUIQI_WECOM_TOKEN: expected the app's callback Token (1-32 letters and digits), "
            f"got {len(token)} characters"
        )
    agent = values.get("HUIQI_WECOM_AGENT_ID")
    if agent is not None and not agent.isdigit():
        raise SettingsError(f"HUIQI_WECOM_AGENT_ID={agent!r}: expected the app's numeric AgentId")
    robots = [x.strip() for x in values.get("HUIQI_WECOM_ROBOT_WEBHOOK", "").split(",")]
    for number, robot in enumerate((r for r in robots if r), start=1):
        if not re.match(r"https?://[^/?#]+/\S*[?&]key=[^&#]+", robot):
            raise SettingsError(
                f"HUIQI_WECOM_ROBOT_WEBHOOK entry {number}: expected the robot's webhook address, "
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..., optionally followed "
                "by #category+category"
            )


def _check_wechat(values: Mapping[str, str]) -> tuple[tuple[tuple[str, str], ...], str, int]:
    """The official account's values in the shapes its 公众平台 pages give; the parsed
    template fields, send mode and quota. No message shows a secret."""
    app_id = values.get("HUIQI_WECHAT_APP_ID")
    if app_id is not None and not re.fullmatch(r"wx[0-9a-f]{16}", app_id):
        raise SettingsError(
            f"HUIQI_WECHAT_APP_ID={app_id!r}: expected the account's AppID (wx and 16 hex "
            "digits, 设置与开发 > 基本配置)"
        )
    token = values.get("HUIQI_WECHAT_TOKEN")
    if token is not None and not re.fullmatch(r"[A-Za-z0-9]{3,32}", token):
        raise SettingsError(
            f"HUIQI_WECHAT_TOKEN: expected the server Token (3-32 letters and digits), got "
            f"{len(token)} characters"
        )
    aes = values.get("HUIQI_WECHAT_AES_KEY")
    if aes is not None and not re.fullmatch(r"[A-Za-z0-9]{43}", aes):
        raise SettingsError(
            f"HUIQI_WECHAT_AES_KEY: expected the 43-letter EncodingAESKey (letters and digits), "
            f"got {len(aes)} characters"
        )
    template = values.get("HUIQI_WECHAT_TEMPLATE_ID")
    if template is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", template):
        raise SettingsError(
            f"HUIQI_WECHAT_TEMPLATE_ID={template!r}: expected the template's ID from 模板消息 "
            "(or 订阅通知) > 我的模板"
        )
    fields = values.get("HUIQI_WECHAT_TEMPLATE_FIELDS", DEFAULT_TEMPLATE_FIELDS)
    pairs = []
    for entry in (x.strip() for x in fields.split(",") if x.strip()):
        name, sep, source = (part.strip() for part in entry.partition("="))
        if (
            not sep
            or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,31}", name)
            or (source not in TEMPLATE_SOURCES)
        ):
            raise SettingsError(
                f"HUIQI_WECHAT_TEMPLATE_FIELDS entry {entry!r}: expected field=source, the "
                f"source one of {', '.join(TEMPLATE_SOURCES)}; e.g. {DEFAULT_TEMPLATE_FIELDS}"
            )
        pairs.append((name, source))
    if not pairs:
        raise SettingsError(f"HUIQI_WECHAT_TEMPLATE_FIELDS: empty; e.g. {DEFAULT_TEMPLATE_FIELDS}")
    mode = values.get("HUIQI_WECHAT_SEND_MODE", "template")
    if mode not in MODES:
        raise SettingsError(
            f"HUIQI_WECHAT_SEND_MODE={mode!r}: expected template (模板消息) or subscribe (订阅通知)"
        )
    quota = values.get("HUIQI_WECHAT_DAILY_QUOTA", "100000")
    if not quota.isdigit() or int(quota) < 1:
        raise SettingsError(
            f"HUIQI_WECHAT_DAILY_QUOTA={quota!r}: expected the account's daily message quota, "
            "a whole number such as 100000"
        )
    return tuple(pairs), mode, int(quota)


def _check_smtp(values: Mapping[str, str]) -> tuple[str, int]:
    """The SMTP TLS mode and port (the mode's usual port unless given); the From address."""
    tls = values.get("HUIQI_SMTP_TLS", "starttls").lower()
    if tls not in SMTP_TLS:
        raise SettingsError(
            f"HUIQI_SMTP_TLS={tls!r}: expected starttls (port 587), tls (port 465) or none "
            "(port 25, a relay on the local network only)"
        )
    port = values.get("HUIQI_SMTP_PORT", str(SMTP_TLS[tls]))
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"HUIQI_SMTP_PORT={port!r}: expected a port number such as 587")
    sender = values.get("HUIQI_SMTP_FROM")
    if sender is not None and not re.fullmatch(
        r"[^\r\n<>]*<[^@\s<>]+@[^@\s<>]+>|[^@\s<>]+@[^@\s<>]+", sender
    ):
        raise SettingsError(
            f"HUIQI_SMTP_FROM={sender!r}: expected an address, optionally with a name, e.g. "
            "鄂州市经信局惠企政策提醒 <noreply@example.cn>"
        )
    return tls, int(port)


def load(dotenv: Path = Path(".env")) -> Settings:
    """Read the process environment, over a `.env` file when there is one."""
    merged: dict[str, str] = {}
    if dotenv.is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    merged.update(os.environ)
    return Settings.from_env(merged)

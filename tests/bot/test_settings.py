"""Settings come from a mapping once; secrets never show; half a channel stops start-up."""

from __future__ import annotations

import pytest

from bot._settings import Secret, Settings, SettingsError


def test_defaults_with_nothing_configured() -> None:
    """With no variables: SQLite under var/, port 8080, only the console channel."""
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/huiqi.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.channels == ("console",)


def test_secrets_never_in_repr() -> None:
    """The token's value appears in neither repr nor str of the settings."""
    settings = Settings.from_env({"HUIQI_TELEGRAM_TOKEN": "123456:SECRET-TOKEN"})
    assert "SECRET-TOKEN" not in repr(settings)
    assert "SECRET-TOKEN" not in str(settings)
    assert settings.telegram_token == Secret("123456:SECRET-TOKEN")
    assert settings.channels == ("console", "telegram")


def test_half_configured_wecom_names_missing_keys() -> None:
    """A WeCom app with only a corp id names every missing key."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"HUIQI_WECOM_CORP_ID": "ww123"})
    assert str(info.value) == (
        "WeCom is half configured: missing HUIQI_WECOM_AGENT_ID, HUIQI_WECOM_SECRET, "
        "HUIQI_WECOM_TOKEN, HUIQI_WECOM_AES_KEY"
    )


def test_bad_port_is_explained() -> None:
    """A port that is not a number says what is accepted."""
    with pytest.raises(SettingsError, match="expected a port number 1-65535"):
        Settings.from_env({"HUIQI_PORT": "http"})


def test_lists_are_split_on_commas() -> None:
    """HUIQI_ADMINS takes a comma-separated list."""
    assert Settings.from_env({"HUIQI_ADMINS": "tg:1, wecom:lisi ,"}).admins == (
        "tg:1",
        "wecom:lisi",
    )


@pytest.mark.parametrize("entry", ["12345678", "telegram:1", "tg:abc", "wecom:", "wecom:a b"])
def test_every_admin_names_its_channel(entry: str) -> None:
    """A bare id could be a Telegram user and a WeCom member at once: refused, with the form."""
    with pytest.raises(SettingsError, match="expected tg:<Telegram user id>"):
        Settings.from_env({"HUIQI_ADMINS": f"tg:1,{entry}"})


WECOM = {
    "HUIQI_WECOM_CORP_ID": "ww1234567890abcdef",
    "HUIQI_WECOM_AGENT_ID": "1000002",
    "HUIQI_WECOM_SECRET": "APP-SECRET-VALUE",
    "HUIQI_WECOM_TOKEN": "QDG6eK",
    "HUIQI_WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
}


def test_wecom_values_checked_without_showing_secrets() -> None:
    """A mistyped AES key, token, agent id or robot address is named; no secret is echoed."""
    settings = Settings.from_env(WECOM)
    assert settings.channels == ("console", "wecom")
    assert "APP-SECRET-VALUE" not in repr(settings)
    for key, value, expected in (
        ("HUIQI_WECOM_AES_KEY", "tooShortKey", "expected the 43-letter EncodingAESKey"),
        ("HUIQI_WECOM_TOKEN", "has space", "expected the app's callback Token"),
        ("HUIQI_WECOM_AGENT_ID", "app", "expected the app's numeric AgentId"),
        ("HUIQI_WECOM_ROBOT_WEBHOOK", "qyapi/send?key=SECRET1", "entry 1: expected the robot"),
    ):
        with pytest.raises(SettingsError, match=expected) as info:
            Settings.from_env({**WECOM, key: value})
        assert value not in str(info.value) or key == "HUIQI_WECOM_AGENT_ID"
    robots = Settings.from_env(
        {"HUIQI_WECOM_ROBOT_WEBHOOK": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1#tax"}
    )
    assert len(robots.wecom_robot_webhooks) == 1
    assert "K1" not in repr(robots)


def test_hotline_needs_a_phone_number() -> None:
    """HUIQI_HOTLINE names who answers and a number; without a number it is refused."""
    assert Settings.from_env({}).hotline == "市经信局产业政策科 027-60830428"
    assert Settings.from_env({"HUIQI_HOTLINE": "葛店经发局 027-12345678"}).hotline == (
        "葛店经发局 027-12345678"
    )
    with pytest.raises(SettingsError, match="expected who answers and a phone number"):
        Settings.from_env({"HUIQI_HOTLINE": "市经信局"})

"""The console's accounts, sessions, throttling counts, signing key and audit log, on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from subscriptions.store import Store
from subscriptions.store.console import UserExists

NOW = dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.UTC)
IDLE, LIFE = dt.timedelta(hours=2), dt.timedelta(hours=12)


def test_accounts_roles_and_their_hash_kept_out_of_repr(store: Store) -> None:
    made = store.console.add_user("wang", "editor", "$argon2id$secret-hash", now=NOW)
    assert "argon2" not in repr(made)
    assert "secret" not in repr(made)
    assert made.may("viewer")
    assert made.may("editor")
    assert not made.may("admin")
    with pytest.raises(UserExists):
        store.console.add_user("wang", "admin", "x", now=NOW)
    with pytest.raises(ValueError, match="role"):
        store.console.add_user("li", "boss", "x", now=NOW)
    assert [u.name for u in store.console.users()] == ["wang"]
    changed = store.console.update_user("wang", role="admin", now=NOW)
    assert changed is not None
    assert (changed[0].role, changed[1].role) == ("editor", "admin")
    assert store.console.update_user("nobody", role="admin", now=NOW) is None


def test_a_session_lives_while_used_and_ends_with_a_new_password(store: Store) -> None:
    user = store.console.add_user("zhao", "viewer", "h1", now=NOW)
    token = store.console.open_session(user.id, now=NOW)
    seen = store.console.session_user(
        token, now=NOW + dt.timedelta(hours=1), idle=IDLE, lifetime=LIFE
    )
    assert seen is not None
    assert seen.name == "zhao"
    # Used an hour ago: still alive 1h59 later; 12 hours after sign-in it is over regardless.
    later = NOW + dt.timedelta(hours=2, minutes=59)
    assert store.console.session_user(token, now=later, idle=IDLE, lifetime=LIFE) is not None
    end = NOW + dt.timedelta(hours=12, minutes=1)
    assert store.console.session_user(token, now=end, idle=IDLE, lifetime=LIFE) is None
    assert store.console.session_user(token, now=NOW, idle=IDLE, lifetime=LIFE) is None, "deleted"

    again = store.console.open_session(user.id, now=NOW)
    store.console.update_user("zhao", now=NOW, password_hash="h2")  # noqa: S106 (a stand-in hash)
    assert store.console.session_user(again, now=NOW, idle=IDLE, lifetime=LIFE) is None
    third = store.console.open_session(user.id, now=NOW)
    store.console.update_user("zhao", active=False, now=NOW)
    assert store.console.session_user(third, now=NOW, idle=IDLE, lifetime=LIFE) is None
    assert store.console.session_user("", now=NOW, idle=IDLE, lifetime=LIFE) is None


def test_sign_out_ends_only_that_session(store: Store) -> None:
    user = store.console.add_user("qian", "admin", "h", now=NOW)
    one, two = (store.console.open_session(user.id, now=NOW) for _ in range(2))
    assert one != two
    store.console.close_session(one)
    assert store.console.session_user(one, now=NOW, idle=IDLE, lifetime=LIFE) is None
    assert store.console.session_user(two, now=NOW, idle=IDLE, lifetime=LIFE) is not None


def test_failures_are_counted_per_key_and_forgotten(store: Store) -> None:
    keep = dt.timedelta(minutes=15)
    for minute in range(4):
        store.console.failed(
            ["user:sun", "ip:10.0.0.1"], now=NOW + dt.timedelta(minutes=minute), keep=keep
        )
    assert store.console.failures("user:sun", since=NOW) == 4
    assert store.console.failures("user:sun", since=NOW + dt.timedelta(minutes=2)) == 2
    assert store.console.failures("ip:10.0.0.2", since=NOW) == 0
    store.console.forget_failures("user:sun")
    assert store.console.failures("user:sun", since=NOW) == 0
    assert store.console.failures("ip:10.0.0.1", since=NOW) == 4
    store.console.failed(["ip:10.0.0.9"], now=NOW + dt.timedelta(hours=1), keep=keep)
    assert store.console.failures("ip:10.0.0.1", since=NOW) == 0, "old failures are dropped"


def test_the_signing_key_is_made_once(store: Store) -> None:
    key = store.console.key("cookie", now=NOW)
    assert len(key) == 64
    assert store.console.key("cookie", now=NOW) == key
    assert store.console.key("other", now=NOW) != key


def test_the_audit_log_newest_first_with_before_and_after(store: Store) -> None:
    for n in range(5):
        store.console.record(
            "wang",
            "round.add",
            f"p#{n}",
            now=NOW + dt.timedelta(minutes=n),
            before=None if n == 0 else {"close": "2026-12-20"},
            after={"close": "2026-12-25"},
        )
    lines = store.console.audit(limit=3)
    assert [e.target for e in lines] == ["p#4", "p#3", "p#2"]
    assert (lines[0].before, lines[0].after) == ({"close": "2026-12-20"}, {"close": "2026-12-25"})
    older = store.console.audit(limit=3, before_id=lines[-1].id)
    assert [e.target for e in older] == ["p#1", "p#0"]
    assert older[-1].before is None

"""Who may use the console: Argon2 passwords, signed session cookies, CSRF tokens, sign-in
throttling and roles.

A session cookie carries a random token signed with the console's key (kept in the database,
shared by every process); the database keeps only the token's digest, so signing out, a new
password or a disabled account ends the session everywhere. Every form carries a CSRF token
derived from the session (or, on the sign-in page, from a pre-session cookie), and a request
whose Origin is another site is refused before its form is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from subscriptions.store import Store
from subscriptions.store.console import StaffUser

COOKIE = "huiqi_console"
LOGIN_COOKIE = "huiqi_console_login"
PATH = "/admin"
IDLE = dt.timedelta(hours=2)
LIFETIME = dt.timedelta(hours=12)
THROTTLE_WINDOW = dt.timedelta(minutes=15)
PER_ACCOUNT = 5  # failed sign-ins of one account within the window before it waits
PER_ADDRESS = 20  # failed sign-ins from one client address within the window
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # Argon2 takes any length; a megabyte "password" is someone probing
ROLE_NAMES = {"viewer": "查看员", "editor": "编辑", "admin": "管理员"}

_hasher = PasswordHasher()
# Checked when the account does not exist, so that a wrong name costs what a wrong password does.
_DUMMY = _hasher.hash(secrets.token_hex(16))


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, in Chinese (None: it will do)."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符"
    if len(password) > MAX_PASSWORD:
        return f"密码至多 {MAX_PASSWORD} 个字符"
    if len(set(password)) < 4:
        return "密码过于简单（至少用 4 个不同的字符）"
    return None


def hash_password(password: str) -> str:
    """The Argon2id hash kept for a password."""
    return _hasher.hash(password)


def check_password(user: StaffUser | None, password: str) -> bool:
    """Whether `password` is the account's; as slow for an unknown account as for a known one."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(user: StaffUser) -> bool:
    """Whether the account's hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(user.password_hash)
    except InvalidHashError:
        return False


@dataclass(frozen=True)
class Signed:
    """Who is signed in on this request, and the token its forms must carry."""

    user: StaffUser
    token: str
    csrf: str


class Guard:
    """Sessions, CSRF and throttling of the console, over the store's records."""

    def __init__(
        self,
        store: Callable[[], Store | None],
        clock: Callable[[], dt.datetime],
        public_url: str | None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._public = urllib.parse.urlsplit(public_url) if public_url else None
        self._key: str | None = None

    def __repr__(self) -> str:  # the signing key stays out of logs
        return "Guard()"

    def key(self) -> str:
        if self._key is None:
            opened = self._store()
            if opened is None:
                raise RuntimeError("the store is not open yet")
            self._key = opened.console.key("cookie", now=self._clock())
        return self._key

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.key(), salt="huiqi-console-session")

    def csrf_for(self, token: str) -> str:
        return hmac.new(self.key().encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()

    def signed_in(self, request: Request) -> Signed | None:
        """The live session of this request, if any."""
        opened = self._store()
        raw = request.cookies.get(COOKIE)
        if opened is None or not raw or len(raw) > 400:
            return None
        try:
            token = self._serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
        except BadSignature:
            return None
        if not isinstance(token, str):
            return None
        user = opened.console.session_user(token, now=self._clock(), idle=IDLE, lifetime=LIFETIME)
        if user is None:
            return None
        return Signed(user, token, self.csrf_for(token))

    def start(self, response: Response, request: Request, user: StaffUser) -> None:
        """Open a new session (a fresh token: no fixation) and set its cookie."""
        opened = self._store()
        if opened is None:
            raise RuntimeError("the store is not open yet")
        token = opened.console.open_session(user.id, now=self._clock())
        response.set_cookie(
            COOKIE,
            self._serializer().dumps(token),
            max_age=int(LIFETIME.total_seconds()),
            path=PATH,
            secure=self.https(request),
            httponly=True,
            samesite="strict",
        )
        response.delete_cookie(LOGIN_COOKIE, path=PATH)

    def end(self, response: Response, signed: Signed) -> None:
        opened = self._store()
        if opened is not None:
            opened.console.close_session(signed.token)
        response.delete_cookie(COOKIE, path=PATH)

    def https(self, request: Request) -> bool:
        scheme = self._public.scheme if self._public else request.url.scheme
        return scheme == "https"

    # The sign-in form has no session yet: its token comes from a cookie of its own.
    def login_nonce(self, request: Request) -> tuple[str, bool]:
        """(the pre-session nonce, whether it is new and must be set as a cookie)."""
        found = request.cookies.get(LOGIN_COOKIE, "")
        if 20 <= len(found) <= 64 and found.isascii():
            return found, False
        return secrets.token_urlsafe(24), True

    def set_login_nonce(self, response: Response, request: Request, nonce: str) -> None:
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            path=PATH,
            secure=self.https(request),
            httponly=True,
            samesite="strict",
        )

    def same_origin(self, request: Request) -> bool:
        """Whether a form post comes from the console's own pages (Origin, else Referer)."""
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin or origin == "null":
            # Browsers send Origin on every cross-site POST; without one this is no browser's
            # cross-site form, and the CSRF token still has to match.
            return origin is None
        parts = urllib.parse.urlsplit(origin)
        if self._public is not None:
            return (parts.scheme, parts.netloc) == (self._public.scheme, self._public.netloc)
        return parts.netloc == request.headers.get("host", "")

    @staticmethod
    def token_ok(given: object, expected: str) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())

    def throttled(self, name: str, address: str) -> bool:
        """Whether sign-ins for this account or from this address must wait."""
        opened = self._store()
        if opened is None:
            return True
        since = self._clock() - THROTTLE_WINDOW
        return (
            opened.console.failures(f"user:{name}", since=since) >= PER_ACCOUNT
            or opened.console.failures(f"ip:{address}", since=since) >= PER_ADDRESS
        )

    def failed(self, name: str, address: str) -> None:
        opened = self._store()
        if opened is not None:
            opened.console.failed(
                [f"user:{name}", f"ip:{address}"], now=self._clock(), keep=THROTTLE_WINDOW
            )

    def succeeded(self, name: str) -> None:
        opened = self._store()
        if opened is not None:
            opened.console.forget_failures(f"user:{name}")


def role_name(role: str) -> str:
    """A role as the console's pages name it."""
    return ROLE_NAMES.get(role, role)

"""Who may use a dashboard served to other machines: an access token on every request.

``canapy dash --allow-remote`` serves the dashboard with :func:`token_auth_provider`: every
page and WebSocket request must carry the token, as ``?token=...`` in the address (the
page then keeps it in a same-site cookie) or as that cookie; anything else gets
``403 Forbidden``. Together with an explicit WebSocket origin list this keeps other web
pages and other users of the network from driving the dashboard (exports included).

Examples
--------
>>> len(new_token()) >= 32
True
>>> token_matches("abc", "abc"), token_matches("abd", "abc"), token_matches(None, "abc")
(True, False, False)
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

__all__ = ["COOKIE", "FORBIDDEN_URL", "new_token", "token_auth_provider", "token_matches"]

COOKIE = "canapy_token"
"""Name of the cookie that carries the token after the first page."""

FORBIDDEN_URL = "/canapy-forbidden"
"""Where requests without the token are sent (answers 403)."""


def new_token() -> str:
    """A fresh random access token (URL-safe, 256 bits)."""
    return secrets.token_urlsafe(32)


def token_matches(given: str | None, token: str) -> bool:
    """Whether ``given`` is ``token`` (compared in constant time)."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def token_auth_provider(token: str) -> Any:
    """A Bokeh ``AuthProvider`` admitting only requests that carry ``token``."""
    from bokeh.server.auth_provider import AuthProvider
    from tornado.web import HTTPError, RequestHandler

    class Forbidden(RequestHandler):
        def get(self) -> None:
            raise HTTPError(403, "this dashboard needs its access token (?token=...)")

    def get_user(handler: RequestHandler) -> str | None:
        given = handler.get_argument("token", None)
        if token_matches(given, token):
            handler.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
            return "canapy"
        if token_matches(handler.get_cookie(COOKIE), token):
            return "canapy"
        return None

    class TokenAuth(AuthProvider):
        @property
        def get_user(self) -> Any:
            return get_user

        @property
        def login_url(self) -> str:
            return FORBIDDEN_URL

        @property
        def login_handler(self) -> Any:
            return Forbidden

    return TokenAuth()

"""Keep passwords out of anything the course prints.

A Redis URL can carry a password (``redis://alice:s3cret@host/0`` or ``?password=s3cret``).
Learners paste doctor output into chat rooms and bug reports, so every URL the course shows,
and every error message that might quote one, goes through :func:`redact_secrets` first.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# [scheme://]user:password@ : with or without a scheme, since a malformed URL is quoted in its
# error message too. The password runs to the last "@" of the token: over-masking is safe.
_USERINFO = re.compile(
    r"(?P<head>(?:\b[a-z][a-z0-9+.-]*://)?[^:@/\s'\"]*:)(?P<password>[^\s'\"]*)@", re.IGNORECASE
)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&\s'\"]*)", re.IGNORECASE)


def redact_url(url: str | None) -> str | None:
    """``url`` with its password (in the user part or the query) replaced by ``***``."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            return redact_secrets(url)  # not a URL the course accepts: mask by pattern
        netloc = parts.netloc
        if parts.password is not None:
            user = parts.username or ""
            netloc = f"{user}:{MASK}@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode(
                [(key, MASK if key.lower() == "password" else value) for key, value in pairs],
                safe="*/",
            )
        return redact_secrets(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))
    except ValueError:  # not parseable as a URL: fall back to the pattern-based masking
        return redact_secrets(url)


def redact_secrets(text) -> str:
    """``text`` (any message) with the password of every Redis URL in it masked."""
    text = str(text)
    text = _USERINFO.sub(lambda match: f"{match['head']}{MASK}@", text)
    return _QUERY_PASSWORD.sub(lambda match: f"{match['head']}{MASK}", text)

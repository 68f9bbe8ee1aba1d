"""The OK REST request signature (platforms.md §2.2): pure, so the test vectors pin it down."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

# Never part of the signed string: the signature itself and the session credentials.
UNSIGNED = frozenset({"sig", "access_token", "session_key"})


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def session_secret(access_token: str, application_secret_key: str) -> str:
    """The secret of a request made with an access token: lower(md5(token + app secret))."""
    return md5_hex(access_token + application_secret_key)


def signature(params: Mapping[str, str], secret: str) -> str:
    """lower(md5(sorted `k=v` pairs joined without separator + secret)), over the raw values."""
    joined = "".join(f"{k}={params[k]}" for k in sorted(params) if k not in UNSIGNED)
    return md5_hex(joined + secret)


def signed_params(
    params: Mapping[str, object], *, application_key: str, access_token: str, secret_key: str
) -> dict[str, str]:
    """Every parameter to send: the call's own, `application_key`, `format`, `sig`, `access_token`.

    Empty values are dropped before signing (as aiookru does) so that the signed set is exactly
    the sent set; a parameter that vanished in transit would otherwise break the signature.
    """
    out = {k: str(v) for k, v in params.items() if v is not None and str(v) != ""}
    out.setdefault("format", "json")
    out["application_key"] = application_key
    out["sig"] = signature(out, session_secret(access_token, secret_key))
    out["access_token"] = access_token
    return out

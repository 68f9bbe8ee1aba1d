"""The OK request signature against the two test vectors of platforms.md §2.2."""

from __future__ import annotations

from spiders.ok.signing import session_secret, signature, signed_params


def test_ok_api_vector() -> None:
    secret = session_secret("token", "secret")
    assert secret == "1b0ebffcd35423aa7674c8cbb60581e4"
    assert signature({"key": "value"}, secret) == "08948becfe27ee5d869ed76e2fffbae8"


def test_aiookru_vector() -> None:
    secret = session_secret(
        "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7", "ABC123DEF456GHI789JKL123"
    )
    assert secret == "b1a2b89707a94624c43afae67d59274c"
    params = {"application_key": "ABCDEFGHIGKLMNOPK", "format": "json", "method": "events.get"}
    assert signature(params, secret) == "232c8eb921951c4dba9b72606f9ddb4c"


def test_signed_params_reproduce_the_aiookru_vector_and_keep_the_token_unsigned() -> None:
    token = "-s-84W-s3egarWUsbkq-IWTucuedzTKT8VUXIA.s4Xx8IW7"
    sent = signed_params(
        {"method": "events.get", "empty": "", "none": None},
        application_key="ABCDEFGHIGKLMNOPK",
        access_token=token,
        secret_key="ABC123DEF456GHI789JKL123",
    )
    assert sent == {
        "method": "events.get",
        "format": "json",
        "application_key": "ABCDEFGHIGKLMNOPK",
        "sig": "232c8eb921951c4dba9b72606f9ddb4c",
        "access_token": token,
    }
    # The access token and sig never enter the signed string; order of keys does not matter.
    assert signature({**sent, "access_token": "other", "sig": "x"}, "s") == signature(
        dict(reversed(list(sent.items()))), "s"
    )


def test_raw_utf8_values_are_signed_not_url_encoded() -> None:
    # md5("q=Алматы" + "s"), computed over the UTF-8 bytes of the raw value.
    import hashlib

    expected = hashlib.md5("q=Алматыs".encode()).hexdigest()
    assert signature({"q": "Алматы"}, "s") == expected

#!/usr/bin/env python3
"""Verify a Runhook webhook delivery with nothing but the Python standard library.

Use it from your web framework, passing the body exactly as received (bytes, before any JSON
parsing) and the request headers:

    from verify_runhook import verify, VerificationError

    try:
        event = verify(request.get_data(), request.headers, os.environ["RUNHOOK_WEBHOOK_SECRET"])
    except VerificationError as error:
        return str(error), 400      # answer 400: Runhook records the refusal and retries

Runnable receivers (standard library, Flask) are in the repository's examples/ folder.

For a webhook with `signature_scheme` `ed25519`, pass its `public_key` (`whpk_...`) instead of (or
in a list with) the secret: the `v1a` entries are then checked. That one case needs the
`cryptography` package (`pip install cryptography`); everything else is standard library only.

Or from a shell, to check a saved delivery:

    python3 verify_runhook.py delivery.json [--no-tolerance]

where delivery.json is {"body": "<raw body>", "headers": {...}, "secret": "..." or [...]} (a
"secret" may be a `whpk_` public key). The exit
status is 0 when the delivery is valid, 1 when it is not (the reason is printed), 2 on bad usage.
"""

import base64
import hashlib
import hmac
import json
import re
import sys
import time

DEFAULT_TOLERANCE_SECONDS = 300
_STRICT_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


class VerificationError(Exception):
    """The delivery must not be trusted; the message says why."""


def signing_key(secret):
    """A `whsec_<base64>` secret is used as its decoded bytes; any other string as UTF-8."""
    if secret.startswith("whsec_"):
        encoded = secret[len("whsec_"):]
        if encoded and _STRICT_BASE64.fullmatch(encoded):
            return base64.b64decode(encoded)
    return secret.encode("utf-8")


def verify(raw_body, headers, secret, tolerance=DEFAULT_TOLERANCE_SECONDS):
    """Check the Standard Webhooks signature and return the parsed JSON body.

    `secret` may be a list (during a rotation); `tolerance=None` disables the timestamp window.
    A `whpk_...` public key checks the `v1a` (ed25519) entries. Raises VerificationError on any
    failure.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not lowered.get(name, "").strip():
            raise VerificationError("missing %s header" % name)
    msg_id = lowered["webhook-id"].strip()
    timestamp = lowered["webhook-timestamp"].strip()

    if not re.fullmatch(r"[1-9][0-9]{0,15}", timestamp):
        raise VerificationError("webhook-timestamp must be Unix time in whole seconds")
    if tolerance is not None:
        drift = int(time.time()) - int(timestamp)
        if drift > tolerance:
            raise VerificationError("webhook-timestamp is %d s in the past" % drift)
        if -drift > tolerance:
            raise VerificationError("webhook-timestamp is %d s in the future" % -drift)

    entries = [entry.rstrip(",") for entry in lowered["webhook-signature"].split()]
    offered = [entry[len("v1,"):] for entry in entries if entry.startswith("v1,")]
    offered_asymmetric = [entry[len("v1a,"):] for entry in entries if entry.startswith("v1a,")]
    public_keys = [key for key in _as_list(secret) if key.startswith("whpk_")]
    secrets = [key for key in _as_list(secret) if not key.startswith("whpk_")]
    if not (secrets and offered) and not (public_keys and offered_asymmetric):
        raise VerificationError("webhook-signature has no %s entry" % ("v1" if secrets else "v1a"))

    signed_content = b"%s.%s.%s" % (msg_id.encode("utf-8"), timestamp.encode("ascii"), raw_body)
    matched = False
    for candidate in secrets:
        mac = hmac.new(signing_key(candidate), signed_content, hashlib.sha256).digest()
        expected = base64.b64encode(mac).decode("ascii")
        for signature in offered:
            if hmac.compare_digest(signature, expected):
                matched = True
    if not matched and public_keys and offered_asymmetric:
        matched = any(
            _ed25519_verifies(key, signed_content, signature)
            for key in public_keys
            for signature in offered_asymmetric
        )
    if not matched:
        raise VerificationError(
            "no webhook-signature entry matches the body and %s" % ("secret" if secrets else "public key")
        )

    try:
        return json.loads(raw_body.decode("utf-8"))
    except ValueError:
        raise VerificationError("the body is signed correctly but is not valid JSON")


def _ed25519_verifies(public_key, signed_content, signature):
    """Whether `signature` (a `v1a` entry's base64) is `public_key`'s signature of the content."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise RuntimeError("verifying a whpk_ public key needs the cryptography package: pip install cryptography")
    encoded = public_key[len("whpk_"):]
    raw = base64.b64decode(encoded) if _STRICT_BASE64.fullmatch(encoded) else b""
    if len(raw) != 32:
        raise ValueError("a public key must be whpk_ followed by the base64 of 32 bytes")
    if not _STRICT_BASE64.fullmatch(signature):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature), signed_content)
        return True
    except InvalidSignature:
        return False


def _as_list(secret):
    return list(secret) if isinstance(secret, (list, tuple)) else [secret]


def verify_runhook_signature(raw_body, header_value, secret):
    """Check `X-Runhook-Signature: sha256=<hex>`. It has no timestamp: prefer verify().

    `secret` may be a list: True when any of them made the header.
    """
    if not header_value or not header_value.startswith("sha256="):
        return False
    offered = header_value[len("sha256="):].strip().lower()
    matched = False
    for candidate in _as_list(secret):
        expected = hmac.new(signing_key(candidate), raw_body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(offered, expected):
            matched = True
    return matched


def _main(argv):
    args = [arg for arg in argv[1:] if arg != "--no-tolerance"]
    if len(args) != 1:
        print("usage: verify_runhook.py DELIVERY.json [--no-tolerance]", file=sys.stderr)
        return 2
    try:
        with open(args[0], encoding="utf-8") as file:
            delivery = json.load(file)
        body = delivery["body"].encode("utf-8")
        headers = delivery["headers"]
        secret = delivery["secret"]
    except (OSError, ValueError, KeyError, AttributeError) as error:
        print("cannot read %s: %s" % (args[0], error), file=sys.stderr)
        return 2
    if not _as_list(secret) or not all(isinstance(one, str) and one for one in _as_list(secret)):
        print("cannot read %s: \"secret\" must be a string or a list of strings" % args[0], file=sys.stderr)
        return 2

    tolerance = None if "--no-tolerance" in argv else DEFAULT_TOLERANCE_SECONDS
    try:
        event = verify(body, headers, secret, tolerance)
    except VerificationError as error:
        print("invalid: %s" % error)
        return 1
    lowered = {name.lower(): value for name, value in headers.items()}
    kind = event.get("event", "(no event field)") if isinstance(event, dict) else type(event).__name__
    print("valid: %s, webhook-id %s" % (kind, lowered["webhook-id"]))
    # Informational only: during a secret rotation X-Runhook-Signature is made with the newest
    # secret alone, while webhook-signature (checked above) carries one entry per active secret.
    if "x-runhook-signature" in lowered:
        matches = verify_runhook_signature(body, lowered["x-runhook-signature"], secret)
        print("X-Runhook-Signature: %s" % ("matches" if matches else "made with another secret"))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))

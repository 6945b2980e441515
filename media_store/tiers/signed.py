"""Values in Redis are signed: this process unpickles only bytes a holder of ``SECRET_KEY`` wrote.

Redis is shared infrastructure: anyone who can write to it could plant a pickle that runs code
when it is loaded. django-redis pickles values, so its serializer here prefixes every pickle with
an HMAC-SHA256 of it (keyed by ``SECRET_KEY`` through Django's ``salted_hmac``) and refuses to
unpickle anything whose MAC does not verify; the cache then reports a miss (``ForgedValue``).
"""

from __future__ import annotations

import hmac
import logging
import pickle
from typing import Any

from django.utils.crypto import salted_hmac
from django_redis.serializers.base import BaseSerializer

logger = logging.getLogger("media_store.degraded")

SALT = "mediacache.tiers.signed"
MAC_BYTES = 32


class ForgedValue(ValueError):
    """A value read from Redis was not written by this deployment (or was damaged)."""


def _mac(payload: bytes) -> bytes:
    return salted_hmac(SALT, payload, algorithm="sha256").digest()


class SignedPickleSerializer(BaseSerializer):
    def dumps(self, value: Any) -> bytes:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return _mac(payload) + payload

    def loads(self, value: bytes) -> Any:
        mac, payload = value[:MAC_BYTES], value[MAC_BYTES:]
        if len(mac) != MAC_BYTES or not hmac.compare_digest(mac, _mac(payload)):
            logger.warning("media.forged_value: a Redis value failed its signature check (treated as a miss)")
            raise ForgedValue("the value's signature does not verify")
        return pickle.loads(payload)  # noqa: S301 (verified above: written by this deployment)


def plain_key(key: str, key_prefix: str, version: int) -> str:
    """Django cache KEY_FUNCTION: the key as given, so Redis keys read as documented (``mc:…``)."""
    return key


def plain_reverse_key(key: str) -> str:
    """The inverse of ``plain_key`` (django-redis ``iter_keys``/``keys`` return full key names)."""
    return key

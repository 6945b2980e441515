"""``Idempotency-Key`` on the ingest POSTs: a retried request gets the first one's answer.

A POST that fails in transit — a node stopping, a worker killed, the client's own timeout —
leaves its sender not knowing whether the attachment was made. Sent again with the same key
(draft-ietf-httpapi-idempotency-key-header), it is answered with the first request's status and
JSON (and ``Idempotent-Replayed: true``); no second attachment or job is made. The edge gives
every ingest POST a key (the client's own, else nginx's ``$request_id``), which is what lets it
resend a POST that failed before any answer to the next node (``proxy_next_upstream …
non_idempotent`` in deploy/nginx/).

The key is recorded *after* the work, in the same short transaction as the attachment (or the
job) it answers: an insert on the key's primary key. When two requests with one key race, the
second insert fails, its transaction — its attachment row included — rolls back, and it answers
the first one's response. No lock and no "in progress" state that could outlive a dead worker;
the price of a race is one redundant fetch or PUT of content-addressed bytes. The same key with
a different request (other bytes, URL or fields) is a ``422``. Keys are kept
``MEDIA_IDEMPOTENCY_HOURS`` (``chat.housekeeping`` prunes them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from media_store.conf import media_settings

logger = logging.getLogger("chat.idempotency")

HEADER = "Idempotency-Key"
T = TypeVar("T")
KEY_PATTERN = re.compile(r"[!-~]{1,200}")  # visible ASCII: safe in logs and in a primary key


class IdempotencyKey(models.Model):
    key = models.CharField(max_length=200, primary_key=True)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request the key was first used for.")
    http_status = models.PositiveSmallIntegerField()
    response = models.JSONField(help_text="The first answer's body and the headers it set.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        app_label = "chat"

    def __str__(self) -> str:
        return f"{self.key} → {self.http_status}"


class KeyReused(APIException):
    """``422 {"detail": …, "code": "idempotency_key_reused"}``, the shape of the engine's errors."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self) -> None:
        detail = f"this {HEADER} was used for a different request"
        super().__init__({"detail": detail, "code": "idempotency_key_reused"})


class Raced(Exception):
    """Another request with this key recorded its answer first (this one's work rolled back)."""


class Idempotent:
    """One request's key and fingerprint: replay an earlier answer, or record this one."""

    def __init__(self, key: str, fingerprint: str) -> None:
        self.key, self.fingerprint = key, fingerprint

    @classmethod
    def of(cls, request, endpoint: str, *parts: Any) -> Idempotent | None:
        """The request's key (None without the header); ``parts`` identify what it asks for."""
        raw = request.headers.get(HEADER)
        if raw is None:
            return None
        key = raw.strip()
        if len(key) >= 2 and key[0] == key[-1] == '"':
            key = key[1:-1]  # the draft's structured-field string form
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationError(
                {HEADER: ["must be 1 to 200 visible ASCII characters (a UUID, say)"]}, code="invalid_idempotency_key"
            )
        request_identity = json.dumps([endpoint, *parts], default=str, sort_keys=True)
        return cls(key, hashlib.sha256(request_identity.encode()).hexdigest())

    def replay(self) -> Response | None:
        """The earlier answer for this key, or None if there is none (or it has expired)."""
        earlier = IdempotencyKey.objects.filter(pk=self.key).first()
        if earlier is None:
            return None
        if earlier.created_at < timezone.now() - timedelta(hours=media_settings.MEDIA_IDEMPOTENCY_HOURS):
            earlier.delete()  # expired: the key is free again
            return None
        if earlier.fingerprint != self.fingerprint:
            raise KeyReused()
        logger.info("media.idempotent_replay key=%s status=%d", self.key, earlier.http_status)
        headers = {**earlier.response.get("headers", {}), "Idempotent-Replayed": "true"}
        return Response(earlier.response.get("body"), status=earlier.http_status, headers=headers)

    def record(self, response: Response) -> Response:
        """Keep ``response`` as this key's answer; call inside the transaction of what it reports.

        Raises ``Raced`` (leave the transaction, then ``replay()``) if another request won."""
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    key=self.key,
                    fingerprint=self.fingerprint,
                    http_status=response.status_code,
                    response={"body": response.data, "headers": dict(response.headers)},
                )
        except IntegrityError as error:
            raise Raced(self.key) from error
        return response


def answer(idempotent: Idempotent | None, render: Callable[[T], Response], create: Callable[..., T]) -> Response:
    """Create what a request asks for once per key, and answer it.

    ``create(on_created)`` makes the object (an attachment, a job) and must call
    ``on_created(obj)`` inside the transaction that inserts it; ``render(obj)`` is the answer.
    With a key seen before, the earlier answer is replayed and ``create`` is not called."""
    if idempotent is None:
        return render(create(lambda _obj: None))
    earlier = idempotent.replay()
    if earlier is not None:
        return earlier
    recorded: list[Response] = []
    try:
        create(lambda obj: recorded.append(idempotent.record(render(obj))))
    except Raced:
        return idempotent.replay()
    return recorded[-1]

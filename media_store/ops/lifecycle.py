"""The S3 lifecycle rule that expires stored media after ``MEDIA_S3_RETENTION_DAYS``.

The rule is *merged* into the bucket's configuration: rules of other tools and other prefixes
are kept as they are; ours (ID ``mediacache-expire-<prefix>``) is added or replaced. A hash whose
object the rule has expired answers 404 and its blob is marked expired (``views.serve_blob``).

S3 counts an object's age from its last write. New use of old content — an ingest of bytes
already stored — therefore restarts the age with a server-side copy of the object onto itself
(``ingest.commit.refresh_if_aging``): content expires ``days`` after it was last *ingested*,
not after it was first stored. ``expiry_date`` says when S3 will delete an object.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from media_store import runtime
from media_store.conf import media_settings
from media_store.exceptions import MediaError, OriginUnavailable
from media_store.tiers.s3 import S3Origin

RULE_PREFIX = "mediacache-expire-"


class LifecycleUnsupported(MediaError):
    code = "lifecycle_unsupported"
    http_status = 400


def rule_id(prefix: str) -> str:
    return f"{RULE_PREFIX}{prefix.strip('/') or 'all'}"


def expiry_date(last_modified: datetime, days: int) -> datetime:
    """When S3 expires an object: ``days`` after its last write, rounded up to midnight UTC."""
    moment = last_modified.astimezone(UTC) + timedelta(days=days)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def expiration_days(rules: list[dict], key: str) -> int | None:
    """The ``Expiration.Days`` of the enabled rule whose prefix covers ``key`` (the shortest wins)."""
    matching = [
        rule["Expiration"]["Days"]
        for rule in rules
        if rule.get("Status") == "Enabled"
        and "Days" in rule.get("Expiration", {})
        and key.startswith(rule.get("Filter", {}).get("Prefix", rule.get("Prefix", "")))
    ]
    return min(matching) if matching else None


def current_rules(origin: S3Origin) -> list[dict]:
    try:
        return origin.client.get_bucket_lifecycle_configuration(Bucket=origin.bucket)["Rules"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return []
        raise OriginUnavailable(f"s3 lifecycle of {origin.bucket}: {error}") from error
    except BotoCoreError as error:
        raise OriginUnavailable(f"s3 lifecycle of {origin.bucket}: {error}") from error


def apply_expiration(days: int | None = None, prefix: str | None = None) -> list[dict]:
    """Put (merge) the expiry rule; returns the bucket's rules afterwards."""
    days = media_settings.MEDIA_S3_RETENTION_DAYS if days is None else days
    prefix = media_settings.MEDIA_S3_PREFIX if prefix is None else prefix
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    origin = runtime.get_origin()
    if not isinstance(origin, S3Origin):
        raise LifecycleUnsupported(
            f"the origin is {origin.name!r}: lifecycle rules exist only on S3 (set MEDIA_STORAGE=s3); "
            "use cleanup_media --orphans for the filesystem origin"
        )
    ours = {"ID": rule_id(prefix), "Filter": {"Prefix": prefix}, "Status": "Enabled", "Expiration": {"Days": days}}
    rules = [rule for rule in current_rules(origin) if rule.get("ID") != ours["ID"]] + [ours]
    try:
        origin.client.put_bucket_lifecycle_configuration(Bucket=origin.bucket, LifecycleConfiguration={"Rules": rules})
    except (BotoCoreError, ClientError) as error:
        raise OriginUnavailable(f"s3 lifecycle of {origin.bucket}: {error}") from error
    return current_rules(origin)

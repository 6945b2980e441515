"""After the run, with every fault undone: was anything acknowledged lost, stored twice, or left over?

- lost: every acknowledged ingest (upload ``201``, URL ``201``, media ID ``200``) that was not
  deleted is fetched through the edge and its bytes compared with the SHA-256 it was sent with;
- duplicates: the same content under more than one S3 key;
- orphans: a Blob row whose S3 object is missing, an S3 object no Blob row names, an
  attachment whose token does not serve.
"""

from __future__ import annotations

import hashlib
import time

import boto3
import psycopg
import requests

from chaos.topology import S3_PREFIX, Topology
from tests.support.servers import TEST_BUCKET


def settle(topology: Topology, timeout: float = 30) -> float:
    """Wait until both nodes and the edge answer /healthz 200; returns the seconds it took."""
    started = time.monotonic()
    urls = [node.url for node in topology.nodes.values()] + [topology.edge.url]
    while time.monotonic() - started < timeout:
        try:
            if all(requests.get(f"{url}/healthz", timeout=3).status_code == 200 for url in urls):
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return round(time.monotonic() - started, 2)


def fetch_ok(url: str, sha256: str, attempts: int = 3) -> tuple[bool, str]:
    last = ""
    for attempt in range(attempts):
        try:
            response = requests.get(url, timeout=20)
            if response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == sha256:
                return True, ""
            last = f"{response.status_code}, {len(response.content)} bytes"
        except requests.RequestException as error:
            last = type(error).__name__
        time.sleep(1 + attempt)
    return False, last


def audit(topology: Topology, acks: list[dict]) -> dict:
    settled = settle(topology)
    lost, checked, skipped = [], 0, 0
    for ack in acks:
        if ack.get("deleting"):  # deleted, or a delete whose outcome is unknown
            skipped += 1
            continue
        if not ack.get("token"):
            lost.append({**ack, "why": "acknowledged without a token"})
            continue
        checked += 1
        ok, why = fetch_ok(f"{topology.edge.url}/media/{ack['token']}", ack["sha256"])
        if not ok:
            lost.append({"token": ack["token"], "sha256": ack["sha256"], "why": why})
    client = boto3.client(
        "s3",
        endpoint_url=topology.moto.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=TEST_BUCKET, Prefix=S3_PREFIX):
        keys += [item["Key"] for item in page.get("Contents", [])]
    with psycopg.connect(topology.postgres.url) as connection:
        blob_keys = {key for (key,) in connection.execute("SELECT origin_key FROM media_store_blob")}
        attachments = connection.execute("SELECT count(*) FROM chat_messageattachment").fetchone()[0]
        dangling = connection.execute(
            "SELECT count(*) FROM chat_messageattachment a LEFT JOIN media_store_blob b ON a.blob_id = b.sha256 "
            "WHERE b.sha256 IS NULL"
        ).fetchone()[0]
    by_digest: dict[str, int] = {}
    for key in keys:
        by_digest[key.rsplit("/", 1)[-1]] = by_digest.get(key.rsplit("/", 1)[-1], 0) + 1
    return {
        "settle_seconds": settled,
        "acknowledged": len(acks),
        "checked": checked,
        "deleted_or_unknown": skipped,
        "lost": len(lost),
        "lost_detail": lost[:20],
        "duplicate_objects": sum(count - 1 for count in by_digest.values() if count > 1),
        "orphan_rows": len(blob_keys - set(keys)) + dangling,
        "orphan_objects": len(set(keys) - blob_keys),
        "blobs": len(blob_keys),
        "s3_objects": len(keys),
        "attachments": attachments,
    }

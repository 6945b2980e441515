"""The load generator's writing requests: uploads, URL downloads, WhatsApp media IDs, deletes, operator reads.

A mixin of ``chaos.load.Client`` (plumbing there). Every acknowledged ingest — ``201`` for an
upload or a URL, ``200`` for a media ID — is checked against the SHA-256 of the bytes it was
given and remembered (``state.uploads``) for the audit after the run.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import requests

TIMEOUT = 20


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class IngestKinds:
    def _acknowledged(self, kind: str, record: dict, expected: str, ok_status: int) -> None:
        response = record["_response"]
        if response is not None and response.status_code == ok_status:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if body.get("sha256") != expected:
                record["wrong"] = True
                record["detail"] = f"{kind} acknowledged with sha256 {body.get('sha256')!r}, sent {expected[:16]}"
            record["ack"] = {"id": body.get("id"), "token": body.get("media_hash"), "sha256": expected}
            with self.state.lock:
                self.state.uploads.append(record["ack"])
        self.emit(record)

    def upload(self) -> None:
        data = os.urandom(self.random.randrange(2048, 96 * 1024))
        files = {"file": (f"upload-{self.state.next_id()}.bin", data, "application/octet-stream")}
        record = self.call("upload", "POST", "/api/attachments/", files=files, headers=self.auth)
        self._acknowledged("upload", record, sha(data), 201)

    def url(self) -> None:
        data = os.urandom(self.random.randrange(2048, 64 * 1024))
        name = f"u{os.getpid()}-{self.state.next_id()}.bin"
        Path(self.config["url_folder"], name).write_bytes(data)
        record = self.call(
            "url", "POST", "/api/media/download", json={"url": f"{self.config['url_base']}/{name}"}, headers=self.auth
        )
        self._acknowledged("url", record, sha(data), 201)

    def media_id(self) -> None:
        with self.state.lock:
            item = self.state.media_ids.pop() if self.state.media_ids else None
        if item is None:
            self.hot()
            return
        path = f"/media?id={item['id']}&timestamp={int(time.time())}"
        if self.random.random() < 0.25:
            self.media_id_async(item, path)
            return
        record = self.call("media_id", "GET", path, headers=self.auth)
        self._acknowledged("media_id", record, item["sha256"], 200)

    def media_id_async(self, item: dict, path: str) -> None:
        """``?async=1``: 202 and a status URL; the Celery worker does the fetch."""
        record = self.call("media_id_async", "GET", path + "&async=1", headers=self.auth)
        response = record["_response"]
        if response is None or response.status_code != 202:
            self.emit(record)
            return
        status_url = response.json().get("status_url", "")
        if status_url.startswith("http"):
            status_url = "/" + status_url.split("/", 3)[3]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                polled = self.session.get(self.base + status_url, headers=self.auth, timeout=TIMEOUT)
            except requests.RequestException:
                continue
            if polled.status_code != 202:  # the job's final answer: 200, or the error the sync call gives
                record["_response"] = polled
                record["status"] = polled.status_code
                record["content_type"] = polled.headers.get("Content-Type", "")
                record["latency"] = round(self.now() - record["t"], 4)
                if polled.status_code != 200:
                    record["detail"] = f"job answered {polled.status_code}: {polled.content[:100]!r}"
                self._acknowledged("media_id_async", record, item["sha256"], 200)
                return
        record["status"] = 0
        record["detail"] = "async fetch still pending after 15 s"
        self.emit(record)

    def delete(self) -> None:
        with self.state.lock:
            mine = [u for u in self.state.uploads if u.get("id") and not u.get("deleting")]
            target = mine[0] if len(mine) > 5 else None
            if target is not None:
                target["deleting"] = True
        if target is None:
            self.hot()
            return
        record = self.call("delete", "DELETE", f"/api/attachments/{target['id']}/", headers=self.auth)
        with self.state.lock:
            if record["status"] == 204:
                target["deleted"] = True
            elif record["status"] == 0 or record["status"] >= 500:
                target["deleted"] = None  # unknown: the audit cannot expect it either way
        record["deleted"] = {"id": target["id"], "outcome": target.get("deleted")}
        self.emit(record)

    def operator(self) -> None:
        path = self.random.choice(["/media/stats", "/metrics", "/healthz"])
        self.emit(self.call("operator", "GET", path, headers=self.auth))

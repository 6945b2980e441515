"""The WhatsApp Cloud API (Graph API) media client: media ID → verified bytes in a StagedFile.

Two HTTP requests per media: ``GET {graph}/{media_id}`` (metadata: a download URL valid for five
minutes, the MIME type, SHA-256 and size), then ``GET <url>`` with the same Bearer token and a
non-empty User-Agent, streamed through the SSRF-vetted ``Downloader`` under the byte cap.

Failures become ``DownloadError`` with ``permanent`` decided by the Graph ``error.code`` first
and the HTTP status second — the Graph API answers rate limits with HTTP 400, so the status
alone would call them permanent (COMPAT.md):

- permanent: 100 (unknown/expired ID, subcode 33), 190 (token expired or invalid: logged at
  ERROR, every fetch fails until an operator replaces ``WHATSAPP_TOKEN``), any other 4xx;
- transient: 4, 80007, 130429 (rate limits), HTTP 408/429/5xx, timeouts, broken connections,
  and bytes that do not match the announced ``sha256``/``file_size`` (a truncated transfer).

``fetch()`` runs the attempts through a ``RetryPolicy`` (backoff, full jitter, Retry-After). The
metadata is kept across attempts (its URL lives five minutes, longer than any backoff), so a
download that broke is retried without another Graph call; a download URL that answers
401/403/404/410 has expired and is refreshed once with a new metadata call.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests
import urllib3

from media_store.conf import media_settings
from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge
from media_store.fetch.downloader import USER_AGENT, Downloader
from media_store.fetch.retry import RetryPolicy, parse_retry_after
from media_store.fetch.ssrf import BlockedAddress, safe_session
from media_store.ingest.staging import StagedFile

logger = logging.getLogger("media_store.fetch.graph")

PERMANENT_CODES = frozenset({100, 190})
TRANSIENT_CODES = frozenset({4, 80007, 130429})
TOKEN_EXPIRED_CODE = 190
EXPIRED_URL_STATUSES = frozenset({401, 403, 404, 410})
MAX_METADATA_BYTES = 64 * 1024  # a metadata answer is ~300 bytes; anything huge is not one


@dataclass(frozen=True)
class MediaMetadata:
    """What ``GET /{media_id}`` says about a media object."""

    media_id: str
    url: str
    mime_type: str
    sha256: str  # as sent: hex (the Graph API) or base64 (webhooks); compared as bytes
    file_size: int | None


class GraphError(DownloadError):
    """An error answer of the Graph API, with its ``error.code`` and ``error_subcode``."""

    code = "graph_error"

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None,
        graph_code: int | None = None,
        subcode: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, status=status, retry_after=retry_after)
        self.graph_code = graph_code
        self.subcode = subcode


def is_permanent(status: int, graph_code: int | None) -> bool:
    """The retry decision for an error answer: the Graph code wins, then the HTTP status."""
    if graph_code in PERMANENT_CODES:
        return True
    if graph_code in TRANSIENT_CODES or status in (408, 429) or status >= 500:
        return False
    return 400 <= status < 500


def graph_error(response: requests.Response, body: bytes, media_id: str) -> GraphError:
    """Translate an error answer (any status ≥ 300) into a classified ``GraphError``."""
    error = _error_object(body)
    graph_code = _int_or_none(error.get("code"))
    subcode = _int_or_none(error.get("error_subcode"))
    text = str(error.get("message") or response.reason or "no error message")[:300]
    label = "error" if graph_code is None else f"code {graph_code}"
    if graph_code is not None and subcode is not None:
        label += f"/{subcode}"
    failure = GraphError(
        f"Graph API {label} (HTTP {response.status_code}) for media {media_id}: {text}",
        permanent=is_permanent(response.status_code, graph_code),
        status=response.status_code,
        graph_code=graph_code,
        subcode=subcode,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )
    if graph_code == TOKEN_EXPIRED_CODE:
        logger.error(
            "media.whatsapp_token_invalid code=190: WHATSAPP_TOKEN is expired or invalid; every WhatsApp "
            "media fetch fails until it is replaced (%s)",
            text,
        )
    return failure


def parse_metadata(media_id: str, body: bytes) -> MediaMetadata:
    """The fields we need from a 200 answer; a malformed one is a transient upstream fault."""
    try:
        data = json.loads(body)
    except ValueError:
        raise DownloadError(f"Graph API sent unreadable metadata for media {media_id}") from None
    url = data.get("url") if isinstance(data, dict) else None
    if not isinstance(url, str) or not url:
        raise DownloadError(f"Graph API metadata for media {media_id} has no download url")
    return MediaMetadata(
        media_id=str(data.get("id") or media_id),
        url=url,
        mime_type=str(data.get("mime_type") or ""),
        sha256=str(data.get("sha256") or ""),
        file_size=_int_or_none(data.get("file_size")),
    )


def expected_digest(value: str) -> bytes:
    """The 32 bytes of a SHA-256 written as hex (Graph API) or base64 (webhook payloads)."""
    text = value.strip()
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise DownloadError(f"Graph API announced an unreadable sha256 {value[:80]!r}")
    return raw


def verify(meta: MediaMetadata, staged: StagedFile) -> None:
    """The bytes must be the ones announced; a mismatch is a broken transfer (transient)."""
    digests = staged.finish()
    if meta.file_size is not None and digests.size != meta.file_size:
        raise DownloadError(
            f"media {meta.media_id}: received {digests.size} bytes, the Graph API announced {meta.file_size}"
        )
    if meta.sha256 and bytes.fromhex(digests.sha256) != expected_digest(meta.sha256):
        raise DownloadError(f"media {meta.media_id}: content does not match the announced sha256")


class GraphClient:
    """The two Graph requests (metadata, media download) and the attempt loop around them."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float,
        allow_private: bool,
        max_bytes: int,
        user_agent: str = USER_AGENT,
        media_hosts: Iterable[str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # the token goes to the Graph host and to Meta's media CDN, never to a host the
        # metadata merely names (WHATSAPP_MEDIA_HOSTS)
        hosts = media_settings.WHATSAPP_MEDIA_HOSTS if media_hosts is None else media_hosts
        self.media_hosts = (urlsplit(self.base_url).hostname or "", *(host.lower() for host in hosts))
        self.token = token
        self.timeout = timeout
        self.max_bytes = max_bytes
        # Graph URL and media URL alike go through the SSRF guard: the media URL comes from
        # upstream, and an operator pointing WHATSAPP_GRAPH_URL inward must opt in explicitly.
        self.session = safe_session(allow_private=allow_private, user_agent=user_agent)
        self.downloader = Downloader(allow_private=allow_private, timeout=timeout, user_agent=user_agent)

    @classmethod
    def from_settings(cls) -> GraphClient:
        s = media_settings
        return cls(
            base_url=s.WHATSAPP_GRAPH_URL,
            token=s.WHATSAPP_TOKEN,
            timeout=float(s.DOWNLOAD_TIMEOUT),
            allow_private=s.DOWNLOAD_ALLOW_PRIVATE_NETWORKS,
            max_bytes=s.DOWNLOAD_MAX_BYTES,
            media_hosts=s.WHATSAPP_MEDIA_HOSTS,
        )

    def close(self) -> None:
        """Release the connection pools (a client built per call must not leak sockets)."""
        self.session.close()
        self.downloader.session.close()

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def metadata(self, media_id: str) -> MediaMetadata:
        """``GET {graph}/{media_id}``: one attempt. Raises GraphError/DownloadError."""
        url = f"{self.base_url}/{quote(media_id, safe='')}"
        try:
            with self.session.get(
                url,
                headers=self.auth_headers,
                timeout=(min(self.timeout, 10.0), self.timeout),
                stream=True,
                allow_redirects=False,
            ) as response:
                body = response.raw.read(MAX_METADATA_BYTES, decode_content=True)
        except BlockedAddress as error:
            raise BlockedURL(f"refused to call the Graph API at {self.base_url}: {error}") from None
        except (requests.ConnectionError, requests.Timeout, urllib3.exceptions.HTTPError, OSError) as error:
            # refused, reset, timed out — before or while the body was read: worth a retry
            raise DownloadError(f"Graph API unreachable for media {media_id}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise graph_error(response, body, media_id)
        meta = parse_metadata(media_id, body)
        if meta.file_size is not None and meta.file_size > self.max_bytes:
            raise PayloadTooLarge(
                f"media {media_id} is {meta.file_size} bytes, over DOWNLOAD_MAX_BYTES={self.max_bytes}"
            )
        return meta

    def token_allowed(self, url: str) -> bool:
        """May the bearer token be sent to ``url``'s host? (see ``WHATSAPP_MEDIA_HOSTS``)"""
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return False
        return bool(host) and any(
            host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])) for allowed in self.media_hosts
        )

    def download(self, meta: MediaMetadata, staged: StagedFile) -> None:
        """``GET <meta.url>`` into ``staged`` and verify it: one attempt.

        The URL comes from upstream JSON: a host outside ``WHATSAPP_MEDIA_HOSTS`` is refused
        (permanently) rather than handed our bearer token.
        """
        if not self.token_allowed(meta.url):
            raise BlockedURL(
                f"media {meta.media_id}: the Graph API named a download host outside WHATSAPP_MEDIA_HOSTS "
                f"({urlsplit(meta.url).hostname!r}); the access token is not sent there"
            )
        self.downloader.download(meta.url, staged, headers=self.auth_headers)
        verify(meta, staged)

    def fetch(
        self,
        media_id: str,
        *,
        policy: RetryPolicy,
        new_staged: Callable[[], StagedFile],
        on_request: Callable[[str], None] = lambda kind: None,
    ) -> tuple[MediaMetadata, StagedFile]:
        """Metadata + verified bytes, retried per ``policy``. The caller owns the StagedFile.

        ``on_request("metadata" | "download")`` is called before every HTTP request (stats).
        """
        state: dict[str, object] = {"meta": None, "refreshed": False}

        def lookup() -> MediaMetadata:
            on_request("metadata")
            state["meta"] = self.metadata(media_id)
            return state["meta"]

        def attempt(_number: int) -> tuple[MediaMetadata, StagedFile]:
            meta = state["meta"] or lookup()
            try:
                return meta, self._download_once(meta, new_staged, on_request)
            except DownloadError as error:
                if state["refreshed"] or error.status not in EXPIRED_URL_STATUSES:
                    raise
            state["refreshed"] = True
            state["meta"] = None  # if the refresh itself fails, the next attempt asks again
            logger.info("media.whatsapp_url_refresh id=%s: the download URL expired, asking for a new one", media_id)
            meta = lookup()
            return meta, self._download_once(meta, new_staged, on_request)

        return policy.call(attempt, what=f"whatsapp_id={media_id}")

    def _download_once(
        self, meta: MediaMetadata, new_staged: Callable[[], StagedFile], on_request: Callable[[str], None]
    ) -> StagedFile:
        staged = new_staged()
        try:
            on_request("download")
            self.download(meta, staged)
        except BaseException:
            staged.discard()
            raise
        return staged


def _error_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _int_or_none(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None

"""The WhatsApp Cloud API (Graph API) media client: media ID → verified bytes in a StagedFile.

Two HTTP requests per media: ``GET {graph}/{media_id}`` (metadata: a download URL valid for five
minutes, the MIME type, SHA-256 and size), then ``GET <url>`` with the same Bearer token and a
non-empty User-Agent, streamed through the SSRF-vetted ``Downloader`` under the byte cap. The
token goes only to the Graph host and to ``WHATSAPP_MEDIA_HOSTS``.

This module is the transport: sessions, timeouts, the host allow-list and the attempt loop.
What an answer means — its metadata, whether a failure is permanent — is ``fetch.graph_answers``.
Timeouts and broken connections are transient; a code-190 answer (token expired or invalid) is
logged here at ERROR, since every fetch fails until an operator replaces ``WHATSAPP_TOKEN``.

``fetch()`` runs the attempts through a ``RetryPolicy`` (backoff, full jitter, Retry-After). The
metadata is kept across attempts (its URL lives five minutes, longer than any backoff), so a
download that broke is retried without another Graph call; a download URL that answers
401/403/404/410 has expired and is refreshed once with a new metadata call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import quote, urlsplit

import requests
import urllib3

from media_store.conf import media_settings
from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge
from media_store.fetch.downloader import USER_AGENT, Downloader
from media_store.fetch.graph_answers import (
    EXPIRED_URL_STATUSES,
    TOKEN_EXPIRED_CODE,
    MediaMetadata,
    graph_error,
    parse_metadata,
    verify,
)
from media_store.fetch.retry import RetryPolicy
from media_store.fetch.ssrf import BlockedAddress, safe_session
from media_store.ingest.staging import StagedFile

logger = logging.getLogger("media_store.fetch.graph")

MAX_METADATA_BYTES = 64 * 1024  # a metadata answer is ~300 bytes; anything huge is not one


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
            failure = graph_error(response, body, media_id)
            if failure.graph_code == TOKEN_EXPIRED_CODE:
                logger.error(
                    "media.whatsapp_token_invalid code=190: WHATSAPP_TOKEN is expired or invalid; every WhatsApp "
                    "media fetch fails until it is replaced (%s)",
                    failure,
                )
            raise failure
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

"""One HTTP download into a ``StagedFile``: timeouts, byte cap, error classification.

- connect timeout, a per-read timeout, and a total deadline checked after every read (a
  server that drips one byte a second cannot hold a worker past ``timeout``);
- the byte cap is enforced on the bytes actually received (``StagedFile`` refuses the chunk
  that crosses it), not just on ``Content-Length``, which may be absent or lie;
- at most 5 redirects, each hop re-vetted by the SSRF guard (``ssrf.safe_session``);
- failures become ``DownloadError`` with ``permanent`` set the way the retry policy needs it:
  timeouts, connection errors, 408, 429 and 5xx are transient; other 4xx are permanent.

Retries are not done here (see ``retry.RetryPolicy``): one call, one attempt.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import requests
import urllib3

from media_store.exceptions import BlockedURL, DownloadError, PayloadTooLarge
from media_store.fetch.deadline import current as current_deadline
from media_store.fetch.retry import parse_retry_after
from media_store.fetch.ssrf import BlockedAddress, check_url, redact, redact_text, safe_session
from media_store.ingest.staging import StagedFile

READ_SIZE = 64 * 1024
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "mediacache/1.0 (+https://github.com/mediacache; media fetcher)"
_POOL_PREFIX = re.compile(r"^\w+\(host='[^']*', port=\d+\):\s*")


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str
    size: int


class Downloader:
    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float,
        user_agent: str = USER_AGENT,
        max_redirects: int = 5,
        clock=time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self.session = safe_session(allow_private=allow_private, max_redirects=max_redirects, user_agent=user_agent)

    def close(self) -> None:
        """Release the session's pooled connections (a Downloader is cheap; make one per job)."""
        self.session.close()

    def download(self, url: str, staged: StagedFile, *, headers: dict[str, str] | None = None) -> Fetched:
        """Stream ``url`` into ``staged`` (one attempt). Raises DownloadError/PayloadTooLarge."""
        check_url(url)
        deadline = self.clock() + self.timeout
        try:
            response = self.session.get(
                url,
                headers=headers,
                stream=True,
                timeout=(min(self.timeout, 10.0), min(self.timeout, 30.0)),
                allow_redirects=True,
            )
        except BlockedAddress as error:
            raise BlockedURL(f"refused to fetch {redact(url)}: {error}") from None
        except requests.TooManyRedirects:
            limit = self.session.max_redirects
            raise DownloadError(f"{redact(url)}: more than {limit} redirects", permanent=True) from None
        except requests.exceptions.InvalidSchema:  # a redirect to file:, ftp:, gopher:, …
            raise BlockedURL(f"refused to fetch {redact(url)}: redirected to a non-http(s) URL") from None
        except (requests.ConnectionError, requests.Timeout) as error:
            raise DownloadError(f"{redact(url)}: {_reason(error)}") from None
        except requests.RequestException as error:  # invalid URL, invalid header, …
            raise DownloadError(f"{redact(url)}: {redact_text(str(error))}", permanent=True) from None
        with response:
            self._check_status(url, response)
            self._check_declared_length(response, staged)
            self._stream(url, response, staged, deadline)
        return Fetched(
            url=response.url,
            status=response.status_code,
            content_type=response.headers.get("Content-Type", ""),
            size=staged.size,
        )

    def _check_status(self, url: str, response: requests.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        transient = status in TRANSIENT_STATUSES or status >= 500
        raise DownloadError(
            f"{redact(url)} answered {status} {response.reason or ''}".rstrip(),
            permanent=not transient,
            status=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    @staticmethod
    def _check_declared_length(response: requests.Response, staged: StagedFile) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > staged.max_bytes:
            raise PayloadTooLarge(f"the server announces {declared} bytes, over the limit of {staged.max_bytes}")

    def _stream(self, url: str, response: requests.Response, staged: StagedFile, deadline: float) -> None:
        try:
            while True:
                chunk = response.raw.read1(READ_SIZE, decode_content=True)
                if not chunk:
                    break
                staged.write(chunk)
                if self.clock() > deadline:
                    raise DownloadError(f"{redact(url)}: download took longer than {self.timeout:g}s")
                overall = current_deadline()
                if overall is not None and overall.remaining() <= 0:
                    raise overall.exceeded(f"while reading {redact(url)}")
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            # read timeouts, resets, truncated chunked bodies, bad gzip: all worth a retry
            raise DownloadError(f"{redact(url)}: connection broke mid-download ({_reason(error)})") from None


def _reason(error: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 error chain, without pool or URL.

    requests wraps urllib3's MaxRetryError, which wraps the real cause (``.reason``); their
    messages repeat the pool and the request path, which may carry a token in its query.
    """
    while True:
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException) and error.args and isinstance(error.args[0], BaseException):
            inner = error.args[0]
        if not isinstance(inner, BaseException):
            break
        error = inner
    text = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    return redact_text(_POOL_PREFIX.sub("", text))[:200] or type(error).__name__

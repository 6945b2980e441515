"""Getting media from elsewhere: an SSRF-safe downloader, the WhatsApp Cloud API client, the
retry policy (exponential backoff, full jitter, Retry-After) and the negative cache."""

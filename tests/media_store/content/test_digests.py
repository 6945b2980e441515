"""media_store.content.digests: streaming SHA-256/MD5 in one pass, public tokens, digest validation."""

import hashlib

import pytest

from media_store.content import digests
from media_store.content.digests import (
    DigestCheck,
    Digester,
    Digests,
    is_md5,
    is_sha256,
    is_token,
    new_token,
    sha256_bytes,
    sha256_file,
)

PAYLOADS = [
    b"",
    b"a",
    b"hello world\n",
    bytes(range(256)) * 40,
    b"\x00" * (digests.CHUNK_SIZE + 17),  # crosses a chunk boundary when streamed
]
PAYLOAD_IDS = ["empty", "one-byte", "text", "all-bytes", "more-than-a-chunk"]


def expected(data: bytes) -> Digests:
    return Digests(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))


@pytest.mark.parametrize("data", PAYLOADS, ids=PAYLOAD_IDS)
def test_the_digester_matches_hashlib(data):
    digester = Digester()
    digester.update(data)
    assert digester.result() == expected(data)


@pytest.mark.parametrize("data", PAYLOADS, ids=PAYLOAD_IDS)
def test_sha256_helpers_match_hashlib(tmp_path, data):
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_bytes(data) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000, 4096])
def test_digester_over_chunks_equals_the_one_shot_digest(chunk_size):
    data = bytes(range(256)) * 37 + b"tail"
    digester = Digester()
    for offset in range(0, len(data), chunk_size):
        digester.update(data[offset : offset + chunk_size])
    assert digester.result() == expected(data)
    assert digester.size == len(data)


def test_digester_ignores_empty_chunks():
    digester = Digester()
    for chunk in (b"", b"ab", b"", b"c", b""):
        digester.update(chunk)
    assert digester.result() == expected(b"abc")


def test_digester_with_no_chunks_gives_the_digests_of_nothing():
    assert Digester().result() == expected(b"")


def test_new_token_is_32_lowercase_hex_characters():
    token = new_token()
    assert len(token) == 32
    assert set(token) <= set("0123456789abcdef")
    assert is_token(token) is True


def test_new_token_is_unique_over_many_draws():
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0123456789abcdef0123456789abcdef", True),
        ("f" * 32, True),
        ("0123456789ABCDEF0123456789ABCDEF", False),
        ("0" * 31, False),
        ("0" * 33, False),
        ("0" * 64, False),
        ("g" * 32, False),
        ("0123456789abcdef0123456789abcde\n", False),
        ("0123456789abcdef0123456789abcdef\n", False),
        (" 0123456789abcdef0123456789abcdef", False),
        ("", False),
        ("../../etc/passwd", False),
    ],
)
def test_is_token_accepts_exactly_32_lowercase_hex(value, valid):
    assert is_token(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (hashlib.sha256(b"x").hexdigest(), True),
        ("0" * 64, True),
        (hashlib.sha256(b"x").hexdigest().upper(), False),
        ("0" * 63, False),
        ("0" * 65, False),
        ("0" * 32, False),
        ("z" * 64, False),
        ("0" * 64 + "\n", False),
        ("", False),
    ],
)
def test_is_sha256_accepts_exactly_64_lowercase_hex(value, valid):
    assert is_sha256(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (hashlib.md5(b"x").hexdigest(), True),
        ("0" * 32, True),
        (hashlib.md5(b"x").hexdigest().upper(), False),
        ("0" * 31, False),
        ("0" * 33, False),
        ("0" * 64, False),
        ("x" * 32, False),
        ("0" * 32 + "\n", False),
        ("", False),
    ],
)
def test_is_md5_accepts_exactly_32_lowercase_hex(value, valid):
    assert is_md5(value) is valid


def test_digest_check_accepts_exactly_the_expected_bytes_and_size():
    data = b"voice note"
    sha = hashlib.sha256(data).hexdigest()

    assert DigestCheck.of([b"voice ", b"note"], sha, len(data)).matches is True
    assert DigestCheck.of([data], sha).matches is True  # size unknown: the digest decides
    assert DigestCheck.of([data], sha, len(data) + 1).matches is False
    assert DigestCheck.of([b"voice nots"], sha, len(data)).matches is False


def test_digest_check_says_what_it_found_instead():
    check = DigestCheck.of([b"abc"], "0" * 64, 3)

    assert check.mismatch() == f"3 bytes hashing to {hashlib.sha256(b'abc').hexdigest()}, expected {'0' * 64}"

"""media_store.serving.conditional: Range parsing and the conditional-request plan (RFC 9110 §13–14)."""

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.services import attach_file
from media_store.serving.conditional import CACHE_FOREVER, UNSATISFIABLE, ByteRange, parse_range, plan
from tests.support.media import random_bytes

ETAG = f'"{hashlib.sha256(b"the representation").hexdigest()}"'
WEAK_ETAG = f"W/{ETAG}"
OTHER_ETAG = f'"{hashlib.sha256(b"another representation").hexdigest()}"'
HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"
SIZE = 1000
FULL_HEADERS = {"ETag": ETAG, "Cache-Control": CACHE_FOREVER, "Accept-Ranges": "bytes"}
HUGE = "9" * 5000  # more digits than Python's int() accepts by default (4300)


def get(headers: dict[str, str], size: int = SIZE):
    return plan("GET", headers, size=size, etag=ETAG)


# --- parse_range ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-499", 1000, ByteRange(0, 499)),
        ("bytes=500-", 1000, ByteRange(500, 999)),
        ("bytes=-200", 1000, ByteRange(800, 999)),
        ("bytes=0-0", 1000, ByteRange(0, 0)),
        ("bytes=999-999", 1000, ByteRange(999, 999)),
        ("bytes=999-", 1000, ByteRange(999, 999)),
        ("bytes=-1", 1000, ByteRange(999, 999)),
        ("bytes=900-5000", 1000, ByteRange(900, 999)),
        ("bytes=-5000", 1000, ByteRange(0, 999)),
        ("bytes=-1000", 1000, ByteRange(0, 999)),
        ("bytes=0-" + "9" * 30, 1000, ByteRange(0, 999)),
        ("Bytes=0-9", 1000, ByteRange(0, 9)),
        ("BYTES=0-9", 1000, ByteRange(0, 9)),
        ("bytes= 0 - 9 ", 1000, ByteRange(0, 9)),
        ("bytes=0-0", 1, ByteRange(0, 0)),
    ],
)
def test_parse_range_returns_the_inclusive_byte_window(header, size, expected):
    assert parse_range(header, size) == expected


def test_byte_range_length_counts_both_ends():
    assert ByteRange(10, 19).length == 10
    assert ByteRange(0, 0).length == 1


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1000-", 1000),
        ("bytes=1000-1000", 1000),
        ("bytes=1500-2000", 1000),
        ("bytes=-0", 1000),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-1", 0),
        ("bytes=-0", 0),
    ],
)
def test_parse_range_reports_ranges_outside_the_representation_as_unsatisfiable(header, size):
    assert parse_range(header, size) == UNSATISFIABLE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=0-1,5-6",
        "bytes=0-1, 5-6",
        "bytes=2000-3000,4000-5000",
        "bytes=0-1,",
        "items=0-1",
        "bytes 0-1",
        "0-1",
        "=0-1",
        "bytes=",
        "bytes=-",
        "bytes=5-3",
        "bytes=1-0",
        "bytes=a-b",
        "bytes=0-1-2",
        "bytes=--1",
        "bytes=1.5-2",
        "bytes=+1-2",
        "bytes=0x1-2",
    ],
)
def test_parse_range_ignores_absent_malformed_and_multiple_ranges(header):
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=\u0663-\u0665", "bytes=\uff10-\uff19", "bytes=-\u0665"])
def test_parse_range_ignores_non_ascii_digits(header):
    """RFC 9110 §2.1: DIGIT is %x30-39; Arabic-Indic or full-width digits are malformed."""
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"bytes={HUGE}-", UNSATISFIABLE),
        (f"bytes={HUGE}-{HUGE}", UNSATISFIABLE),
        (f"bytes=0-{HUGE}", ByteRange(0, SIZE - 1)),
        (f"bytes=-{HUGE}", ByteRange(0, SIZE - 1)),
    ],
    ids=["huge-first", "huge-first-and-last", "huge-last", "huge-suffix"],
)
def test_parse_range_handles_positions_with_thousands_of_digits(header, expected):
    assert parse_range(header, SIZE) == expected


# --- plan: full responses and ranges ----------------------------------------------------------


def test_plan_without_conditions_sends_the_whole_representation_with_cache_headers():
    decision = get({})
    assert decision.status == 200
    assert decision.start == 0
    assert decision.length == SIZE
    assert decision.headers == FULL_HEADERS
    assert decision.has_body is True


def test_plan_for_a_single_range_sends_206_with_content_range_and_cache_headers():
    decision = get({"Range": "bytes=10-19"})
    assert decision.status == 206
    assert decision.start == 10
    assert decision.length == 10
    assert decision.headers == {**FULL_HEADERS, "Content-Range": f"bytes 10-19/{SIZE}"}
    assert decision.has_body is True


@pytest.mark.parametrize(
    ("header", "content_range", "start", "length"),
    [
        ("bytes=500-", "bytes 500-999/1000", 500, 500),
        ("bytes=-100", "bytes 900-999/1000", 900, 100),
        ("bytes=0-0", "bytes 0-0/1000", 0, 1),
        ("bytes=990-2000", "bytes 990-999/1000", 990, 10),
        ("bytes=-5000", "bytes 0-999/1000", 0, 1000),
    ],
)
def test_plan_content_range_names_the_clamped_window(header, content_range, start, length):
    decision = get({"Range": header})
    assert decision.status == 206
    assert decision.headers["Content-Range"] == content_range
    assert (decision.start, decision.length) == (start, length)


def test_plan_honours_range_on_head_too():
    decision = plan("HEAD", {"Range": "bytes=0-9"}, size=SIZE, etag=ETAG)
    assert decision.status == 206
    assert decision.headers["Content-Range"] == f"bytes 0-9/{SIZE}"


def test_plan_ignores_range_for_other_methods():
    decision = plan("POST", {"Range": "bytes=0-9"}, size=SIZE, etag=ETAG)
    assert decision.status == 200
    assert decision.length == SIZE


@pytest.mark.parametrize(("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0)])
def test_plan_for_an_unsatisfiable_range_sends_416_with_the_size(header, size):
    decision = get({"Range": header}, size=size)
    assert decision.status == 416
    assert decision.headers["Content-Range"] == f"bytes */{size}"
    assert decision.has_body is False


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "bytes=5-3", "items=0-1", "bytes=-"])
def test_plan_for_multi_or_malformed_ranges_sends_the_whole_representation(header):
    decision = get({"Range": header})
    assert decision.status == 200
    assert decision.length == SIZE
    assert "Content-Range" not in decision.headers


def test_plan_for_an_empty_representation_sends_200_with_no_bytes():
    decision = get({}, size=0)
    assert decision.status == 200
    assert decision.length == 0


# --- plan: If-Match ---------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", [OTHER_ETAG, WEAK_ETAG, f"{OTHER_ETAG}, {WEAK_ETAG}", '""', "garbage"])
def test_plan_if_match_without_a_strong_match_fails_with_412(if_match):
    decision = get({"If-Match": if_match})
    assert decision.status == 412
    assert decision.has_body is False


@pytest.mark.parametrize("if_match", [ETAG, "*", f"{OTHER_ETAG}, {ETAG}", f" {ETAG} "])
def test_plan_if_match_with_a_strong_match_proceeds(if_match):
    assert get({"If-Match": if_match}).status == 200


def test_plan_if_match_is_checked_before_if_none_match_and_range():
    decision = get({"If-Match": OTHER_ETAG, "If-None-Match": ETAG, "Range": "bytes=0-9"})
    assert decision.status == 412


# --- plan: If-None-Match ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "if_none_match",
    [ETAG, "*", WEAK_ETAG, f"{OTHER_ETAG}, {ETAG}", f'"a", {WEAK_ETAG}', f'"a",{ETAG},"b"', f"  {ETAG}  "],
)
def test_plan_if_none_match_with_a_weak_match_sends_304_with_validators(if_none_match):
    decision = get({"If-None-Match": if_none_match})
    assert decision.status == 304
    assert decision.headers == {"ETag": ETAG, "Cache-Control": CACHE_FOREVER}
    assert decision.has_body is False


@pytest.mark.parametrize("if_none_match", [OTHER_ETAG, f'W/{OTHER_ETAG}, "a"', '""', ETAG.strip('"')])
def test_plan_if_none_match_without_a_match_sends_the_representation(if_none_match):
    assert get({"If-None-Match": if_none_match}).status == 200


@pytest.mark.parametrize("range_header", ["bytes=0-9", "bytes=5000-"])
def test_plan_if_none_match_is_checked_before_range(range_header):
    assert get({"If-None-Match": ETAG, "Range": range_header}).status == 304


def test_plan_a_failed_if_none_match_still_honours_range():
    decision = get({"If-None-Match": OTHER_ETAG, "Range": "bytes=0-9"})
    assert decision.status == 206


# --- plan: If-Range ---------------------------------------------------------------------------


def test_plan_if_range_with_the_current_strong_etag_sends_the_range():
    decision = get({"Range": "bytes=0-9", "If-Range": ETAG})
    assert decision.status == 206
    assert decision.headers["Content-Range"] == f"bytes 0-9/{SIZE}"


@pytest.mark.parametrize("if_range", [WEAK_ETAG, OTHER_ETAG, HTTP_DATE, "*", ""])
def test_plan_if_range_with_any_other_validator_sends_the_whole_representation(if_range):
    decision = get({"Range": "bytes=0-9", "If-Range": if_range})
    assert decision.status == 200
    assert decision.length == SIZE
    assert decision.headers == FULL_HEADERS


def test_plan_if_range_that_fails_turns_an_unsatisfiable_range_into_a_full_200():
    assert get({"Range": "bytes=5000-", "If-Range": OTHER_ETAG}).status == 200


def test_plan_if_range_without_range_sends_the_whole_representation():
    assert get({"If-Range": ETAG}).status == 200


# --- properties -------------------------------------------------------------------------------

ASCII_NUMBER = st.one_of(
    st.integers(min_value=0, max_value=12_000).map(str),
    st.integers(min_value=0).map(str),
    st.just(""),
    st.just("0"),
    st.text("0123456789", min_size=1, max_size=40),
)
RANGE_SPEC = st.one_of(
    st.builds(lambda first, last: f"{first}-{last}", ASCII_NUMBER, ASCII_NUMBER),
    ASCII_NUMBER.map(lambda suffix: f"-{suffix}"),
    st.builds(lambda n, sign: f"{sign}{n}", st.integers(), st.sampled_from(["", "-", "+", "--"])),
    st.text(st.sampled_from("0123456789-, \t=x"), max_size=12),
)
SPACE = st.sampled_from(["", " ", "  ", "\t"])
SEPARATOR = st.builds(lambda before, after: f"{before},{after}", SPACE, SPACE)
STRUCTURED_RANGE = st.builds(
    lambda unit, equals, specs, separator, lead: lead + unit + equals + separator.join(specs),
    st.sampled_from(["bytes", "Bytes", "BYTES", " bytes", "bytes ", "items", "", "byte"]),
    st.sampled_from(["=", "", "==", " = "]),
    st.lists(RANGE_SPEC, min_size=1, max_size=3),
    SEPARATOR,
    SPACE,
)
ANY_RANGE = st.one_of(st.text(), STRUCTURED_RANGE)


def check_plan_invariants(decision, size: int) -> None:
    assert decision.status in {200, 206, 416}
    if decision.status == 206:
        assert decision.start >= 0
        assert decision.length >= 1
        assert decision.start + decision.length <= size
        last = decision.start + decision.length - 1
        assert decision.headers["Content-Range"] == f"bytes {decision.start}-{last}/{size}"
    elif decision.status == 416:
        assert decision.headers["Content-Range"] == f"bytes */{size}"
    else:
        assert (decision.start, decision.length) == (0, size)


@settings(max_examples=300, deadline=None)
@given(header=st.text(), size=st.integers(min_value=0, max_value=10_000))
def test_plan_never_fails_on_any_text_range_header(header, size):
    check_plan_invariants(get({"Range": header}, size=size), size)


@settings(max_examples=300, deadline=None)
@given(header=STRUCTURED_RANGE, size=st.integers(min_value=0, max_value=10_000))
def test_plan_never_fails_on_generated_byte_range_headers(header, size):
    check_plan_invariants(get({"Range": header}, size=size), size)


@settings(max_examples=300, deadline=None)
@given(
    first=st.one_of(st.none(), st.integers(min_value=0, max_value=2_000)),
    last=st.one_of(st.none(), st.integers(min_value=0, max_value=2_000)),
    size=st.integers(min_value=0, max_value=1_000),
)
def test_parse_range_agrees_with_rfc_9110_for_one_well_formed_spec(first, last, size):
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    if first is None and last is None:
        expected = None  # "bytes=-"
    elif first is None:
        expected = ByteRange(max(0, size - last), size - 1) if last > 0 and size > 0 else UNSATISFIABLE
    elif last is not None and last < first:
        expected = None
    elif first >= size:
        expected = UNSATISFIABLE
    else:
        expected = ByteRange(first, size - 1 if last is None else min(last, size - 1))
    assert parse_range(header, size) == expected


CONDITION = st.one_of(
    st.none(), st.text(max_size=40), st.sampled_from([ETAG, WEAK_ETAG, OTHER_ETAG, "*", HTTP_DATE, ""])
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD"]),
    conditions=st.fixed_dictionaries(
        {
            "Range": st.one_of(st.none(), ANY_RANGE),
            "If-Match": CONDITION,
            "If-None-Match": CONDITION,
            "If-Range": CONDITION,
        }
    ),
    size=st.integers(min_value=0, max_value=10_000),
)
def test_plan_never_fails_on_any_mix_of_conditional_headers(method, conditions, size):
    headers = {name: value for name, value in conditions.items() if value is not None}
    decision = plan(method, headers, size=size, etag=ETAG)
    assert decision.status in {200, 206, 304, 412, 416}
    if decision.status in (200, 206, 416):
        check_plan_invariants(decision, size)


# --- end to end through the view --------------------------------------------------------------

PAYLOAD_SIZE = 3000
POSITION = st.one_of(st.integers(min_value=0, max_value=2 * PAYLOAD_SIZE).map(str), st.just(""))
VIEW_RANGE = st.one_of(
    st.builds(lambda first, last: f"bytes={first}-{last}", POSITION, POSITION),
    STRUCTURED_RANGE.filter(lambda header: len(header) < 200),
    st.text(max_size=30),
)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def served_payload(tmp_path):
    payload = random_bytes(PAYLOAD_SIZE)
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    attachment = attach_file(path)
    return f"/media/{attachment.media_hash}", payload


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=VIEW_RANGE)
def test_the_view_sends_exactly_the_requested_slice(client, served_payload, header):
    url, payload = served_payload
    response = client.get(url, headers={"Range": header})
    body = body_of(response)
    assert response.status_code in {200, 206, 416}
    if response.status_code == 206:
        unit, _, window = response["Content-Range"].partition(" ")
        span, _, total = window.partition("/")
        start, _, end = span.partition("-")
        assert unit == "bytes"
        assert int(total) == len(payload)
        assert body == payload[int(start) : int(end) + 1]
        assert int(response["Content-Length"]) == len(body)
        assert len(body) >= 1
    elif response.status_code == 200:
        assert body == payload
        assert int(response["Content-Length"]) == len(payload)
    else:
        assert response["Content-Range"] == f"bytes */{len(payload)}"


@pytest.mark.django_db
def test_the_view_answers_a_range_with_thousands_of_digits_without_an_error(client, served_payload):
    url, payload = served_payload
    response = client.get(url, headers={"Range": f"bytes=0-{HUGE}"})
    assert response.status_code == 206
    assert body_of(response) == payload

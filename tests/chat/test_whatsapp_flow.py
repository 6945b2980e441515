"""WhatsApp media in the chat domain: ``GET /media?id=``, ``fetch_whatsapp_media`` (command and
Celery task) and the webhook helper — against a local fake Graph API server (real HTTP, real
JSON and error shapes), the real store, Redis and moto S3.

``BASE_BACKOFF_SECONDS=0`` keeps retries instant here; backoff itself is tested in
``tests/media_store/fetch/test_media_ids.py``. Timestamps are real (these paths use the wall clock).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from chat.inbound import (
    MediaUnavailable,
    NotMediaMessage,
    attachment_for_media_id,
    attachment_from_webhook_message,
)
from chat.models import Message, MessageAttachment
from chat.tasks import fetch_whatsapp_media
from media_store import runtime
from media_store.fetch.media_ids import statistics
from media_store.ingest import commit
from media_store.models import Blob
from tests.support.fake_graph import FakeGraph, server_error
from tests.support.media import jpeg_bytes, mp4_bytes, ogg_opus_bytes, pdf_bytes, webp_bytes
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db

TOKEN = "test-token"
API_TOKEN = "operator-token"
MEDIA_ID = "1037543291543636"
SENDER = "5511999998888"
DAY = 86400
SUCCESS_KEYS = ["status", "media_hash", "short_url", "mime_type", "file_size", "sha256"]


@pytest.fixture
def graph(settings) -> Iterator[FakeGraph]:
    with FakeGraph(token=TOKEN) as fake:
        settings.DOWNLOAD_ALLOW_PRIVATE_NETWORKS = True
        settings.WHATSAPP_GRAPH_URL = fake.url
        settings.WHATSAPP_TOKEN = TOKEN
        settings.BASE_BACKOFF_SECONDS = 0.0
        yield fake


@pytest.fixture
def staff_client(client, django_user_model) -> Client:
    client.force_login(django_user_model.objects.create_user("operator", password="x", is_staff=True))
    return client


@pytest.fixture
def token_client(settings) -> Client:
    settings.MEDIA_API_TOKEN = API_TOKEN
    return Client(headers={"Authorization": f"Bearer {API_TOKEN}"})


def now() -> int:
    return int(time.time())


def success(attachment: MessageAttachment) -> dict:
    return {
        "status": "success",
        "media_hash": attachment.media_hash,
        "short_url": f"http://media.example.test/media/{attachment.media_hash}",
        "mime_type": attachment.mime_type,
        "file_size": attachment.file_size,
        "sha256": attachment.sha256,
    }


# -- GET /media?id=<id>&timestamp=<unix> ---------------------------------------------------------


def test_the_endpoint_fetches_and_answers_the_short_url(graph, staff_client):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")

    response = staff_client.get("/media", {"id": MEDIA_ID, "timestamp": now() - 60})

    attachment = MessageAttachment.objects.get()
    assert response.status_code == 200
    assert list(response.json()) == SUCCESS_KEYS
    assert response.json() == success(attachment)
    assert (attachment.mime_type, attachment.file_size) == ("image/jpeg", len(data))
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.whatsapp_media_id == MEDIA_ID
    assert (graph.count("metadata"), graph.count("download")) == (1, 1)


def test_the_short_url_serves_the_fetched_bytes_publicly(graph, staff_client):
    data = ogg_opus_bytes()
    graph.add_media(MEDIA_ID, data, "audio/ogg; codecs=opus")
    short_url = staff_client.get("/media", {"id": MEDIA_ID}).json()["short_url"]

    response = Client().get(short_url.removeprefix("http://media.example.test"))

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/ogg"
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == data


def test_the_same_id_twice_answers_the_same_attachment_without_api_calls(graph, staff_client):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    first = staff_client.get("/media", {"id": MEDIA_ID}).json()
    second = staff_client.get("/media", {"id": MEDIA_ID}).json()

    assert first == second
    assert MessageAttachment.objects.count() == 1
    assert graph.count() == 2
    assert statistics()["cache_hit_rate"] == "50.0%"


def test_an_expired_id_is_410(graph, staff_client):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    response = staff_client.get("/media", {"id": MEDIA_ID, "timestamp": now() - 8 * DAY})

    assert (response.status_code, response.json()) == (410, {"status": "error", "reason": "expired"})
    assert graph.count() == 0
    assert MessageAttachment.objects.count() == 0


def test_a_failed_id_is_404_and_not_asked_for_again(graph, staff_client):
    first = staff_client.get("/media", {"id": "999"})
    second = staff_client.get("/media", {"id": "999"})

    assert (first.status_code, first.json()) == (404, {"status": "error", "reason": "failed"})
    assert (second.status_code, second.json()) == (404, {"status": "error", "reason": "failed"})
    assert graph.count("metadata", "999") == 1
    assert statistics() == {
        "total_requests": 2,
        "cache_hits": 0,
        "api_calls": 1,
        "failed_calls": 2,
        "expired_media": 0,
        "cache_hit_rate": "0.0%",
    }


def test_an_upstream_still_failing_after_retries_is_502(graph, staff_client):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    graph.fail_metadata(MEDIA_ID, server_error(503), times=3)

    response = staff_client.get("/media", {"id": MEDIA_ID})

    assert (response.status_code, response.json()) == (502, {"status": "error", "reason": "upstream"})
    assert graph.count("metadata") == 3


def test_a_store_that_cannot_keep_the_media_is_503_with_retry_after_not_502(graph, staff_client, settings):
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # our origin is down, Meta is fine
    settings.MEDIA_ORIGIN_TIMEOUT = 1.0
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    response = staff_client.get("/media", {"id": MEDIA_ID})

    assert (response.status_code, response.json()) == (503, {"status": "error", "reason": "unavailable"})
    assert response["Retry-After"] == "30"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({}, "the id query parameter is required"),
        ({"id": ""}, "the id query parameter is required"),
        ({"id": "  "}, "the id query parameter is required"),
        ({"id": MEDIA_ID, "timestamp": "yesterday"}, "invalid timestamp 'yesterday': expected unix seconds"),
        ({"id": MEDIA_ID, "timestamp": ""}, "invalid timestamp '': expected unix seconds"),
        (
            {"id": MEDIA_ID, "timestamp": "1732240000000"},
            "invalid timestamp '1732240000000': expected unix seconds, this looks like milliseconds",
        ),
        ({"id": "../../me"}, "invalid WhatsApp media id '../../me': expected 1-128 letters or digits"),
    ],
)
def test_bad_input_is_400_with_a_reason(graph, staff_client, query, detail):
    response = staff_client.get("/media", query)

    assert (response.status_code, response.json()) == (
        400,
        {"status": "error", "reason": "invalid", "detail": detail},
    )
    assert graph.count() == 0


def test_anonymous_callers_get_401_with_a_bearer_challenge(graph, client):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    response = client.get("/media", {"id": MEDIA_ID})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert graph.count() == 0


def test_logged_in_non_staff_users_get_403(graph, client):
    client.force_login(get_user_model().objects.create_user("visitor", password="x"))

    assert client.get("/media", {"id": MEDIA_ID}).status_code == 403
    assert graph.count() == 0


def test_the_api_token_is_accepted(graph, token_client):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    assert token_client.get("/media", {"id": MEDIA_ID}).status_code == 200


def test_a_wrong_api_token_is_401(graph, settings):
    settings.MEDIA_API_TOKEN = API_TOKEN

    response = Client(headers={"Authorization": "Bearer nope"}).get("/media", {"id": MEDIA_ID})

    assert response.status_code == 401
    assert graph.count() == 0


def test_other_methods_are_405(graph, staff_client):
    assert staff_client.post("/media", {"id": MEDIA_ID}).status_code == 405


def test_the_token_routes_under_media_are_untouched(graph, staff_client):
    assert staff_client.get("/media/").status_code == 404
    assert Client().get("/media/" + "0" * 32).status_code == 404


# -- manage.py fetch_whatsapp_media --------------------------------------------------------------


def command(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("fetch_whatsapp_media", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def command_failing(*args: str) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("fetch_whatsapp_media", *args, stdout=out, stderr=StringIO())
    return out.getvalue(), raised.value


def test_the_command_prints_the_short_url(graph):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")

    out, err = command(MEDIA_ID, "--timestamp", str(now()))

    attachment = MessageAttachment.objects.get()
    assert out.splitlines() == [
        f"{attachment.short_url}  {attachment.original_filename}  image/jpeg  {len(data)} bytes"
    ]
    assert err == ""


def test_the_command_json_has_the_endpoints_keys(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    out, _err = command(MEDIA_ID, "--json")

    lines = out.splitlines()
    assert len(lines) == 1
    assert list(json.loads(lines[0])) == SUCCESS_KEYS
    assert json.loads(lines[0]) == success(MessageAttachment.objects.get())


@pytest.mark.parametrize(
    ("setup", "args", "reason"),
    [
        (lambda graph: graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg"), ["--timestamp", "1000"], "expired"),
        (lambda graph: None, [], "failed"),
        (
            lambda graph: (
                graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg"),
                graph.fail_metadata(MEDIA_ID, server_error(), times=3),
            ),
            [],
            "upstream",
        ),
    ],
    ids=["expired", "failed", "upstream"],
)
def test_the_command_exits_non_zero_on_any_failure_and_still_prints_json(graph, setup, args, reason):
    setup(graph)

    out, error = command_failing(MEDIA_ID, *args, "--json")

    assert [json.loads(line) for line in out.splitlines()] == [{"status": "error", "reason": reason}]
    assert error.returncode == 1
    assert str(error).startswith(f"{MEDIA_ID}: {reason}: ")


def test_the_command_without_json_prints_nothing_on_stdout_when_it_fails(graph):
    out, error = command_failing("999")

    assert out == ""
    assert str(error).startswith("999: failed: Graph API code 100/33")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timestamp", "soon"], "invalid timestamp 'soon': expected unix seconds"),
        (["--timestamp", "-3"], "invalid timestamp '-3': expected unix seconds"),
    ],
)
def test_the_command_refuses_bad_input_with_one_line(graph, args, message):
    out, error = command_failing(MEDIA_ID, *args)

    assert (out, str(error), error.returncode) == ("", message, 1)
    assert graph.count() == 0


def test_the_command_refuses_a_bad_media_id(graph):
    _out, error = command_failing("a/b")

    assert str(error) == "invalid WhatsApp media id 'a/b': expected 1-128 letters or digits"


def test_no_cache_asks_the_api_again_and_keeps_the_attachment(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    command(MEDIA_ID)

    out, _err = command(MEDIA_ID, "--no-cache", "--json")

    assert json.loads(out)["media_hash"] == MessageAttachment.objects.get().media_hash
    assert (graph.count("metadata"), graph.count("download")) == (2, 2)


# -- the Celery task -----------------------------------------------------------------------------


def test_the_task_returns_the_attachment_id(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    result = fetch_whatsapp_media.apply(args=(MEDIA_ID, str(now())))

    assert result.successful()
    assert result.get() == MessageAttachment.objects.get(whatsapp_media_id=MEDIA_ID).pk


def test_the_task_attaches_the_media_to_the_message(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    message = Message.objects.create(chat_id=SENDER, external_id="wamid.X1", text="hello")

    attachment_id = fetch_whatsapp_media.apply(kwargs={"media_id": MEDIA_ID, "message_id": message.pk}).get()

    assert MessageAttachment.objects.get(pk=attachment_id).message == message


@pytest.mark.parametrize(("timestamp", "status"), [(None, "failed"), ("1000", "expired")])
def test_the_task_returns_the_failure_status(graph, timestamp, status):
    assert fetch_whatsapp_media.apply(args=("999", timestamp)).get() == status
    assert MessageAttachment.objects.count() == 0


def test_the_task_fails_loudly_for_a_missing_message(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    with pytest.raises(Message.DoesNotExist):
        fetch_whatsapp_media.apply(args=(MEDIA_ID, None, 424242)).get()

    assert graph.count() == 0


def test_the_task_is_registered_under_its_name():
    assert fetch_whatsapp_media.name == "chat.fetch_whatsapp_media"


# -- attachment_for_media_id ---------------------------------------------------------------------


def test_the_same_id_gives_the_same_attachment(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")

    first = attachment_for_media_id(MEDIA_ID)
    second = attachment_for_media_id(MEDIA_ID)
    refetched = attachment_for_media_id(MEDIA_ID, use_cache=False)

    assert first.pk == second.pk == refetched.pk
    assert MessageAttachment.objects.count() == 1
    assert graph.count() == 4


def test_two_ids_with_the_same_bytes_get_two_attachments_and_one_blob(graph):
    data = jpeg_bytes()
    graph.add_media("111", data, "image/jpeg")
    graph.add_media("222", data, "image/jpeg")

    first, second = attachment_for_media_id("111"), attachment_for_media_id("222")

    assert first.pk != second.pk
    assert first.blob_id == second.blob_id
    assert Blob.objects.count() == 1


def test_an_attachment_without_a_message_is_given_one(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    loose = attachment_for_media_id(MEDIA_ID)
    message = Message.objects.create(external_id="wamid.A")

    attached = attachment_for_media_id(MEDIA_ID, message=message)

    assert attached.pk == loose.pk
    loose.refresh_from_db()
    assert loose.message == message


def test_an_attachment_keeps_the_message_it_has(graph):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    original = Message.objects.create(external_id="wamid.A")
    attachment_for_media_id(MEDIA_ID, message=original)

    again = attachment_for_media_id(MEDIA_ID, message=Message.objects.create(external_id="wamid.B"))

    again.refresh_from_db()
    assert again.message == original


def test_the_same_id_asked_for_a_day_later_restarts_its_contents_age(graph, monkeypatch):
    graph.add_media(MEDIA_ID, jpeg_bytes(), "image/jpeg")
    first = attachment_for_media_id(MEDIA_ID)
    written = runtime.get_origin().stat(first.blob.origin_key).modified
    monkeypatch.setattr(commit, "REFRESH_AFTER_SECONDS", 1.0)  # "a day later", in two seconds
    time.sleep(2.1)
    asked_at = int(time.time())  # S3 keeps whole seconds

    again = attachment_for_media_id(MEDIA_ID)

    assert again.pk == first.pk
    assert runtime.get_origin().stat(first.blob.origin_key).modified >= asked_at > written  # its age counts from now
    assert graph.count() == 2


@pytest.mark.parametrize(
    ("media_id", "timestamp", "status", "http_status"),
    [("999", None, "failed", 404), (MEDIA_ID, 1000, "expired", 410)],
)
def test_unavailable_media_raises_with_its_status(graph, media_id, timestamp, status, http_status):
    with pytest.raises(MediaUnavailable) as raised:
        attachment_for_media_id(media_id, timestamp)

    assert (raised.value.status, raised.value.http_status) == (status, http_status)
    assert str(raised.value).startswith(f"WhatsApp media {media_id}: {status} (")


# -- the webhook helper --------------------------------------------------------------------------


def webhook_message(kind: str, media_id: str, data: bytes, mime_type: str, *, timestamp: int, **fields) -> dict:
    """One ``entry[].changes[].value.messages[]`` item as the Cloud API delivers it."""
    return {
        "from": SENDER,
        "id": f"wamid.HBgNNTUxMTk5OTk5ODg4OBUCABIYFjNFQjA{media_id}",
        "timestamp": str(timestamp),
        "type": kind,
        kind: {
            "mime_type": mime_type,
            "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
            "id": media_id,
            **fields,
        },
    }


WEBHOOK_CASES = [
    ("audio", ogg_opus_bytes, "audio/ogg; codecs=opus", {"voice": True}, "audio/ogg", "audio", None, ""),
    ("image", jpeg_bytes, "image/jpeg", {"caption": "look"}, "image/jpeg", "image", None, "look"),
    ("video", mp4_bytes, "video/mp4", {"caption": "clip"}, "video/mp4", "video", None, "clip"),
    (
        "document",
        pdf_bytes,
        "application/pdf",
        {"caption": "Q3 numbers", "filename": "report.pdf"},
        "application/pdf",
        "document",
        "report.pdf",
        "Q3 numbers",
    ),
    ("sticker", webp_bytes, "image/webp", {"animated": False}, "image/webp", "sticker", None, ""),
]


@pytest.mark.parametrize(
    ("kind", "make", "declared", "fields", "mime_type", "media_type", "filename", "text"),
    WEBHOOK_CASES,
    ids=[case[0] for case in WEBHOOK_CASES],
)
def test_each_webhook_media_type_becomes_a_message_with_an_attachment(
    graph, kind, make, declared, fields, mime_type, media_type, filename, text
):
    data = make()
    graph.add_media(MEDIA_ID, data, declared)
    sent = now() - 30
    entry = webhook_message(kind, MEDIA_ID, data, declared, timestamp=sent, **fields)

    attachment = attachment_from_webhook_message(entry)

    message = Message.objects.get()
    assert (message.chat_id, message.external_id, message.direction, message.text) == (
        SENDER,
        entry["id"],
        Message.Direction.INBOUND,
        text,
    )
    assert message.created_at == datetime.fromtimestamp(sent, UTC)
    assert (attachment.message, attachment.whatsapp_media_id) == (message, MEDIA_ID)
    assert (attachment.mime_type, attachment.media_type, attachment.file_size) == (mime_type, media_type, len(data))
    expected_name = filename or f"{attachment.blob.media_type}-{attachment.sha256[:12]}{attachment.blob.extension}"
    assert attachment.original_filename == expected_name
    assert (graph.count("metadata"), graph.count("download")) == (1, 1)


def test_a_redelivered_webhook_gives_the_same_message_and_attachment(graph):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")
    entry = webhook_message("image", MEDIA_ID, data, "image/jpeg", timestamp=now(), caption="hi")

    first = attachment_from_webhook_message(entry)
    second = attachment_from_webhook_message(entry)

    assert first.pk == second.pk
    assert (Message.objects.count(), MessageAttachment.objects.count()) == (1, 1)
    assert graph.count() == 2


def test_the_chat_id_can_be_given(graph):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")

    attachment = attachment_from_webhook_message(
        webhook_message("image", MEDIA_ID, data, "image/jpeg", timestamp=now()), chat_id="conversation-42"
    )

    assert attachment.message.chat_id == "conversation-42"


@pytest.mark.parametrize(
    "entry",
    [
        {"from": SENDER, "id": "wamid.T", "timestamp": "1", "type": "text", "text": {"body": "hi"}},
        {"from": SENDER, "id": "wamid.L", "timestamp": "1", "type": "location", "location": {"latitude": 1}},
        {"from": SENDER, "id": "wamid.R", "timestamp": "1", "type": "reaction", "reaction": {"emoji": "👍"}},
        {"from": SENDER, "id": "wamid.U", "timestamp": "1", "type": "unsupported", "errors": [{"code": 131051}]},
        {"from": SENDER, "id": "wamid.N", "timestamp": "1"},
    ],
    ids=["text", "location", "reaction", "unsupported", "no-type"],
)
def test_messages_without_media_are_refused_clearly(graph, entry):
    with pytest.raises(NotMediaMessage, match="carries no media \\(expected one of audio, image, video, document"):
        attachment_from_webhook_message(entry)

    assert (Message.objects.count(), graph.count()) == (0, 0)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("not a dict", "a webhook message must be a JSON object"),
        ({"id": "wamid.A", "type": "image", "image": {"mime_type": "image/jpeg"}}, "webhook image message has no"),
        ({"id": "wamid.A", "type": "audio", "audio": "123"}, "webhook audio message has no audio.id"),
        ({"type": "image", "image": {"id": MEDIA_ID}}, "webhook message has no id \\(the wamid\\)"),
        ({"id": "wamid.A", "timestamp": "noon", "type": "image", "image": {"id": MEDIA_ID}}, "invalid timestamp"),
        ({"id": "wamid.A", "type": "image", "image": {"id": "../x"}}, "invalid WhatsApp media id"),
    ],
    ids=["not-a-dict", "no-media-id", "media-not-an-object", "no-wamid", "bad-timestamp", "bad-media-id"],
)
def test_malformed_webhook_messages_are_refused_before_any_call(graph, entry, message):
    with pytest.raises(ValueError, match=message):
        attachment_from_webhook_message(entry)

    assert (Message.objects.count(), graph.count()) == (0, 0)


def test_an_expired_webhook_media_writes_nothing(graph):
    data = jpeg_bytes()
    graph.add_media(MEDIA_ID, data, "image/jpeg")
    entry = webhook_message("image", MEDIA_ID, data, "image/jpeg", timestamp=now() - 8 * DAY)

    with pytest.raises(MediaUnavailable) as raised:
        attachment_from_webhook_message(entry)

    assert raised.value.status == "expired"
    assert (Message.objects.count(), MessageAttachment.objects.count(), graph.count()) == (0, 0, 0)

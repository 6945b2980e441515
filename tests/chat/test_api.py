"""``POST /api/attachments/`` and ``GET /api/attachments/<id>/`` (CONTRACT §4), and the schema."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.models import MessageAttachment
from media_store.models import Blob
from tests.support.contract import PNG_RGB_METADATA, attachment_json
from tests.support.media import jpeg_bytes, ogg_opus_bytes, pdf_bytes, png_bytes, random_bytes
from tests.support.servers import free_port

URL = "/api/attachments/"
API_TOKEN = "s3cret-operator-token"
CSRF_SECRET = "k" * 32


def upload(
    client: Client, data: bytes, name: str = "upload.bin", content_type: str = "application/octet-stream", **extra
):
    """POST one multipart file (plus any extra form fields) to the upload endpoint."""
    payload = {"file": SimpleUploadedFile(name, data, content_type=content_type), **extra}
    return client.post(URL, payload)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("operator", password="x", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def token_client(settings):
    settings.MEDIA_API_TOKEN = API_TOKEN
    return Client(headers={"Authorization": f"Bearer {API_TOKEN}"})


# --- the attachment JSON --------------------------------------------------------------------


@pytest.mark.django_db
def test_upload_returns_201_with_exactly_the_attachment_keys(staff_client, attachment_keys):
    response = upload(staff_client, png_bytes(), "red.png", "image/png")
    assert response.status_code == 201
    assert list(response.json()) == attachment_keys


@pytest.mark.django_db
def test_upload_returns_the_stored_attachment_with_digests_and_dimensions(staff_client):
    data = png_bytes(width=64, height=48)
    body = upload(staff_client, data, "red.png", "image/png").json()
    attachment = MessageAttachment.objects.get()
    assert body == attachment_json(
        attachment, data, mime_type="image/png", media_type="image", width=64, height=48, metadata=PNG_RGB_METADATA
    )
    assert len(body["media_hash"]) == 32


@pytest.mark.parametrize(
    ("make", "name", "claimed", "mime_type", "media_type"),
    [
        (png_bytes, "photo.bin", "application/octet-stream", "image/png", "image"),
        (jpeg_bytes, "photo.png", "image/png", "image/jpeg", "image"),
        (ogg_opus_bytes, "voice", "application/octet-stream", "audio/ogg", "audio"),
        (pdf_bytes, "scan.jpg", "image/jpeg", "application/pdf", "document"),
    ],
)
@pytest.mark.django_db
def test_mime_type_comes_from_the_bytes_not_the_claimed_type_or_name(
    staff_client, make, name, claimed, mime_type, media_type
):
    response = upload(staff_client, make(), name, claimed)
    assert response.status_code == 201
    assert (response.json()["mime_type"], response.json()["media_type"]) == (mime_type, media_type)


@pytest.mark.django_db
def test_upload_fixes_the_stored_filename_to_the_content(staff_client):
    response = upload(staff_client, png_bytes(), "photo.bin")
    assert MessageAttachment.objects.get(pk=response.json()["id"]).original_filename == "photo.png"


@pytest.mark.django_db
def test_filename_field_overrides_the_uploaded_name(staff_client):
    response = upload(staff_client, ogg_opus_bytes(), "blob.bin", filename="voice")
    assert response.status_code == 201
    assert MessageAttachment.objects.get(pk=response.json()["id"]).original_filename == "voice.ogg"


@pytest.mark.django_db
def test_non_image_upload_has_no_dimensions(staff_client):
    body = upload(staff_client, pdf_bytes(), "doc.pdf").json()
    assert (body["width"], body["height"]) == (None, None)


@pytest.mark.django_db
def test_retrieve_returns_the_same_json_as_the_upload(staff_client):
    created = upload(staff_client, jpeg_bytes(), "green.jpg").json()
    response = staff_client.get(f"{URL}{created['id']}/")
    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.django_db
def test_retrieve_of_an_unknown_id_is_404(staff_client):
    created = upload(staff_client, jpeg_bytes(), "green.jpg").json()
    assert staff_client.get(f"{URL}{created['id'] + 1000}/").status_code == 404


@pytest.mark.django_db
def test_the_same_bytes_uploaded_twice_make_two_attachments_and_one_blob(staff_client):
    data = png_bytes()
    first = upload(staff_client, data, "a.png").json()
    second = upload(staff_client, data, "b.png").json()
    assert first["id"] != second["id"]
    assert first["media_hash"] != second["media_hash"]
    assert first["sha256"] == second["sha256"]
    assert MessageAttachment.objects.count() == 2
    assert Blob.objects.count() == 1


@pytest.mark.django_db
def test_a_successful_upload_leaves_no_staged_temp_file(staff_client, staging_leftovers):
    assert upload(staff_client, random_bytes(5000), "data.bin").status_code == 201
    assert staging_leftovers() == []


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_upload_is_401_with_a_bearer_challenge(client):
    response = upload(client, png_bytes())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert MessageAttachment.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_retrieve_is_401(client, attach):
    attachment = attach(png_bytes())
    assert client.get(f"{URL}{attachment.pk}/").status_code == 401


@pytest.mark.django_db
def test_logged_in_non_staff_user_is_403(client):
    client.force_login(get_user_model().objects.create_user("visitor", password="x"))
    response = upload(client, png_bytes())
    assert response.status_code == 403
    assert MessageAttachment.objects.count() == 0


@pytest.mark.django_db
def test_staff_session_can_upload(staff_client):
    assert upload(staff_client, png_bytes()).status_code == 201


@pytest.mark.django_db
def test_session_auth_on_upload_is_csrf_protected(browser_staff_client):
    """A staff session from a browser must carry the CSRF token (the bearer token need not)."""
    assert upload(browser_staff_client, png_bytes()).status_code == 403
    assert MessageAttachment.objects.count() == 0


@pytest.fixture
def browser_staff_client(django_user_model):
    """A staff session that must pass the CSRF check, as a browser's would."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_user("operator", password="x", is_staff=True))
    client.cookies["csrftoken"] = CSRF_SECRET
    return client


@pytest.mark.django_db
def test_staff_session_with_a_csrf_token_can_upload(browser_staff_client, staging_leftovers):
    data = png_bytes()
    response = upload(browser_staff_client, data, "red.png", csrfmiddlewaretoken=CSRF_SECRET)
    assert response.status_code == 201
    assert response.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert MessageAttachment.objects.count() == 1
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_staff_session_upload_over_the_cap_is_413(browser_staff_client, settings, staging_leftovers):
    settings.UPLOAD_MAX_BYTES = 1024
    response = upload(browser_staff_client, random_bytes(4096), "big.bin", csrfmiddlewaretoken=CSRF_SECRET)
    assert response.status_code == 413
    assert MessageAttachment.objects.count() == 0
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_bearer_token_can_upload(token_client):
    response = upload(token_client, png_bytes())
    assert response.status_code == 201
    assert MessageAttachment.objects.count() == 1


@pytest.mark.django_db
def test_bearer_token_can_retrieve(token_client, attach):
    attachment = attach(png_bytes())
    response = token_client.get(f"{URL}{attachment.pk}/")
    assert response.status_code == 200
    assert response.json()["media_hash"] == attachment.media_hash


@pytest.mark.django_db
def test_bearer_token_needs_no_csrf_token(settings):
    settings.MEDIA_API_TOKEN = API_TOKEN
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert upload(client, png_bytes()).status_code == 201


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {API_TOKEN}x",
        "Bearer wrong",
        f"bearer {API_TOKEN[:-1]}",
        "Bearer",
        f"Bearer {API_TOKEN} extra",
    ],
)
@pytest.mark.django_db
def test_a_wrong_bearer_token_is_401(settings, header):
    settings.MEDIA_API_TOKEN = API_TOKEN
    response = upload(Client(headers={"Authorization": header}), png_bytes())
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert MessageAttachment.objects.count() == 0


@pytest.mark.django_db
def test_token_auth_is_off_when_media_api_token_is_empty(settings):
    settings.MEDIA_API_TOKEN = ""
    response = upload(Client(headers={"Authorization": "Bearer "}), png_bytes())
    assert response.status_code == 401
    response = upload(Client(headers={"Authorization": "Bearer anything"}), png_bytes())
    assert response.status_code == 401
    assert MessageAttachment.objects.count() == 0


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_missing_file_is_400_naming_the_field(staff_client):
    response = staff_client.post(URL, {"filename": "x.png"})
    assert response.status_code == 400
    assert list(response.json()) == ["file"]


@pytest.mark.django_db
def test_empty_file_is_400(staff_client, staging_leftovers):
    response = upload(staff_client, b"", "empty.png")
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_content_length_over_the_cap_is_413(staff_client, settings, staging_leftovers):
    settings.UPLOAD_MAX_BYTES = 1024
    response = upload(staff_client, random_bytes(200 * 1024), "big.bin")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_a_body_streamed_past_the_cap_is_413(staff_client, settings, staging_leftovers):
    settings.UPLOAD_MAX_BYTES = 1024
    # Content-Length is within the multipart allowance, so the cap trips while streaming.
    response = upload(staff_client, random_bytes(4096), "big.bin")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


@pytest.mark.django_db
def test_a_file_exactly_at_the_cap_is_accepted(staff_client, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    response = upload(staff_client, random_bytes(1024), "edge.bin")
    assert response.status_code == 201
    assert response.json()["file_size"] == 1024


@pytest.mark.django_db
def test_origin_unreachable_is_503_json_and_leaves_nothing(staff_client, settings, staging_leftovers):
    settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.MEDIA_ORIGIN_TIMEOUT = 1
    response = upload(staff_client, png_bytes(), "red.png")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "origin_unavailable"
    assert MessageAttachment.objects.count() == 0
    assert Blob.objects.count() == 0
    assert staging_leftovers() == []


# --- schema ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_schema_documents_the_attachments_endpoint(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3." in response.content
    assert b"/api/attachments/" in response.content
    assert b"/api/attachments/{id}/" in response.content


@pytest.mark.django_db
def test_a_json_body_is_415(staff_client):
    response = staff_client.post(URL, {"file": "aGVsbG8="}, content_type="application/json")
    assert response.status_code == 415
    assert MessageAttachment.objects.count() == 0

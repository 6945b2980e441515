"""Deleting attachments: DELETE /api/attachments/<id>/, the admin's delete and purge actions.

After each, the token answers 404 at once in this process; content another attachment still
uses keeps working; purged content leaves the cache tiers now and the origin with the sweep.
"""

from __future__ import annotations

import pytest
from django.test import Client

from chat.deletion import delete_attachments
from chat.models import MessageAttachment
from media_store import runtime
from tests.support.media import random_bytes

pytestmark = pytest.mark.django_db

API_TOKEN = "deletion-test-token"
CHANGELIST = "/admin/chat/messageattachment/"


@pytest.fixture
def operator(settings) -> Client:
    settings.MEDIA_API_TOKEN = API_TOKEN
    return Client(headers={"Authorization": f"Bearer {API_TOKEN}"})


def served(client, attachment) -> int:
    return client.get(f"/media/{attachment.media_hash}").status_code


def test_delete_answers_204_and_the_token_404_at_once(operator, client, attach):
    attachment = attach(random_bytes(800), "gone.bin")
    assert served(client, attachment) == 200  # the token is now remembered by this process

    response = operator.delete(f"/api/attachments/{attachment.pk}/")

    assert response.status_code == 204
    assert response.content == b""
    assert served(client, attachment) == 404
    assert operator.get(f"/api/attachments/{attachment.pk}/").status_code == 404


def test_delete_needs_an_operator(client, attach, settings):
    settings.MEDIA_API_TOKEN = API_TOKEN
    attachment = attach(random_bytes(100), "kept.bin")

    anonymous = client.delete(f"/api/attachments/{attachment.pk}/")
    wrong = Client(headers={"Authorization": "Bearer nope"}).delete(f"/api/attachments/{attachment.pk}/")

    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert MessageAttachment.objects.filter(pk=attachment.pk).exists()


def test_deleting_an_unknown_attachment_is_404(operator):
    assert operator.delete("/api/attachments/999999/").status_code == 404


def test_content_shared_with_another_attachment_keeps_being_served(operator, client, attach):
    payload = random_bytes(900)
    first, second = attach(payload, "a.bin"), attach(payload, "b.bin")

    operator.delete(f"/api/attachments/{first.pk}/")

    assert served(client, first) == 404
    assert served(client, second) == 200


def run_action(admin_client, action: str, *attachments):
    return admin_client.post(
        CHANGELIST,
        {"action": action, "index": 0, "_selected_action": [str(a.pk) for a in attachments], "post": "yes"},
        follow=True,
    )


def test_the_admin_delete_action_stops_the_token(admin_client, client, attach):
    attachment = attach(random_bytes(700), "x.bin")
    assert served(client, attachment) == 200

    run_action(admin_client, "delete_selected", attachment)

    assert not MessageAttachment.objects.filter(pk=attachment.pk).exists()
    assert served(client, attachment) == 404


def test_the_admin_change_page_delete_stops_the_token(admin_client, client, attach):
    attachment = attach(random_bytes(700), "y.bin")
    assert served(client, attachment) == 200

    admin_client.post(f"{CHANGELIST}{attachment.pk}/delete/", {"post": "yes"})

    assert not MessageAttachment.objects.filter(pk=attachment.pk).exists()
    assert served(client, attachment) == 404


def test_purge_deletes_and_drops_cached_copies_of_content_nobody_else_uses(admin_client, client, attach):
    shared_payload = random_bytes(600)
    alone, shared, other = attach(random_bytes(500), "alone.bin"), attach(shared_payload), attach(shared_payload)
    store = runtime.get_store()
    for attachment in (alone, shared):
        store.warm(attachment.blob.info())

    page = run_action(admin_client, "purge_attachments", alone, shared)

    assert "Deleted 2 attachment(s)" in page.content.decode()
    assert (served(client, alone), served(client, shared), served(client, other)) == (404, 404, 200)
    assert store.presence(alone.blob.info()) == {"hot": "no", "disk": "no", "origin": "yes"}  # the sweep's job
    assert store.presence(other.blob.info())["disk"] == "yes"


def test_delete_attachments_counts_only_what_it_deleted(attach):
    attachment = attach(random_bytes(100), "z.bin")

    assert delete_attachments([attachment]) == 1
    assert delete_attachments([attachment]) == 0

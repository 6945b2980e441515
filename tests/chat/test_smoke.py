import pytest

from chat.services import attach_file
from tests.support.media import png_bytes


@pytest.mark.django_db
def test_ingest_then_serve(client, tmp_path):
    path = tmp_path / "red.png"
    path.write_bytes(png_bytes())
    attachment = attach_file(path)
    response = client.get(f"/media/{attachment.media_hash}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == path.read_bytes()

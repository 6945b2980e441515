"""backfill_media_hashes / rebuild_short_urls: batches, idempotence, resumability, commands."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from chat import backfill
from chat.backfill import backfill_media_hashes, rebuild_short_urls
from chat.models import MessageAttachment
from media_store.content.digests import is_token
from tests.support.media import random_bytes
from tests.support.servers import PROJECT_ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def attachment(attach):
    """A factory: a fresh attachment of new random bytes."""
    return lambda: attach(random_bytes(64), "file.bin")


@pytest.fixture
def legacy_rows(attachment):
    """A factory: n attachments that lost their tokens (as rows created before tokens existed)."""

    def make(n: int) -> list[int]:
        template = attachment()
        MessageAttachment.objects.bulk_create(
            MessageAttachment(blob=template.blob, original_filename=f"old-{i}.bin", sha256=template.sha256)
            for i in range(n)
        )
        MessageAttachment.objects.exclude(pk=template.pk).update(media_hash=None, short_url=None)
        return list(MessageAttachment.objects.filter(media_hash__isnull=True).values_list("pk", flat=True))

    return make


def test_it_fills_every_missing_token_and_short_url(legacy_rows, settings):
    pks = legacy_rows(25)

    report = backfill_media_hashes(batch_size=10)

    rows = list(MessageAttachment.objects.filter(pk__in=pks).values_list("media_hash", "short_url"))
    assert (report.candidates, report.updated, report.batches) == (25, 25, 3)
    assert all(is_token(token) for token, _ in rows)
    assert len({token for token, _ in rows}) == 25
    assert all(url == f"{settings.PUBLIC_BASE_URL}/media/{token}" for token, url in rows)


def test_a_second_run_changes_nothing(legacy_rows):
    legacy_rows(5)
    backfill_media_hashes()
    before = dict(MessageAttachment.objects.values_list("pk", "media_hash"))

    again = backfill_media_hashes()

    assert (again.candidates, again.updated) == (0, 0)
    assert dict(MessageAttachment.objects.values_list("pk", "media_hash")) == before


def test_a_row_with_a_token_but_no_short_url_keeps_its_token(attachment, settings):
    row = attachment()
    token = row.media_hash
    MessageAttachment.objects.filter(pk=row.pk).update(short_url="")

    backfill_media_hashes()

    row.refresh_from_db()
    assert row.media_hash == token
    assert row.short_url == f"{settings.PUBLIC_BASE_URL}/media/{token}"


def test_a_run_killed_half_way_resumes_where_it_stopped(legacy_rows, monkeypatch):
    legacy_rows(30)
    real_fill = backfill._fill_batch
    batches = []

    def dying_fill(rows):
        if len(batches) == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or a kill, mid-run
        batches.append(rows)
        return real_fill(rows)

    monkeypatch.setattr(backfill, "_fill_batch", dying_fill)
    with pytest.raises(KeyboardInterrupt):
        backfill_media_hashes(batch_size=10)
    monkeypatch.setattr(backfill, "_fill_batch", real_fill)

    assert MessageAttachment.objects.filter(media_hash__isnull=True).count() == 10
    resumed = backfill_media_hashes(batch_size=10)
    assert (resumed.candidates, resumed.updated) == (10, 10)
    assert MessageAttachment.objects.filter(media_hash__isnull=True).count() == 0


def test_dry_run_counts_and_changes_nothing(legacy_rows):
    legacy_rows(7)

    report = backfill_media_hashes(dry_run=True)

    assert (report.candidates, report.updated) == (7, 0)
    assert MessageAttachment.objects.filter(media_hash__isnull=True).count() == 7


def test_a_token_collision_in_a_batch_is_retried_with_fresh_tokens(legacy_rows, attachment, monkeypatch):
    legacy_rows(3)
    taken = MessageAttachment.objects.exclude(media_hash__isnull=True).values_list("media_hash", flat=True).first()
    tokens = iter([taken, "a" * 32, "b" * 32, "c" * 32, "d" * 32, "e" * 32])
    monkeypatch.setattr(backfill, "new_token", lambda: next(tokens))

    report = backfill_media_hashes()

    assert report.updated == 3
    assert set(MessageAttachment.objects.values_list("media_hash", flat=True)) >= {"c" * 32, "d" * 32, "e" * 32}


@pytest.mark.parametrize("size", [0, -5, 100_001])
def test_a_bad_batch_size_is_refused(size):
    with pytest.raises(ValueError, match="batch size"):
        backfill_media_hashes(batch_size=size)


def test_rebuild_short_urls_points_every_row_at_the_new_base(attachment, settings):
    rows = [attachment(), attachment()]
    settings.PUBLIC_BASE_URL = "https://cdn.example.com"

    dry = rebuild_short_urls(dry_run=True)
    report = rebuild_short_urls(batch_size=1)
    again = rebuild_short_urls()

    assert (dry.candidates, dry.updated) == (2, 0)
    assert (report.updated, report.batches) == (2, 2)
    assert again.candidates == 0
    for row in rows:
        row.refresh_from_db()
        assert row.short_url == f"https://cdn.example.com/media/{row.media_hash}"


def test_the_command_prints_a_summary(legacy_rows):
    legacy_rows(4)
    out = StringIO()

    call_command("backfill_media_hashes", "--batch-size", "2", stdout=out, stderr=StringIO())

    assert out.getvalue().startswith("backfilled 4 attachment(s) in 2 batch(es)")


def test_the_command_dry_run_and_bad_input(legacy_rows):
    legacy_rows(2)
    out = StringIO()

    call_command("backfill_media_hashes", "--dry-run", stdout=out)

    assert out.getvalue().strip() == "dry run: 2 attachment(s) need a media_hash/short_url"
    with pytest.raises(CommandError, match="batch size"):
        call_command("backfill_media_hashes", "--batch-size", "0")


def test_rebuild_short_urls_command(attachment, settings):
    attachment()
    settings.PUBLIC_BASE_URL = "https://new.example.com"
    out = StringIO()

    call_command("rebuild_short_urls", stdout=out, stderr=StringIO())

    assert out.getvalue().startswith("rebuilt 1 short URL(s) on https://new.example.com")


def test_the_script_runs_the_same_service(tmp_path):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env = {"SECRET_KEY": "x", "DATABASE_URL": database, "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=PROJECT_ROOT, env=env, check=True)

    result = subprocess.run(
        [sys.executable, "scripts/generate_media_hashes.py", "--dry-run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "dry run: 0 attachment(s) need a media_hash/short_url"

"""The disk tier on a real folder: layout, atomic installs, digest checks, corruption, atime."""

from __future__ import annotations

import os

import pytest

from media_store.content.digests import sha256_file
from media_store.exceptions import DigestMismatch, TierUnavailable
from media_store.tiers import disk as disk_module
from media_store.tiers.disk import DiskTier
from media_store.tiers.guard import OutageGuard
from tests.support.media import ogg_opus_bytes, png_bytes, random_bytes


@pytest.fixture
def root(tmp_path):
    return tmp_path / "disk"


@pytest.fixture
def tier(root) -> DiskTier:
    return DiskTier(root)


@pytest.fixture
def hash_calls(monkeypatch) -> list[str]:
    """Every full-file hash the disk tier computes (the real function, counted)."""
    calls: list[str] = []

    def counting_sha256_file(path):
        calls.append(str(path))
        return sha256_file(path)

    monkeypatch.setattr(disk_module, "sha256_file", counting_sha256_file)
    return calls


def temp_names(root) -> list[str]:
    folder = root / ".tmp"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def read_open(tier: DiskTier, info) -> bytes | None:
    file = tier.open(info)
    if file is None:
        return None
    with file:
        return file.read()


def corrupt_in_place(path, *, offset: int = 0) -> None:
    """Flip one byte without changing the size; the file's mtime moves as a real write's would."""
    before = path.stat()
    with open(path, "r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0xFF]))
    after = path.stat()
    if after.st_mtime_ns == before.st_mtime_ns:  # coarse filesystem clock: make the write visible
        os.utime(path, ns=(after.st_atime_ns, before.st_mtime_ns + 1_000_000))


# -- layout --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "extension", "folder"),
    [
        ("image", ".png", "images"),
        ("sticker", ".webp", "images"),
        ("audio", ".ogg", "audio"),
        ("video", ".mp4", "videos"),
        ("document", ".pdf", "documents"),
    ],
)
def test_files_are_laid_out_by_type_and_named_by_digest(tier, root, make_info, media_type, extension, folder):
    data = random_bytes(300)
    info = make_info(data, media_type=media_type, extension=extension)

    tier.write_bytes(info, data)

    assert info.disk_name == f"{folder}/{info.sha256}{extension}"
    assert tier.path(info) == root / folder / f"{info.sha256}{extension}"
    assert (root / folder / f"{info.sha256}{extension}").read_bytes() == data


def test_it_reads_back_what_was_written(tier, make_info):
    data = png_bytes()
    info = make_info(data, media_type="image", extension=".png")

    tier.write_bytes(info, data)

    assert read_open(tier, info) == data
    assert tier.contains(info) is True


def test_an_absent_file_is_none_not_an_error(tier, make_info):
    info = make_info(b"never written")

    assert tier.open(info) is None
    assert tier.contains(info) is False


def test_installed_files_are_world_readable(tier, make_info):
    data = b"shared with the web server"
    info = make_info(data)

    path = tier.write_chunks(info, [data])

    assert path.stat().st_mode & 0o777 == 0o644


# -- writing: atomic, verified -----------------------------------------------------------------


def test_a_write_in_progress_is_invisible_under_its_final_name(tier, root, make_info):
    data = random_bytes(3 * 4096)
    info = make_info(data)
    seen: list[tuple[bool, list[str]]] = []

    def chunks():
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]
            seen.append((tier.path(info).exists(), temp_names(root)))

    tier.write_chunks(info, chunks())

    assert [exists for exists, _ in seen] == [False, False, False]
    assert all(len(names) == 1 and names[0].startswith("fill-") for _, names in seen)
    assert tier.path(info).read_bytes() == data
    assert temp_names(root) == []


def test_chunks_that_do_not_match_the_digest_are_not_installed(tier, root, make_info):
    info = make_info(b"the real content")

    with pytest.raises(DigestMismatch):
        tier.write_chunks(info, [b"the fake ", b"content"])

    assert tier.path(info).exists() is False
    assert temp_names(root) == []
    assert tier.open(info) is None


def test_a_failing_source_leaves_no_temp_file(tier, root, make_info):
    info = make_info(b"the real content")

    def broken_stream():
        yield b"the real "
        raise ConnectionResetError("origin hung up")

    with pytest.raises(ConnectionResetError):
        tier.write_chunks(info, broken_stream())

    assert tier.path(info).exists() is False
    assert temp_names(root) == []


def test_adopt_moves_a_verified_file_into_place(tier, root, make_info, tmp_path):
    data = ogg_opus_bytes()
    info = make_info(data, media_type="audio", extension=".ogg")
    staged = tier.temp_dir() / "stage-upload"
    staged.write_bytes(data)

    path = tier.adopt(info, staged)

    assert path == root / "audio" / f"{info.sha256}.ogg"
    assert path.read_bytes() == data
    assert staged.exists() is False
    assert temp_names(root) == []


def test_delete_removes_the_file_and_reports_whether_it_existed(tier, make_info):
    data = b"bye"
    info = make_info(data)
    tier.write_bytes(info, data)

    assert tier.delete(info) is True
    assert tier.delete(info) is False
    assert tier.open(info) is None


# -- corruption --------------------------------------------------------------------------------


def test_a_flipped_byte_is_detected_by_a_fresh_process_and_the_file_removed(root, make_info):
    data = random_bytes(10_000)
    info = make_info(data)
    DiskTier(root).write_bytes(info, data)
    corrupt_in_place(root / info.disk_name, offset=5000)

    restarted = DiskTier(root)  # no memory of having verified the file

    assert restarted.open(info) is None
    assert (root / info.disk_name).exists() is False


def test_a_flipped_byte_is_detected_when_the_file_changes_after_verification(tier, root, make_info):
    data = random_bytes(10_000)
    info = make_info(data)
    tier.write_bytes(info, data)
    assert read_open(tier, info) == data

    corrupt_in_place(tier.path(info), offset=9_999)

    assert tier.open(info) is None
    assert tier.path(info).exists() is False


def test_a_replaced_file_of_the_same_size_is_detected(tier, make_info):
    data = random_bytes(2048)
    info = make_info(data)
    tier.write_bytes(info, data)
    path = tier.path(info)
    impostor = path.with_name("impostor")
    impostor.write_bytes(random_bytes(2048))
    os.replace(impostor, path)  # same size, new inode

    assert tier.open(info) is None
    assert path.exists() is False


def test_a_file_of_the_wrong_size_is_detected_and_removed(tier, make_info):
    data = random_bytes(2048)
    info = make_info(data)
    tier.write_bytes(info, data)
    with open(tier.path(info), "ab") as file:
        file.write(b"trailing garbage")

    assert tier.contains(info) is False
    assert tier.open(info) is None
    assert tier.path(info).exists() is False


def test_a_truncated_file_is_detected_and_removed(root, make_info):
    data = random_bytes(2048)
    info = make_info(data)
    path = root / info.disk_name
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:1000])

    assert DiskTier(root).open(info) is None
    assert path.exists() is False


def test_a_corrupt_file_is_refilled_cleanly(tier, make_info):
    data = random_bytes(2048)
    info = make_info(data)
    tier.write_bytes(info, data)
    corrupt_in_place(tier.path(info))
    assert tier.open(info) is None

    tier.write_chunks(info, [data])

    assert read_open(tier, info) == data


# -- hashing once ------------------------------------------------------------------------------


def test_a_file_written_by_this_process_is_served_without_hashing(tier, make_info, hash_calls):
    data = random_bytes(4096)
    info = make_info(data)
    tier.write_chunks(info, [data])

    for _ in range(3):
        assert read_open(tier, info) == data

    assert hash_calls == []


def test_a_file_found_on_disk_is_hashed_once_then_trusted(root, make_info, hash_calls):
    data = random_bytes(4096)
    info = make_info(data)
    DiskTier(root).write_bytes(info, data)
    tier = DiskTier(root)  # another process: it must verify before serving

    for _ in range(5):
        assert read_open(tier, info) == data

    assert hash_calls == [str(tier.path(info))]


def test_a_changed_signature_triggers_a_new_hash(tier, make_info, hash_calls):
    data = random_bytes(4096)
    info = make_info(data)
    tier.write_bytes(info, data)
    path = tier.path(info)
    stat = path.stat()

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # same bytes, new mtime

    assert read_open(tier, info) == data
    assert read_open(tier, info) == data
    assert hash_calls == [str(path)]


# -- access time ---------------------------------------------------------------------------------
# The file is opened but not read here: a read would let the kernel (relatime) update atime
# itself, and the test would pass without the tier doing anything.

OLD_ATIME_NS = 1_000_000_000 * 1_000_000_000  # 2001-09-09


def test_opening_records_atime_and_leaves_mtime_alone(tier, make_info):
    data = random_bytes(1024)
    info = make_info(data)
    tier.write_bytes(info, data)
    path = tier.path(info)
    mtime_ns = path.stat().st_mtime_ns
    os.utime(path, ns=(OLD_ATIME_NS, mtime_ns))

    tier.open(info).close()

    stat = path.stat()
    assert stat.st_atime_ns > OLD_ATIME_NS * 17 // 10  # 2023 or later: "now", not the old value
    assert stat.st_mtime_ns == mtime_ns


def test_atime_is_recorded_at_most_once_per_touch_interval(tier, make_info):
    data = random_bytes(1024)
    info = make_info(data)
    tier.write_bytes(info, data)
    path = tier.path(info)
    tier.open(info).close()  # records the access
    os.utime(path, ns=(OLD_ATIME_NS, path.stat().st_mtime_ns))

    tier.open(info).close()

    assert path.stat().st_atime_ns == OLD_ATIME_NS


# -- an unusable root -----------------------------------------------------------------------------


@pytest.fixture
def file_as_root(tmp_path):
    path = tmp_path / "not-a-folder"
    path.write_bytes(b"a regular file where the cache folder should be")
    return path


def test_writing_under_an_unusable_root_raises_tier_unavailable(file_as_root, make_info, clock):
    guard = OutageGuard("disk", retry_seconds=0, log_interval=60, clock=clock)
    tier = DiskTier(file_as_root, guard=guard)
    info = make_info(b"content")

    with pytest.raises(TierUnavailable):
        tier.write_bytes(info, b"content")
    with pytest.raises(TierUnavailable):
        tier.write_chunks(info, [b"content"])

    assert guard.failures == 2


def test_reading_under_an_unusable_root_raises_tier_unavailable(file_as_root, make_info):
    tier = DiskTier(file_as_root)

    with pytest.raises(TierUnavailable):
        tier.open(make_info(b"content"))
    assert tier.contains(make_info(b"content")) is False

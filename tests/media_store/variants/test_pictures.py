"""image.jpg, sticker.webp and thumb.jpg from PNG (with alpha), JPEG (EXIF-rotated), WebP, GIF."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from media_store.exceptions import VariantUnsupported
from media_store.variants import imaging
from tests.support import ffmedia
from tests.support.media import pdf_bytes, webp_bytes

pytestmark = pytest.mark.django_db


def _write(tmp_path, name: str, image: Image.Image, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


def test_a_png_with_alpha_becomes_a_jpeg_on_white(tmp_path, stored, made):
    logo = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    logo.paste((200, 0, 0, 255), (25, 0, 75, 50))
    source = stored(_write(tmp_path, "logo.png", logo))

    variant, path = made(source, "image.jpg")

    with Image.open(path) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (100, 50))
        assert image.getpixel((2, 2)) == (255, 255, 255)  # transparency → white, not black
        red = image.getpixel((50, 25))
        assert red[0] > 180
        assert red[1] < 40
    assert variant.mime_type == "image/jpeg"


def test_an_exif_rotated_jpeg_is_turned_upright(tmp_path, stored, made):
    photo = Image.new("RGB", (60, 30), (0, 120, 0))
    exif = photo.getexif()
    exif[274] = 6
    source = stored(_write(tmp_path, "phone.jpg", photo, exif=exif))

    _, path = made(source, "image.jpg")

    with Image.open(path) as image:
        assert image.size == (30, 60)
        assert image.getexif().get(274) is None


def test_a_large_image_is_limited_to_2048_px_and_5_mb(tmp_path, stored, made):
    noise = Image.frombytes("RGB", (3000, 1500), os.urandom(3000 * 1500 * 3))
    source = stored(_write(tmp_path, "big.png", noise))

    variant, path = made(source, "image.jpg")

    with Image.open(path) as image:
        assert image.size == (2048, 1024)
    assert variant.size <= 5 * 1024 * 1024


def test_a_small_upright_jpeg_is_its_own_image_jpg(tmp_path, stored, made, runs):
    source = stored(_write(tmp_path, "photo.jpg", Image.new("RGB", (64, 48), (1, 2, 3)), quality=90))

    variant, _ = made(source, "image.jpg")

    assert variant.sha256 == source.sha256
    assert runs() == {}


def test_a_webp_becomes_a_jpeg(tmp_path, stored, made):
    path = tmp_path / "pic.webp"
    path.write_bytes(webp_bytes(40, 40))

    _, out = made(stored(path), "image.jpg")

    with Image.open(out) as image:
        assert (image.format, image.size) == ("JPEG", (40, 40))


def test_a_heif_photo_from_an_iphone_becomes_a_jpeg(tmp_path, stored, made):
    photo = Image.new("RGB", (64, 48), (10, 200, 10))
    source = stored(_write(tmp_path, "IMG_0001.HEIC", photo, format="HEIF", quality=90))

    variant, path = made(source, "image.jpg")

    assert (source.mime_type, source.width, source.height) == ("image/heic", 64, 48)
    assert source.metadata["format"] == "HEIF"
    with Image.open(path) as image:
        assert (image.format, image.size) == ("JPEG", (64, 48))
        green = image.getpixel((32, 24))
        assert green[1] > 180
    assert variant.mime_type == "image/jpeg"


def test_a_png_becomes_a_512_sticker_under_100_kb_with_transparent_padding(tmp_path, stored, made):
    source = stored(_write(tmp_path, "art.png", Image.new("RGBA", (300, 150), (0, 0, 255, 255))))

    variant, path = made(source, "sticker.webp")

    with Image.open(path) as image:
        assert (image.format, image.size, getattr(image, "n_frames", 1)) == ("WEBP", (512, 512), 1)
        rgba = image.convert("RGBA")
        assert rgba.getpixel((5, 5))[3] == 0  # padding above the 512x256 picture
        assert rgba.getpixel((256, 256)) == (0, 0, 255, 255)
    assert variant.size <= 100 * 1024


def test_a_noisy_picture_still_fits_the_static_sticker_limit(tmp_path, stored, made):
    noise = Image.frombytes("RGB", (512, 512), os.urandom(512 * 512 * 3))
    source = stored(_write(tmp_path, "noise.png", noise))

    variant, _ = made(source, "sticker.webp")

    assert variant.size <= 100 * 1024


def test_an_animated_gif_becomes_an_animated_sticker_under_500_kb(tmp_path, stored, made, runs):
    source = stored(ffmedia.gif(tmp_path, frames=12))

    variant, path = made(source, "sticker.webp")

    with Image.open(path) as image:
        assert (image.format, image.size, image.n_frames) == ("WEBP", (512, 512), 12)
    assert variant.size <= 500 * 1024
    assert runs() == {"imaging": 1}


def test_a_512_webp_sticker_is_its_own_sticker(tmp_path, stored, made, runs):
    buffer = io.BytesIO()
    Image.new("RGBA", (512, 512), (0, 0, 0, 0)).save(buffer, format="WEBP")
    path = tmp_path / "sticker.webp"
    path.write_bytes(buffer.getvalue())
    source = stored(path)

    variant, _ = made(source, "sticker.webp")

    assert variant.sha256 == source.sha256
    assert runs() == {}


def test_an_image_thumb_is_320_px(tmp_path, stored, made):
    source = stored(_write(tmp_path, "wide.png", Image.new("RGB", (1000, 500), (9, 9, 9))))

    _, path = made(source, "thumb.jpg")

    with Image.open(path) as image:
        assert (image.format, image.size) == ("JPEG", (320, 160))


def test_a_pdf_has_no_picture_variants(tmp_path, stored, made, runs):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes())
    source = stored(path)

    for name in ("image.jpg", "sticker.webp", "thumb.jpg"):
        with pytest.raises(VariantUnsupported, match="this content is application/pdf"):
            made(source, name)
    assert runs() == {}


def test_the_imaging_child_refuses_a_decompression_bomb(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # main() sets it (in a child)
    big = _write(tmp_path, "bomb.png", Image.new("1", (4000, 4000)))

    status = imaging.main(["jpeg", str(big), str(tmp_path / "out.jpg"), "--max-pixels", "1000000"])

    assert status == 2
    assert "cannot convert the image" in capsys.readouterr().err
    assert not (tmp_path / "out.jpg").exists()

"""The attachment JSON of CONTRACT §4–5 (API responses and ``--json`` command output)."""

from __future__ import annotations

from rest_framework import serializers

from chat.models import MessageAttachment

ATTACHMENT_FIELDS = (
    "id",
    "media_hash",
    "short_url",
    "mime_type",
    "media_type",
    "file_size",
    "sha256",
    "md5_sum",
    "width",
    "height",
    "duration",  # seconds, from the content's analysis (null when not audio/video or unknown)
    "metadata",  # the analysis: codecs, bit rate, streams, rotation, streamable, … (CONTRACT §3)
)


class AttachmentSerializer(serializers.ModelSerializer):
    duration = serializers.FloatField(source="blob.duration", read_only=True, allow_null=True)
    metadata = serializers.JSONField(source="blob.metadata", read_only=True)

    class Meta:
        model = MessageAttachment
        fields = ATTACHMENT_FIELDS
        read_only_fields = ATTACHMENT_FIELDS


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The media file (multipart).")
    filename = serializers.CharField(
        required=False, allow_blank=True, max_length=255, help_text="Name to store (defaults to the upload's name)."
    )

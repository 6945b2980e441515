"""The attachment "add" page of the admin: upload a file, paste a URL or enter a WhatsApp media ID.

Those are the three ways media really arrive, and each is stored through the same code as the
API: ``chat.services`` for uploads, ``media_store.fetch.urls`` (SSRF guard, negative cache,
retries) for URLs, ``chat.inbound`` for media IDs. Ingesting happens while the form is
cleaned, so every failure — an over-size file, a refused URL, an expired media ID, the
origin down — is a form error on the page rather than a 500. Nothing is left behind: temp
files are removed, and the services write the blob row and the attachment in one short
transaction after the origin PUT, as under the API (so the add view does without ModelAdmin's
request-wide transaction, which would hold the database through a download). The one leftover
a crash mid-way can cause is an origin object without a row, which the orphan sweep removes.

Uploads stream through the same staging handler as ``POST /api/attachments/`` (hashed while
received, capped at ``UPLOAD_MAX_BYTES``). The handler has to be installed before anything
reads ``request.POST``, which the CSRF middleware does; so the add view is exempt from the
middleware's check and ``changeform_view`` (``csrf_protect``) checks the token itself, after
the handler is in place.
"""

from __future__ import annotations

from django import forms
from django.core.files.uploadhandler import SkipFile
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from chat import services
from chat.inbound import MediaUnavailable, attachment_for_media_id
from chat.models import MessageAttachment
from media_store.conf import media_settings
from media_store.content.mediatypes import MEDIA_TYPES
from media_store.exceptions import MediaError, OriginUnavailable, PayloadTooLarge
from media_store.fetch import urls as url_ingest
from media_store.ingest.commit import new_staged_file
from media_store.ingest.upload import StagingUploadHandler

SOURCES = {"upload": "a file", "url": "a URL", "media_id": "a WhatsApp media ID"}
MEDIA_ID_ERRORS = {
    "expired": "This media ID has expired (older than MEDIA_EXPIRATION_HOURS = {hours} h): ask for the media again.",
    "failed": "The Cloud API refused this media ID ({reason}); it is not asked again for FAILED_MEDIA_TTL = {ttl} s.",
    "upstream": "The Cloud API is still failing after {retries} attempts ({reason}); try again later.",
    "unavailable": "The media was fetched but the store could not keep it ({reason}); try again later.",
}


class AdminUploadHandler(StagingUploadHandler):
    """The API's staging handler, except that an over-size file is skipped and reported by the
    form (the API answers 413 before reading; a form page has to come back with its error)."""

    def __init__(self, request=None, max_bytes: int | None = None) -> None:
        super().__init__(request, max_bytes)
        self.too_large: list[str] = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        return None  # read the body: the other fields (and the CSRF token) are needed for the page

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        try:
            self.current.write(raw_data)
        except PayloadTooLarge:
            self.too_large.append(self.file_name)  # write() already removed the temp file
            raise SkipFile from None


class AttachmentAddForm(forms.ModelForm):
    """Exactly one source; the attachment is made by the services, not from the form's fields."""

    upload = forms.FileField(required=False, label="File")
    url = forms.URLField(
        required=False,
        max_length=2048,
        assume_scheme="https",
        label="URL",
        widget=forms.URLInput(attrs={"class": "vURLField", "style": "width: 40em"}),
        help_text="Downloaded like POST /api/media/download: SSRF guard, retries, DOWNLOAD_MAX_BYTES.",
    )
    media_id = forms.CharField(required=False, max_length=128, label="WhatsApp media ID")
    timestamp = forms.IntegerField(
        required=False,
        min_value=0,
        label="Message timestamp",
        help_text="Unix seconds the message was sent (media ID only): older than MEDIA_EXPIRATION_HOURS is expired.",
    )
    original_filename = forms.CharField(
        required=False, max_length=255, label="File name", help_text="Optional; the extension follows the content."
    )
    media_type = forms.ChoiceField(
        required=False,
        choices=[("", "from the content"), *((kind, kind) for kind in MEDIA_TYPES)],
        help_text="Optional: e.g. sticker for a WebP image.",
    )

    class Meta:
        model = MessageAttachment
        fields = ("message",)

    def __init__(self, *args, upload_handler: AdminUploadHandler | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.upload_handler = upload_handler
        self.attachment: MessageAttachment | None = None
        self.fields["upload"].help_text = f"Up to {filesizeformat(media_settings.UPLOAD_MAX_BYTES)} (UPLOAD_MAX_BYTES)."

    def clean(self) -> dict:
        data = super().clean()
        too_large = self.upload_handler.too_large if self.upload_handler else []
        if too_large:
            limit = filesizeformat(media_settings.UPLOAD_MAX_BYTES)
            self.add_error("upload", f"{too_large[0]} is larger than the upload limit of {limit} (UPLOAD_MAX_BYTES).")
            return data
        if any(name in self.errors for name in SOURCES):
            return data  # the field's own error (an empty file, a malformed URL) says it all
        chosen = [name for name in SOURCES if data.get(name)]
        if len(chosen) != 1:
            given = ", ".join(SOURCES[name] for name in chosen) or "none"
            raise forms.ValidationError(f"Give exactly one of: a file, a URL or a WhatsApp media ID (given: {given}).")
        if data.get("timestamp") is not None and chosen != ["media_id"]:
            self.add_error("timestamp", "A timestamp only goes with a WhatsApp media ID.")
        if not self.errors:
            self._ingest(chosen[0], data)
        return data

    def _post_clean(self) -> None:
        """No model instance is built from the fields: ``clean`` made the attachment already."""

    def save(self, commit: bool = True) -> MessageAttachment:
        self.save_m2m = lambda: None  # ModelAdmin.save_related calls it; there is nothing to save
        return self.attachment

    def _ingest(self, source: str, data: dict) -> None:
        options = {
            "filename": data.get("original_filename") or None,
            "media_type": data.get("media_type") or None,
            "message": data.get("message"),
        }
        try:
            self.attachment = getattr(self, f"_from_{source}")(data[source], data, options)
        except MediaUnavailable as unavailable:
            self.add_error("media_id", _media_id_message(unavailable))
        except OriginUnavailable as error:
            self.add_error(source, f"The origin is unreachable, nothing was stored; try again later. ({error})")
        except (MediaError, ValueError) as error:
            self.add_error(source, str(error))

    def _from_upload(self, upload, data: dict, options: dict) -> MessageAttachment:
        filename = options.pop("filename") or upload.name
        staged = getattr(upload, "staged", None)
        if staged is not None:  # streamed by AdminUploadHandler: already hashed and capped
            return services.attach_staged(staged, filename=filename, declared_type=upload.content_type, **options)
        with new_staged_file() as copy:  # any other upload handler: copy it under the same cap
            copy.copy_from(upload)
            return services.attach_staged(copy, filename=filename, declared_type=upload.content_type, **options)

    def _from_url(self, url: str, data: dict, options: dict) -> MessageAttachment:
        with url_ingest.fetch(url) as download, url_ingest.storing(download) as (blob, _created):
            options["filename"] = options["filename"] or download.filename
            return services.attach_blob(blob, **options)

    def _from_media_id(self, media_id: str, data: dict, options: dict) -> MessageAttachment:
        return attachment_for_media_id(media_id.strip(), data.get("timestamp"), **options)


def _media_id_message(unavailable: MediaUnavailable) -> str:
    return MEDIA_ID_ERRORS[unavailable.status].format(
        hours=media_settings.MEDIA_EXPIRATION_HOURS,
        ttl=media_settings.FAILED_MEDIA_TTL,
        retries=media_settings.MAX_RETRIES,
        reason=unavailable.result.reason,
    )


class IngestingAddMixin:
    """For ``MessageAttachmentAdmin``: the add page ingests (above) and lands on the new attachment."""

    add_form = AttachmentAddForm
    add_fieldsets = (
        ("Source: exactly one of", {"fields": ("upload", "url", ("media_id", "timestamp"))}),
        ("Optional", {"fields": ("original_filename", "media_type", "message")}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, **kwargs)
        handler = getattr(request, "_attachment_upload_handler", None)
        if obj is None and handler is not None:
            return _bind_handler(form, handler)
        return form

    @method_decorator(csrf_protect)
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The add page without ModelAdmin's request-wide transaction: the services keep each row
        write short (a download or an origin PUT must not hold the database in a transaction)
        and atomic on their own, exactly as under the API."""
        if object_id is not None or request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return super().changeform_view(request, object_id, form_url, extra_context)
        return self._changeform_view(request, object_id, form_url, extra_context)

    @csrf_exempt  # the middleware would parse the body first; changeform_view checks CSRF itself
    def add_view(self, request, form_url="", extra_context=None):
        handler = AdminUploadHandler(request, max_bytes=media_settings.UPLOAD_MAX_BYTES)
        request.upload_handlers = [handler]
        request._attachment_upload_handler = handler
        try:
            return super().add_view(request, form_url, extra_context)
        finally:
            handler.discard_all()  # every staged temp file not adopted by the disk tier

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        super().response_add(request, obj, post_url_continue)  # the success message
        return HttpResponseRedirect(reverse("admin:chat_messageattachment_change", args=[obj.pk]))


def _bind_handler(form_class, handler: AdminUploadHandler):
    """The form class with this request's upload handler passed to every instance."""

    class BoundAddForm(form_class):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, upload_handler=handler, **kwargs)

    BoundAddForm.__name__ = form_class.__name__
    return BoundAddForm

"""A Django upload handler that stages multipart files straight into a ``StagedFile``.

Django's default handlers write uploads to a temp file and leave hashing to a second pass;
this one hashes while the bytes arrive and aborts at the byte cap, before the rest of an
over-size body is written anywhere. A request whose Content-Length alone is over the cap is
refused before a single byte is read.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from media_store.exceptions import PayloadTooLarge
from media_store.ingest.commit import new_staged_file
from media_store.ingest.staging import StagedFile

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file itself


class StagedUpload(UploadedFile):
    """What ``request.FILES[...]`` holds: the staged file plus the client's name and type."""

    def __init__(self, staged: StagedFile, name: str, content_type: str) -> None:
        super().__init__(file=None, name=name, content_type=content_type, size=staged.size)
        self.staged = staged

    def close(self) -> None:
        self.staged.discard()


class StagingUploadHandler(FileUploadHandler):
    def __init__(self, request=None, max_bytes: int | None = None) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.staged: list[StagedFile] = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if self.max_bytes is not None and content_length > self.max_bytes + MULTIPART_OVERHEAD:
            raise PayloadTooLarge(f"upload exceeds the limit of {self.max_bytes} bytes")
        # returning None: let Django parse the multipart body and call us per file

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.current = new_staged_file(self.max_bytes)
        self.staged.append(self.current)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        try:
            self.current.write(raw_data)
        except PayloadTooLarge:
            self.discard_all()
            raise
        # returning None: the chunk is consumed here, no later handler sees it

    def file_complete(self, file_size: int) -> StagedUpload:
        self.current.finish()
        return StagedUpload(self.current, self.file_name, self.content_type)

    def upload_interrupted(self) -> None:
        self.discard_all()

    def discard_all(self) -> None:
        for staged in self.staged:
            staged.discard()

"""Make a variant once, safely, and store it as ordinary content.

``variant(source, name)``: the variant's BlobInfo — from this process's memory, else the
Variant table, else made now. Making it: the recipe plans from the stored analysis (pure, no
I/O: a PDF as voice.ogg is refused here); then, under the fill lock for (source, variant) —
one holder across processes and nodes, everyone else waits and finds the row — a transcode
slot is taken, the source is copied locally and verified, the commands run (bounded child
processes), the output is verified, and it is ingested like any upload: content-addressed,
deduplicated, stored once in the origin. A run that fails is remembered in the negative
cache (``variant`` namespace, ``FAILED_MEDIA_TTL``) so a bad file costs one transcode, not one
per request.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from django.db import IntegrityError, transaction

from media_store import runtime
from media_store.conf import media_settings
from media_store.content.blobs import BlobInfo
from media_store.exceptions import MediaNotFound, TranscoderBusy, VariantUnsupported
from media_store.ingest.commit import staging_dir, store_file
from media_store.models import Blob, Variant
from media_store.variants import inputs, runner
from media_store.variants.base import ORIGINAL, Plan, Source
from media_store.variants.lookup import get_lookup
from media_store.variants.recipes import recipe_for
from media_store.variants.slots import transcode_slot

logger = logging.getLogger("media_store.variants.service")


def negative_key(sha256: str, name: str) -> str:
    return f"{sha256}:{name}"


def plan_for(blob: Blob, name: str):
    """The recipe's decision for a stored blob: ORIGINAL, a Plan, or VariantUnsupported."""
    recipe = recipe_for(name)
    if recipe is None:
        raise KeyError(name)
    return recipe.plan(Source.from_blob(blob))


def variant(source: BlobInfo, name: str) -> BlobInfo:
    """The content of variant ``name`` of ``source``; made on first use.

    Raises KeyError (unknown name), VariantUnsupported (422), TranscoderBusy (503),
    MediaNotFound / OriginUnavailable (the source's own failures).
    """
    lookup = get_lookup()
    found = lookup.get(source.sha256, name)
    if found is not None:
        return found
    negative = runtime.negative_cache("variant")
    _refuse_if_failed(negative, source.sha256, name)
    blob = Blob.objects.filter(sha256=source.sha256).first()
    if blob is None:
        raise MediaNotFound(f"{source.sha256} is not stored")
    plan = plan_for(blob, name)
    if plan is ORIGINAL:
        return _link(blob, name, blob)
    with runtime.variant_locks().hold(f"variant:{source.sha256}:{name}"):
        found = lookup.get(source.sha256, name)  # made while we waited?
        if found is not None:
            return found
        _refuse_if_failed(negative, source.sha256, name)
        with transcode_slot():
            try:
                made = _make(source, Source.from_blob(blob), name, plan)
            except VariantUnsupported as error:
                negative.add(negative_key(source.sha256, name), str(error))
                raise
        return _link(blob, name, made)


def _refuse_if_failed(negative, sha256: str, name: str) -> None:
    reason = negative.get(negative_key(sha256, name))
    if reason is not None:
        raise VariantUnsupported(f"{name} cannot be made from this content (remembered): {reason}")


def _make(source: BlobInfo, facts: Source, name: str, plan: Plan) -> Blob:
    recipe = recipe_for(name)
    deadline = time.monotonic() + media_settings.MEDIA_TRANSCODE_TIMEOUT
    staging = staging_dir()
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="variant-", dir=staging))
    try:
        input_path = inputs.local_copy(source, work)
        problem = "no attempt ran"
        for number, command in enumerate(plan.attempts, start=1):
            output = work / f"out-{number}{Path(name).suffix}"
            problem = _attempt(command(input_path, output), output, recipe, facts, deadline)
            if problem is None:
                logger.info("media.variant_made hash=%s variant=%s try=%d %s", source.sha256, name, number, plan.note)
                blob, _ = store_file(output, filename=name, declared_type=recipe.mime_type, eager_variants=False)
                return blob
            if problem != "too large":
                break
        raise VariantUnsupported(f"{name} cannot be made from this content: {problem}")
    finally:
        inputs.clear(work)


def _attempt(args: list[str], output: Path, recipe, facts: Source, deadline: float) -> str | None:
    """Run one command and verify its output: None when good, else the problem."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return f"ran past MEDIA_TRANSCODE_TIMEOUT ({media_settings.MEDIA_TRANSCODE_TIMEOUT:.0f} s)"
    try:
        result = runner.run(args, timeout=remaining)
    except runner.TranscodeTimeout as error:
        return str(error)
    except runner.TranscoderMissing as error:
        raise TranscoderBusy(str(error)) from None  # a deployment fault: 503, never remembered
    if result.returncode != 0:
        return f"the converter failed: {result.last_line}"
    if not output.exists() or output.stat().st_size == 0:
        return "the converter wrote nothing"
    if output.stat().st_size > recipe.max_bytes:
        return "too large"
    try:
        return recipe.verify(output, facts)
    except (OSError, ValueError) as error:
        return f"the output cannot be read: {error}"


def _link(source: Blob, name: str, made: Blob) -> BlobInfo:
    """Record source → variant (idempotent under races) and remember it in this process."""
    try:
        with transaction.atomic():
            Variant.objects.update_or_create(source=source, name=name, defaults={"blob": made})
    except IntegrityError:  # a concurrent maker inserted the same pair first: theirs stands
        made = Variant.objects.select_related("blob").get(source=source, name=name).blob
    info = made.info()
    get_lookup().remember(source.sha256, name, info)
    return info


def forget(source_sha256: str, name: str) -> None:
    """The variant's content is gone (404 while serving): make it again on the next request."""
    get_lookup().forget(source_sha256, name)
    Variant.objects.filter(source_id=source_sha256, name=name, blob__expired_at__isnull=False).delete()

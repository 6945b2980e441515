"""``GET /api/media/jobs/<id>``: the state of an asynchronous fetch (see ``chat.jobs``).

``202 {"status": "pending", ...}`` while it runs; then what the synchronous endpoint would have
answered — ``200`` with the final JSON, or the error status and JSON. Operators only.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from chat.jobs import FetchJob, job_response


class FetchJobView(APIView):
    @extend_schema(
        operation_id="media_job_status",
        tags=["attachments"],
        responses={
            200: OpenApiTypes.OBJECT,
            202: OpenApiResponse(description="Still running."),
            404: OpenApiResponse(description="No such job."),
        },
    )
    def get(self, request, job_id) -> Response:
        job = FetchJob.objects.filter(pk=job_id).first()
        if job is None:
            return Response({"detail": "no such job", "code": "not_found"}, status=404)
        return job_response(request, job)

"""The project's API policy, shared by ``chat`` and ``media_store``: who may call, and how errors look.

Who: staff users (session) or holders of ``MEDIA_API_TOKEN``.

The token is compared in constant time and is never logged. With ``MEDIA_API_TOKEN`` empty,
token auth is off and only staff sessions get in. Anonymous callers get 401 (with a
``WWW-Authenticate: Bearer`` challenge), authenticated non-staff users 403.
"""

from __future__ import annotations

import hmac

from rest_framework import authentication, exceptions, permissions
from rest_framework.response import Response

from media_store.conf import media_settings
from media_store.exceptions import MediaError


class ApiTokenUser:
    """The principal behind a valid bearer token: a service, not a person."""

    is_authenticated = True
    is_active = True
    is_staff = True
    is_superuser = False
    is_anonymous = False
    pk = None
    id = None
    username = "api-token"

    def __str__(self) -> str:
        return self.username


class MediaApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        expected = media_settings.MEDIA_API_TOKEN
        if not expected or not hmac.compare_digest(header[1], expected.encode()):
            raise exceptions.AuthenticationFailed("Invalid API token.")
        return ApiTokenUser(), None

    def authenticate_header(self, request) -> str:
        return self.keyword


class IsOperator(permissions.BasePermission):
    """Staff session or API token."""

    message = "Operator access requires a staff account or the API token."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and user.is_authenticated and user.is_staff)


def exception_handler(exc, context):
    """Engine errors become JSON with the status their class declares (DRF's handler otherwise)."""
    # imported here: rest_framework.views loads this module's authentication classes on import
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, MediaError):
        return Response({"detail": str(exc), "code": exc.code}, status=exc.http_status)
    return drf_exception_handler(exc, context)

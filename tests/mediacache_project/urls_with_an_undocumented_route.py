"""The project's URLconf plus one plain view nobody documented (for the schema completeness test)."""

from django.http import HttpResponse
from django.urls import path

from mediacache_project.urls import urlpatterns as project_urlpatterns


def undocumented(request):
    return HttpResponse("nobody wrote this into the schema")


urlpatterns = [*project_urlpatterns, path("undocumented", undocumented, name="undocumented")]

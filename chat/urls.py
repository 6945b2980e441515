from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^media/(?P<token>[0-9a-f]{32})(?:\.(?P<ext>[A-Za-z0-9]{1,10}))?$", views.media, name="media"),
    re_path(r"^media/(?P<rest>.*)$", views.unknown_media, name="media-unknown"),
]

"""The production URL map with the benchmark's floor views in front (``bench.settings`` only)."""

from django.urls import path

from bench.floor import floor, floor_file
from mediacache_project.urls import urlpatterns as production_urlpatterns

urlpatterns = [
    path("bench/floor/<str:name>", floor, name="bench-floor"),
    path("bench/floor-file/<str:name>", floor_file, name="bench-floor-file"),
    *production_urlpatterns,
]

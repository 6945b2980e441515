"""``@cached``: a memoiser for the rest of the backend (decorator, storage, endpoints, ``cache_admin``)."""

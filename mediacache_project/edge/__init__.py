"""The edge: nginx in front of gunicorn (``make edge``; the template is deploy/nginx/)."""

"""`make bench`: the serving path under load against Django's own floor (see run.py)."""

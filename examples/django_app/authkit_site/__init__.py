"""A minimal Django project signing people in through authkit (see ``../serve.py``)."""

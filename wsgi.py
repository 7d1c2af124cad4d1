"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

import gc

from lms import create_app

app = create_app()
# What loading made (the app, its routes, SQLAlchemy's mappers, compiled statements) lives as long as the
# process: frozen, the collector stops scanning it at every collection in the middle of requests, and
# workers forked from a preloaded server keep sharing its memory pages.
gc.freeze()

"""ASGI entry point: ``uvicorn cadang.server.asgi:application``; see wsgi.py on the scheduler."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadang.server.settings")
application = get_asgi_application()

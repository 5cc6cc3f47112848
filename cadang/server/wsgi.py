"""WSGI entry point for a production server: ``gunicorn cadang.server.wsgi``.

The scheduler does not run inside WSGI workers (several workers would each start one); run
``cadang serve --scheduler-only`` beside them (README, production notes).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadang.server.settings")
application = get_wsgi_application()

"""The Celery application: Redis broker, schedules from django-celery-beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlops_portal.settings")

app = Celery("mlops_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

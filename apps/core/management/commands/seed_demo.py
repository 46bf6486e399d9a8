import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.core.demo import seed_people
from apps.core.demo_training import seed_mlflow
from apps.core.seed_hooks import run_seed_hooks


class Command(BaseCommand):
    help = "Create demo users and teams, train demo anomaly detectors into MLflow. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--skip-mlflow", action="store_true", help="Only users and teams.")

    def handle(self, *args, **options):
        started = time.perf_counter()
        people = seed_people(password=os.environ.get("DEMO_PASSWORD") or None)

        if not options["skip_mlflow"]:
            summary = seed_mlflow(
                tracking_uri=settings.MLFLOW_TRACKING_URI,
                artifact_root=settings.MLFLOW_ARTIFACT_ROOT,
                log=lambda message, *a: self.stdout.write(message % a if a else message),
            )
            self.stdout.write(f"MLflow: {summary}")
        run_seed_hooks(stdout=self.stdout)

        self.stdout.write(self.style.SUCCESS(f"demo ready in {time.perf_counter() - started:.1f}s"))
        if people.created_users:
            users = ", ".join(people.created_users)
            if people.password_generated:
                self.stdout.write(f"Demo users {users} created with password: {people.password}")
                self.stdout.write("(shown once; set DEMO_PASSWORD to choose it)")
            else:
                self.stdout.write(f"Demo users {users} created with the password in DEMO_PASSWORD")

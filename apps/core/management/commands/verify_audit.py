from django.core.management.base import BaseCommand, CommandError

from apps.core.audit import verify_audit_chain


class Command(BaseCommand):
    help = "Prove the audit trail's hash chain intact, or name the first broken entry."

    def handle(self, *args, **options):
        report = verify_audit_chain()
        if not report.intact:
            raise CommandError(
                f"audit chain broken at entry {report.broken_entry_id}: {report.reason} "
                f"({report.checked} entries before it are intact)"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} entries"))

"""The append-only, hash-chained audit trail.

Entry hash = SHA-256 over the canonical JSON of the previous entry's hash and this
entry's fields. Changing, removing or inserting any entry breaks every later link,
which `verify_audit_chain` (and `manage.py verify_audit`) detects.
"""

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from apps.core.context import current_request_id, current_source
from apps.core.models import AuditEntry

GENESIS_HASH = "0" * 64
# Any constant: serialises appends so each entry links to the one before it.
AUDIT_LOCK_KEY = 0x6175646974


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)


def _normalise(value):
    """Round-trip through JSON so the hash sees what the database will store."""
    return None if value is None else json.loads(_canonical(value))


def compute_entry_hash(entry: AuditEntry) -> str:
    payload = {
        "prev": entry.prev_hash,
        "at": entry.created_at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor_name,
        "action": entry.action,
        "type": entry.object_type,
        "id": entry.object_id,
        "repr": entry.object_repr,
        "before": entry.before,
        "after": entry.after,
        "request": entry.request_id,
        "source": entry.source,
    }
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
    # SQLite serialises writers itself; the first write below takes the lock.


def record_audit(
    *,
    actor,
    action: str,
    obj=None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before=None,
    after=None,
    source: str | None = None,
) -> AuditEntry:
    """Append one entry to the trail, inside the caller's transaction.

    `actor` is a user or None (the system); `obj` gives type, id and repr when set.
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:300]

    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        entry = AuditEntry(
            created_at=timezone.now(),
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_name=getattr(actor, "username", "") or "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=object_repr,
            before=_normalise(before),
            after=_normalise(after),
            request_id=current_request_id(),
            source=source or current_source(),
            prev_hash=last or GENESIS_HASH,
        )
        entry.entry_hash = compute_entry_hash(entry)
        entry.save()
    return entry


@dataclass
class ChainReport:
    checked: int
    broken_entry_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_entry_id is None


def verify_audit_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the trail in id order and return the first entry whose links do not hold."""
    expected_prev = GENESIS_HASH
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, entry.id, "previous-hash link does not match")
        if compute_entry_hash(entry) != entry.entry_hash:
            return ChainReport(checked, entry.id, "content does not match its hash")
        expected_prev = entry.entry_hash
        checked += 1
    return ChainReport(checked)

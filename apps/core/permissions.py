"""Object permissions: the one helper layer every app uses.

Each governed model declares its permissions in an `ObjectPermissions` instance
(for example `EXPERIMENT_PERMISSIONS` in apps/experiments/permissions.py). Views, the
API, querysets, charts and websocket events go through these helpers, so a user who
may not view an object gets a 404 and never learns that it exists.

Platform admins hold the model-level permissions and so act on every object; other
users act through grants on the object, to themselves or to a team (group).
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm


@dataclass(frozen=True)
class ObjectPermissions:
    """The permissions of one governed model: `view` plus named actions.

    `actions` maps an action word ("approve") to a codename ("approve_registeredmodel").
    """

    model: type[Model]
    view: str
    actions: dict[str, str] = field(default_factory=dict)

    def full(self, codename: str) -> str:
        return f"{self.model._meta.app_label}.{codename}"

    def codename(self, action: str) -> str:
        if action == "view":
            return self.view
        try:
            return self.actions[action]
        except KeyError:
            raise ValueError(f"{self.model.__name__} has no permission for {action!r}") from None

    def visible_to(self, user, queryset: QuerySet | None = None) -> QuerySet:
        """The objects `user` may view (all of them for holders of the model permission)."""
        queryset = self.model._default_manager.all() if queryset is None else queryset
        if not user.is_authenticated:
            return queryset.none()
        return get_objects_for_user(
            user, self.full(self.view), queryset, accept_global_perms=True, with_superuser=True
        )

    def can(self, user, action: str, obj) -> bool:
        if not user.is_authenticated or not user.is_active:
            return False
        perm = self.full(self.codename(action))
        return user.has_perm(perm) or user.has_perm(perm, obj)

    def get_or_404(self, user, queryset: QuerySet | None = None, **lookup):
        """Fetch an object the user may view; 404 for missing and invisible alike."""
        try:
            return self.visible_to(user, queryset).get(**lookup)
        except self.model.DoesNotExist:
            raise Http404(f"No {self.model._meta.verbose_name} matches the given query.") from None

    def require(self, user, action: str, obj) -> None:
        """403 for a visible object the user may not act on (caller fetched it with get_or_404)."""
        if not self.can(user, action, obj):
            raise PermissionDenied(f"You may not {action} this {self.model._meta.verbose_name}.")

    def grant(self, action: str, user_or_group, obj) -> None:
        assign_perm(self.full(self.codename(action)), user_or_group, obj)

    def revoke(self, action: str, user_or_group, obj) -> None:
        remove_perm(self.full(self.codename(action)), user_or_group, obj)

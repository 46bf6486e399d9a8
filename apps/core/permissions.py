"""Object permissions: the one helper layer every app uses.

Each governed model declares its permissions in an `ObjectPermissions` instance
(for example `EXPERIMENT_PERMISSIONS` in apps/experiments/permissions.py). Views, the
API, querysets, charts and websocket events go through these helpers, so a user who
may not view an object gets a 404 and never learns that it exists.

Platform admins hold the model-level permissions and so act on every object; other
users act through grants on the object, to themselves or to a team (group).
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model


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

    def visible_ids_subquery(self, user) -> RawSQL:
        """Primary keys of the objects `user` may view, as one SQL subquery for `pk__in`.

        The same objects as `visible_to`: superusers and active holders of the model
        permission (directly or through a group) see all, others what guardian grants to
        them or to their groups. `visible_to` asks for the global permission in two
        queries first; here it is part of the SQL. The SQL is written out because building
        the same four subqueries with the ORM took about 7 ms per request; it holds only
        quoted table and column names from model metadata, and every value is a parameter
        (hence the S608/S611 exemptions). Precondition: the authentication backends are
        Django's ModelBackend and guardian's (settings.py).
        """
        table, pk = _quoted(self.model._meta.db_table), _quoted(self.model._meta.pk.column)
        if not user.is_authenticated:
            return RawSQL(f"SELECT {pk} FROM {table} WHERE 1 = 0", [])  # noqa: S608, S611
        if user.is_superuser:
            return RawSQL(f"SELECT {pk} FROM {table}", [])  # noqa: S608, S611

        perm = (ContentType.objects.get_for_model(self.model).pk, self.view)
        user_model = get_user_model()
        groups = user_model._meta.get_field("groups")
        group_id, user_id = _quoted(groups.m2m_reverse_name()), _quoted(groups.m2m_column_name())
        memberships = _quoted(groups.m2m_db_table())
        member_groups = f"SELECT {group_id} FROM {memberships} WHERE {user_id} = %s"  # noqa: S608
        grant_models = [
            (get_user_obj_perms_model(self.model), "user", "= %s"),
            (get_group_obj_perms_model(self.model), "group", f"IN ({member_groups})"),
        ]
        clauses, params = [], []
        for grant_model, holder, test in grant_models:
            clauses.append(f"{pk} IN ({self._granted_pks(grant_model, holder, test)})")
            params += [user.pk, *perm]
        if user.is_active:
            # ModelBackend grants model permissions to active users only.
            own = user_model._meta.get_field("user_permissions")
            clauses.append(f"EXISTS ({_holds_permission(own, '= %s')})")
            team = Group._meta.get_field("permissions")
            clauses.append(f"EXISTS ({_holds_permission(team, f'IN ({member_groups})')})")
            params += [user.pk, *perm, user.pk, *perm]
        sql = f"SELECT {pk} FROM {table} WHERE {' OR '.join(clauses)}"  # noqa: S608
        return RawSQL(sql, params)  # noqa: S611

    def _granted_pks(self, grant_model, holder: str, test: str) -> str:
        """SQL for the keys named by guardian grants of the view permission; parameters:
        those of `test`, then the content type id and the codename."""
        opts = grant_model._meta
        if grant_model.objects.is_generic():
            # Generic grants keep the key as text; compare in the key's own type.
            cast = self.model._meta.pk.cast_db_type(connection)
            key = f"CAST(g.{_quoted(opts.get_field('object_pk').column)} AS {cast})"
        else:
            key = f"g.{_quoted(opts.get_field('content_object').column)}"
        return (
            f"SELECT {key} FROM {_quoted(opts.db_table)} g "  # noqa: S608
            f"JOIN {_quoted(Permission._meta.db_table)} p "
            f"ON p.id = g.{_quoted(opts.get_field('permission').column)} "
            f"WHERE g.{_quoted(opts.get_field(holder).column)} {test} "
            "AND p.content_type_id = %s AND p.codename = %s"
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


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


def _holds_permission(m2m, test: str) -> str:
    """SQL that finds a model permission held through the many-to-many field `m2m`
    (a user's or a group's permissions); parameters: those of `test`, then the content
    type id and the codename."""
    return (
        f"SELECT 1 FROM {_quoted(m2m.m2m_db_table())} h "  # noqa: S608
        f"JOIN {_quoted(Permission._meta.db_table)} p "
        f"ON p.id = h.{_quoted(m2m.m2m_reverse_name())} "
        f"WHERE h.{_quoted(m2m.m2m_column_name())} {test} "
        "AND p.content_type_id = %s AND p.codename = %s"
    )

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from apps.registry import conf
from apps.registry.gates import GateSyntaxError, parse_gates
from apps.registry.models import WebhookEvent
from apps.registry.permissions import GRANTABLE_ACTIONS
from apps.registry.selectors import team_groups
from apps.registry.targets import check_webhook_target


def environment_choices():
    return [(name, name) for name in conf.environments()]


class PromotionRequestForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int)
    target = forms.ChoiceField(label="Environment")
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What changed, how it was validated, and why now.",
    )

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [
            (v.version, f"v{v.version}" + (f" · {', '.join(v.aliases)}" if v.aliases else ""))
            for v in versions
        ]
        self.fields["target"].choices = environment_choices()


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class RollbackForm(forms.Form):
    target = forms.ChoiceField(label="Environment")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = environment_choices()


class PolicyForm(forms.Form):
    required_approvals = forms.IntegerField(min_value=1, max_value=20)
    eligible_users = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4}),
        help_text="Leave users and teams empty to let anyone with the approve grant review.",
    )
    eligible_teams = forms.ModelMultipleChoiceField(
        queryset=team_groups(),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4}),
    )
    exclude_run_author = forms.BooleanField(
        required=False, label="The author of the version's run may not approve"
    )
    metric_gates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "f1 >= 0.85"}),
        help_text="One per line: metric, comparison (>=, >, <=, <, ==, !=), number.",
    )
    rollback_requires_approval = forms.BooleanField(
        required=False, label="Roll backs need approval (otherwise the emergency path applies)"
    )
    expiry_hours = forms.IntegerField(min_value=1, max_value=24 * 90, label="Expiry (hours)")

    def clean_metric_gates(self):
        text = self.cleaned_data["metric_gates"]
        try:
            parse_gates(text)
        except GateSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text


class GrantForm(forms.Form):
    action = forms.ChoiceField(choices=list(GRANTABLE_ACTIONS.items()))
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
    )
    team = forms.ModelChoiceField(queryset=team_groups(), required=False)
    remove = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("team")):
            raise forms.ValidationError("Choose either a user or a team.")
        return data


class MetadataForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    tags = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One tag per line, as key=value.",
    )

    def clean_tags(self):
        tags = {}
        for line in self.cleaned_data["tags"].splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(f"{line.strip()!r} is not key=value.")
            tags[key.strip()] = value.strip()
        return tags


class WebhookForm(forms.Form):
    url = forms.URLField(label="Receiver URL", assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_webhook_target(url)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["url"]) from None
        return url

    def error_text(self) -> str:
        return " ".join(self.errors.get("url", [])) or "Give a valid http(s) URL."

"""Which changes need a review, what kind of change each is, and whose approval it needs
(docs/console.md §Reviews). Pure functions over documents: the service gathers the inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lockgate.domains.entities.writes import Write

REVIEWED_KINDS = frozenset({"gate", "dynamic_config", "segment", "experiment"})

# Edits applied directly even when reviews are required: words about the entity, not what it
# serves, and bookkeeping the server writes itself (Pulse alerts, id-list sizes).
UNREVIEWED_FIELDS = frozenset(
    {
        "description",
        "tags",
        "name",
        "displayName",
        "alerts",
        "version",
        "lastModifiedTime",
        "lastModifierID",
        "lastModifierName",
        "lastModifierEmail",
        "hypothesis",
        "monitoringMetrics",
    }
)
# Writes whose effect lives outside the document (id-list members), applied directly.
UNREVIEWED_ACTIONS = frozenset({"ID_list_update"})
OVERRIDE_FIELDS = frozenset({"overrides"})

EXPERIMENT_TYPES_BY_ACTION = {
    "experiment_start": "start",
    "schedule_experiment_start": "scheduled_start",
    "experiment_make_decision": "make_decision",
    "experiment_decision_make": "make_decision",
    "experiment_abandon": "abandon",
    "experiment_reset": "restart",
    "experiment_delete": "delete",
    "archive_experiment": "archive",
    "unarchive_experiment": "unarchive",
    "experiment_overrides_edit": "update_overrides",
    "experiment_group_disable": "change_enabled_groups",
}

# The review types a pre-commit webhook hears about, and the type its payload names.
WEBHOOK_TYPES = {
    "rules": "rules",
    "update_target_apps": "update_target_apps",
    "update_target_applications": "update_target_apps",
    "reallocate": "update_allocation",
    "start": "start_experiment",
    "make_decision": "ship_experiment",
    "abandon": "abandon_experiment",
    "update_settings": "update_experiment_settings",
}


@dataclass(frozen=True)
class EnvironmentPolicy:
    name: str
    requires_review: bool
    required_review_group_id: str | None


@dataclass(frozen=True)
class Policy:
    """What decides whether a change needs review, read once per request."""

    config_review_required: bool
    environments: Sequence[EnvironmentPolicy]
    team_requires_reviews: Callable[[str], bool]
    may_bypass_override_reviews: bool


def changed_fields(write: Write) -> set[str]:
    before, after = write.before or {}, write.after or {}
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def entity_requires_review(document: dict[str, Any], policy: Policy) -> bool:
    if policy.config_review_required:
        return True
    team_id = document.get("teamID")
    if team_id and policy.team_requires_reviews(team_id):
        return True
    return bool((document.get("reviewSettings") or {}).get("requiredReview"))


def _served_in(rules: Iterable[dict[str, Any]], environment: str) -> list[dict[str, Any]]:
    """The rules an SDK evaluates in ``environment``, in order, without the ids that do not
    change an evaluation (a salt matters only where a percentage is partial)."""
    served = []
    for rule in rules:
        named = rule.get("environments")
        if named is not None and environment.lower() not in {n.lower() for n in named}:
            continue
        shown = {k: v for k, v in rule.items() if k not in {"id", "baseID", "rolloutCount"}}
        if rule.get("passPercentage") in (0, 100):
            shown.pop("salt", None)
        served.append(shown)
    return served


def affected_environments(write: Write, all_names: Sequence[str]) -> set[str]:
    """Rule edits touch the environments whose served rules differ; anything else touches
    every environment."""
    fields = changed_fields(write) - UNREVIEWED_FIELDS
    if write.operation != "save" or fields != {"rules"}:
        return set(all_names)
    before = (write.before or {}).get("rules") or []
    after = (write.after or {}).get("rules") or []
    return {name for name in all_names if _served_in(before, name) != _served_in(after, name)}


def is_reviewable(write: Write, policy: Policy) -> bool:
    if write.entity_type not in REVIEWED_KINDS or write.action in UNREVIEWED_ACTIONS:
        return False
    if write.operation == "insert":
        return False
    if write.operation == "remove":
        return True
    fields = changed_fields(write) - UNREVIEWED_FIELDS
    if not fields:
        return False
    return not (fields <= OVERRIDE_FIELDS and policy.may_bypass_override_reviews)


def needs_review(write: Write, policy: Policy) -> bool:
    """A reviewable change to an entity that requires review, touching an environment that
    requires review."""
    document = write.before or {}
    if not is_reviewable(write, policy) or not entity_requires_review(document, policy):
        return False
    names = [e.name for e in policy.environments]
    touched = affected_environments(write, names)
    return any(e.requires_review and e.name in touched for e in policy.environments)


def required_groups(writes: Sequence[Write], policy: Policy) -> list[str]:
    """The review groups (teams) of the environments the change touches, each once."""
    names = [e.name for e in policy.environments]
    touched: set[str] = set()
    for write in writes:
        if write.entity_type in REVIEWED_KINDS:
            touched |= affected_environments(write, names)
    groups: list[str] = []
    for environment in policy.environments:
        group = environment.required_review_group_id
        wanted = environment.name in touched and environment.requires_review
        if wanted and group and group not in groups:
            groups.append(group)
    return groups


def review_type(write: Write) -> str:
    """The review's ``type``: the experiment action, or what part of a config changed."""
    if write.operation == "remove":
        return "delete"
    fields = changed_fields(write) - UNREVIEWED_FIELDS
    if write.entity_type == "experiment":
        if write.action in EXPERIMENT_TYPES_BY_ACTION:
            return EXPERIMENT_TYPES_BY_ACTION[write.action]
        if fields == {"targetApps"}:
            return "update_target_applications"
        if "allocation" in fields:
            return "reallocate"
        if fields <= OVERRIDE_FIELDS:
            return "update_overrides"
        return "update_settings"
    if fields == {"rules"}:
        return "rules"
    if fields == {"targetApps"}:
        return "update_target_apps"
    if fields <= {"isEnabled", "status"}:
        return "update_enabled"
    if fields <= OVERRIDE_FIELDS:
        return "update_overrides"
    if fields <= {"reviewSettings"}:
        return "update_review_settings"
    return "update_settings"

"""Rules of the Dynamic Configs resource: create, update, rules, lifecycle, list_versions.

A config is stored as its ``DynamicConfigDto`` document plus two internal kinds of field the
API never shows: the config's ``salt`` and each rule's ``salt``/``rolloutCount`` (both feed
bucketing when the config compiles into download_config_specs). Every write validates the whole
resulting document (values against the schema included) before anything is saved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredRule, StoredVariant
from lockgate.documents.values import JsonObject
from lockgate.domains.configs import repository
from lockgate.domains.configs.repository import ConfigFilter
from lockgate.domains.configs.schemas import (
    ArchiveIn,
    ConfigCreate,
    ConfigFields,
    ConfigFullUpdate,
    ConfigPartialUpdate,
    UnarchiveIn,
)
from lockgate.domains.configs.values import (
    Schema,
    check_against,
    resolve_schema,
    resolve_value,
    value_checker,
)
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import DYNAMIC_CONFIG, GATE, SEGMENT
from lockgate.domains.entities.namespaces import DYNAMIC_CONFIGS
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.param_stores import service as param_stores
from lockgate.domains.rules.schemas import RuleIn
from lockgate.domains.rules.validation import (
    RuleContext,
    build_rules,
    check_percentage,
    find_rule,
    find_rule_by_name,
    merge_rule_update,
    public_rule,
)
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id

INTERNAL_FIELDS = ("salt",)
ENABLED, DISABLED, ARCHIVED = "Enabled", "Disabled", "Archived"
DEFAULT_ID_TYPE = "userID"


# -- reading ---------------------------------------------------------------------------------


def config_dto(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document as the API shows it."""
    shown = {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}
    shown["rules"] = [public_rule(r) for r in document.get("rules", [])]
    return shown


def read(session: Session, project_id: str, config_id: str) -> dict[str, Any]:
    return config_dto(entities.load(session, DYNAMIC_CONFIG, project_id, config_id).document)


def list_(
    session: Session, project_id: str, flt: ConfigFilter, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    conditions = repository.filter_conditions(session, flt)
    rows, total = entities.list_rows(
        session, DYNAMIC_CONFIG, project_id, conditions, offset=offset, limit=limit
    )
    return [config_dto(r.document) for r in rows], total


def read_rules(session: Session, project_id: str, config_id: str) -> list[dict[str, Any]]:
    return read(session, project_id, config_id)["rules"]  # type: ignore[no-any-return]


def read_rule(session: Session, project_id: str, config_id: str, rule_id: str) -> dict[str, Any]:
    rules = read_rules(session, project_id, config_id)
    return rules[_rule_index(rules, rule_id)]


def list_versions(
    session: Session, project_id: str, config_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    entities.load(session, DYNAMIC_CONFIG, project_id, config_id)
    documents, total = entities.versions(
        session, DYNAMIC_CONFIG, project_id, config_id, offset=offset, limit=limit
    )
    return [config_dto(d) for d in documents], total


# -- validation helpers ----------------------------------------------------------------------


def _rule_context(session: Session, project_id: str, schema: Schema | None) -> RuleContext:
    return RuleContext(
        kind="config",
        gate_exists=lambda gate_id: entities.exists(session, GATE, project_id, gate_id),
        segment_exists=lambda seg_id: entities.exists(session, SEGMENT, project_id, seg_id),
        check_value=value_checker(schema),
    )


def _rule_where(index: int, rule: StoredRule) -> str:
    return f'rules[{index}] "{rule["name"]}"'


def _check_unique_names(rules: Sequence[StoredRule]) -> None:
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        key = rule["name"].lower()
        if key in seen:
            other = seen[key]
            raise InvalidInput.field(
                _rule_where(index, rule),
                f"rule name {rule['name']!r} is used by another rule "
                f"({_rule_where(other, rules[other])})",
            )
        seen[key] = index


def _with_extras(
    built: StoredRule, incoming: RuleIn, where: str, check: Callable[[object, str], JsonObject]
) -> StoredRule:
    """Keep what the shared rule builder does not: the JSON5 source and the variants."""
    if incoming.return_value_json5 is not None:
        built["returnValueJson5"] = incoming.return_value_json5
    if incoming.variants is not None:
        variants = []
        for j, variant in enumerate(incoming.variants):
            at = f"{where} variants[{j}] {variant.name!r}"
            value = (
                variant.return_value_json5
                if variant.return_value_json5 is not None
                else variant.return_value or {}
            )
            stored: StoredVariant = {
                "id": variant.id or random_id(),
                "name": variant.name,
                "passPercentage": check_percentage(variant.pass_percentage, at),
                "returnValue": check(value, f"{at} returnValue"),
            }
            if variant.return_value_json5 is not None:
                stored["returnValueJson5"] = variant.return_value_json5
            variants.append(stored)
        built["variants"] = variants
    return built


def _build_all(
    incoming: Sequence[RuleIn], ctx: RuleContext, existing: Sequence[StoredRule] = ()
) -> list[StoredRule]:
    built = build_rules(incoming, ctx, existing)
    assert ctx.check_value is not None
    return [
        _with_extras(rule, source, _rule_where(i, rule), ctx.check_value)
        for i, (rule, source) in enumerate(zip(built, incoming, strict=True))
    ]


def _check_values(document: dict[str, Any], schema: Schema | None) -> None:
    """Every value the config can serve must satisfy its schema (which may just have changed)."""
    check_against(schema, document["defaultValue"], "defaultValue")
    for index, rule in enumerate(document["rules"]):
        where = _rule_where(index, rule)
        check_against(schema, rule.get("returnValue") or {}, f"{where} returnValue")
        for j, variant in enumerate(rule.get("variants") or []):
            at = f"{where} variants[{j}] {variant['name']!r} returnValue"
            check_against(schema, variant.get("returnValue") or {}, at)


def _schema_of(document: dict[str, Any]) -> Schema | None:
    return resolve_schema(document.get("schema"), document.get("schemaJson5"))[0]


def _status(document: dict[str, Any]) -> str:
    if document.get("status") == ARCHIVED:
        return ARCHIVED
    return ENABLED if document["isEnabled"] else DISABLED


def _owner(body: ConfigFields) -> dict[str, Any] | None:
    if body.owner is None:
        return None
    return body.owner.model_dump(by_alias=True, exclude_none=True)


# -- writing ---------------------------------------------------------------------------------


def _apply(
    session: Session,
    project_id: str,
    document: dict[str, Any],
    body: ConfigFields,
    fields: set[str],
) -> dict[str, Any]:
    """Write the ``fields`` of ``body`` into ``document`` (a fresh copy) and validate it all."""
    if "name" in fields:
        document["name"], _ = entities.derive_id(body.name, document["id"])
    if "description" in fields:
        document["description"] = body.description or ""
    if "is_enabled" in fields:
        document["isEnabled"] = True if body.is_enabled is None else body.is_enabled
    if "id_type" in fields:
        document["idType"] = body.id_type or DEFAULT_ID_TYPE
    if "tags" in fields:
        document["tags"] = checked_tags(session, project_id, body.tags)
    if "target_apps" in fields:
        document["targetApps"] = entities.target_apps(session, project_id, body.target_apps)
    if "team" in fields:
        document["team"] = body.team
    if "team_id" in fields:
        document["teamID"] = body.team_id
    if "release_pipeline_id" in fields:
        document["releasePipelineID"] = body.release_pipeline_id
    if "owner" in fields:
        owner = _owner(body)
        if owner is None:
            document.pop("owner", None)
        else:
            document["owner"] = owner
    if fields & {"schema_", "schema_json5"}:
        _, schema_text, schema_json5 = resolve_schema(
            body.schema_ if "schema_" in fields else None,
            body.schema_json5 if "schema_json5" in fields else None,
        )
        document["schema"], document["schemaJson5"] = schema_text, schema_json5
    schema = _schema_of(document)
    if fields & {"default_value", "default_value_json5"}:
        value, value_json5 = resolve_value(
            body.default_value, body.default_value_json5, "defaultValue"
        )
        document["defaultValue"] = value
        if value_json5 is None:
            document.pop("defaultValueJson5", None)
        else:
            document["defaultValueJson5"] = value_json5
    if "rules" in fields:
        ctx = _rule_context(session, project_id, schema)
        document["rules"] = _build_all(body.rules or [], ctx, document.get("rules", []))
    _check_values(document, schema)
    document["status"] = _status(document)
    return document


def create(session: Session, change: Change, body: ConfigCreate) -> dict[str, Any]:
    name, config_id = entities.derive_id(body.name, body.id)
    entities.ensure_free(session, DYNAMIC_CONFIGS, change.project_id, config_id)
    document: dict[str, Any] = {
        "id": config_id,
        "name": name,
        "description": "",
        "idType": DEFAULT_ID_TYPE,
        "isEnabled": True,
        "status": ENABLED,
        "tags": [],
        "targetApps": [],
        "holdoutIDs": [],
        "team": None,
        "teamID": None,
        "rules": [],
        "defaultValue": {},
        "schema": None,
        "schemaJson5": None,
        "releasePipelineID": None,
        "isTemplate": bool(body.is_template),
        "salt": str(uuid.uuid4()),
    }
    fields = set(body.model_fields_set) - {"name", "id", "is_template"}
    document = _apply(session, change.project_id, document, body, fields)
    row = entities.insert(
        session,
        DYNAMIC_CONFIG,
        change,
        document,
        action="dynamic_config_create",
        change_log="Created Dynamic Config",
    )
    return config_dto(row.document)


# A full update replaces these when they are omitted; ``name`` and ``idType`` are kept, since
# the DTO calls the name optional and a silent unit-type change would re-bucket every user.
_REPLACED = frozenset(
    {
        "description",
        "is_enabled",
        "rules",
        "default_value",
        "default_value_json5",
        "tags",
        "owner",
        "schema_",
        "schema_json5",
        "target_apps",
        "team",
        "team_id",
        "release_pipeline_id",
    }
)


def replace(
    session: Session, change: Change, config_id: str, body: ConfigFullUpdate
) -> dict[str, Any]:
    fields = set(_REPLACED) | (body.model_fields_set & {"name", "id_type"})
    return _update(session, change, config_id, body, fields)


def patch(
    session: Session, change: Change, config_id: str, body: ConfigPartialUpdate
) -> dict[str, Any]:
    return _update(session, change, config_id, body, set(body.model_fields_set))


_ACTIONS = (
    ("rules", "config_conditions_update", "Updated rules"),
    ("defaultValue", "config_default_value_update", "Updated default value"),
    ("isEnabled", "config_state_toggle", "Changed enabled state"),
    ("description", "config_description_update", "Updated description"),
    ("name", "config_display_name_update", "Updated display name"),
    ("tags", "config_edit_tags", "Updated tags"),
    ("targetApps", "config_edit_target_apps", "Updated target apps"),
    ("idType", "config_id_type_update", "Updated id type"),
    ("owner", "config_update_owners", "Updated owner"),
)


def _action_for(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, str]:
    for key, action, text in _ACTIONS:
        if before.get(key) != after.get(key):
            return action, f"{text} of Dynamic Config"
    return "config_conditions_update", "Updated Dynamic Config"


def _update(
    session: Session, change: Change, config_id: str, body: ConfigFields, fields: set[str]
) -> dict[str, Any]:
    row = entities.load(session, DYNAMIC_CONFIG, change.project_id, config_id, lock=True)
    document = _apply(session, change.project_id, entities.editable(row), body, fields)
    action, text = _action_for(row.document, document)
    return _save(session, change, row, document, action, text)


def _save(
    session: Session,
    change: Change,
    row: Any,
    document: dict[str, Any],
    action: str,
    change_log: str,
) -> dict[str, Any]:
    saved = entities.save(
        session, DYNAMIC_CONFIG, change, row, document, action=action, change_log=change_log
    )
    return config_dto(saved.document)


def delete(session: Session, change: Change, config_id: str) -> None:
    row = entities.load(session, DYNAMIC_CONFIG, change.project_id, config_id, lock=True)
    param_stores.ensure_unreferenced(session, change.project_id, "dynamic_config", config_id)
    entities.remove(
        session,
        DYNAMIC_CONFIG,
        change,
        row,
        action="config_delete",
        change_log="Deleted Dynamic Config",
    )


# -- lifecycle -------------------------------------------------------------------------------


def enable(session: Session, change: Change, config_id: str) -> dict[str, Any]:
    return _set_enabled(session, change, config_id, True)


def disable(session: Session, change: Change, config_id: str) -> dict[str, Any]:
    return _set_enabled(session, change, config_id, False)


def _set_enabled(session: Session, change: Change, config_id: str, enabled: bool) -> dict[str, Any]:
    row = entities.load(session, DYNAMIC_CONFIG, change.project_id, config_id, lock=True)
    document = entities.editable(row)
    if document.get("status") == ARCHIVED:
        verb = "enabled" if enabled else "disabled"
        raise InvalidInput.because(
            f"Dynamic Config {config_id!r} is archived and cannot be {verb}; unarchive it first"
        )
    document["isEnabled"] = enabled
    document["status"] = _status(document)
    text = "Enabled Dynamic Config" if enabled else "Disabled Dynamic Config"
    return _save(session, change, row, document, "config_state_toggle", text)


def archive(session: Session, change: Change, config_id: str, body: ArchiveIn) -> dict[str, Any]:
    row = entities.load(session, DYNAMIC_CONFIG, change.project_id, config_id, lock=True)
    document = entities.editable(row)
    if document.get("status") == ARCHIVED:
        raise InvalidInput.because(f"Dynamic Config {config_id!r} is already archived")
    document["status"] = ARCHIVED
    text = "Archived Dynamic Config"
    if body.archive_reason:
        text += f": {body.archive_reason}"
    return _save(session, change, row, document, "config_state_toggle", text)


def unarchive(
    session: Session, change: Change, config_id: str, body: UnarchiveIn
) -> dict[str, Any]:
    row = entities.load(session, DYNAMIC_CONFIG, change.project_id, config_id, lock=True)
    document = entities.editable(row)
    if document.get("status") != ARCHIVED:
        raise InvalidInput.because(f"Dynamic Config {config_id!r} is not archived")
    document["status"] = ENABLED if document["isEnabled"] else DISABLED
    text = "Unarchived Dynamic Config"
    if body.unarchive_reason:
        text += f": {body.unarchive_reason}"
    return _save(session, change, row, document, "config_state_toggle", text)


# -- rules -----------------------------------------------------------------------------------


def _rule_index(rules: Sequence[Mapping[str, Any]], rule_id: str) -> int:
    index = find_rule(rules, rule_id)
    if index is None:
        raise NotFound(f"Rule {rule_id!r} not found in this Dynamic Config.")
    return index


def _rule_index_by_name(rules: Sequence[StoredRule], name: str) -> int:
    index = find_rule_by_name(rules, name)
    if index is None:
        raise NotFound(f"Rule named {name!r} not found in this Dynamic Config.")
    return index


def _change_rules(
    session: Session,
    change: Change,
    config_id: str,
    edit: Callable[[list[StoredRule], RuleContext], list[StoredRule]],
    change_log: str,
) -> dict[str, Any]:
    """Load, let ``edit`` produce the new rule list, validate the document and save it."""
    row = entities.load(session, DYNAMIC_CONFIG, change.project_id, config_id, lock=True)
    document = entities.editable(row)
    schema = _schema_of(document)
    ctx = _rule_context(session, change.project_id, schema)
    document["rules"] = edit(document["rules"], ctx)
    _check_unique_names(document["rules"])
    _check_values(document, schema)
    return _save(session, change, row, document, "config_conditions_update", change_log)


def add_rules(
    session: Session, change: Change, config_id: str, incoming: Sequence[RuleIn]
) -> dict[str, Any]:
    def edit(rules: list[StoredRule], ctx: RuleContext) -> list[StoredRule]:
        # New rules read new ids whatever the body says; existing rules are not rebuilt, so an
        # unrelated stale reference elsewhere cannot block an addition.
        fresh = [r.model_copy(update={"id": None, "base_id": None}) for r in incoming]
        return [*rules, *_build_all(fresh, ctx)]

    count = len(incoming)
    text = "Added rule to Dynamic Config" if count == 1 else f"Added {count} rules"
    return _change_rules(session, change, config_id, edit, text)


def _update_one(
    rules: list[StoredRule], index: int, update: RuleIn, ctx: RuleContext
) -> list[StoredRule]:
    current = rules[index]
    merged = merge_rule_update(current, update, ctx)
    if update.return_value_json5 is not None:
        merged["returnValueJson5"] = update.return_value_json5
    elif update.return_value is None and "returnValueJson5" in current:
        merged["returnValueJson5"] = current["returnValueJson5"]
    if update.variants is not None:
        assert ctx.check_value is not None
        where = _rule_where(index, merged)
        merged = _with_extras(
            merged, update.model_copy(update={"return_value_json5": None}), where, ctx.check_value
        )
    elif "variants" in current:
        merged["variants"] = current["variants"]
    return [*rules[:index], merged, *rules[index + 1 :]]


def update_rule(
    session: Session, change: Change, config_id: str, rule_id: str, update: RuleIn
) -> dict[str, Any]:
    def edit(rules: list[StoredRule], ctx: RuleContext) -> list[StoredRule]:
        return _update_one(rules, _rule_index(rules, rule_id), update, ctx)

    return _change_rules(session, change, config_id, edit, "Updated rule of Dynamic Config")


def update_rule_by_name(
    session: Session, change: Change, config_id: str, name: str, update: RuleIn
) -> dict[str, Any]:
    def edit(rules: list[StoredRule], ctx: RuleContext) -> list[StoredRule]:
        return _update_one(rules, _rule_index_by_name(rules, name), update, ctx)

    return _change_rules(session, change, config_id, edit, "Updated rule of Dynamic Config")


def _match_rule(rules: Sequence[StoredRule], update: RuleIn) -> tuple[int | None, RuleIn]:
    """The rule an item of ``PATCH /rules`` addresses: by id or base id, else by name."""
    for key in (update.id, update.base_id):
        if key:
            return find_rule(rules, key), update
    if not update.name:
        return None, update
    # The name only identified the rule; its spelling is not an update.
    return find_rule_by_name(rules, update.name), update.model_copy(update={"name": None})


def update_rules(
    session: Session, change: Change, config_id: str, updates: Sequence[RuleIn]
) -> dict[str, Any]:
    """Update the listed rules in place (matched by id, base id, else name); add or drop none."""

    def edit(rules: list[StoredRule], ctx: RuleContext) -> list[StoredRule]:
        for position, update in enumerate(updates):
            index, matched = _match_rule(rules, update)
            if index is None:
                wanted = update.id or update.base_id or update.name
                raise InvalidInput.field(
                    f"rules[{position}]",
                    "no rule "
                    + (f"{wanted!r} in this Dynamic Config" if wanted else "id or name given"),
                )
            rules = _update_one(rules, index, matched, ctx)
        return rules

    return _change_rules(session, change, config_id, edit, "Updated rules of Dynamic Config")


def delete_rule(session: Session, change: Change, config_id: str, rule_id: str) -> dict[str, Any]:
    def edit(rules: list[StoredRule], _ctx: RuleContext) -> list[StoredRule]:
        index = _rule_index(rules, rule_id)
        return [*rules[:index], *rules[index + 1 :]]

    return _change_rules(session, change, config_id, edit, "Deleted rule of Dynamic Config")


def delete_rule_by_name(
    session: Session, change: Change, config_id: str, name: str
) -> dict[str, Any]:
    def edit(rules: list[StoredRule], _ctx: RuleContext) -> list[StoredRule]:
        index = _rule_index_by_name(rules, name)
        return [*rules[:index], *rules[index + 1 :]]

    return _change_rules(session, change, config_id, edit, "Deleted rule of Dynamic Config")

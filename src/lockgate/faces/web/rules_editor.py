"""The rules editor that the gate, dynamic config and segment pages share: what the partial
``_rules_editor.html`` shows (IF / ELSE IF bands, each rule's split, a config rule's return
value, the environments a gate or config rule is limited to, Add rule with only the chosen
criteria's operators), the Add rule form read into the Console API's ``RuleIn``, and where a
refusal is shown. Each page saves through its own domain's rule operations."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from fastapi import Depends, Form, Request
from sqlalchemy.orm import Session

from lockgate.cores.compiler.vocabulary import CONDITION_TYPES
from lockgate.domains.environments import service as environments_service
from lockgate.domains.rules.schemas import ConditionIn, RuleIn
from lockgate.errors import InvalidInput, LockgateError
from lockgate.faces.web import vocabulary

DEFAULT_CRITERIA: Final = "email"
NEW: Final = ""  # where a refusal of Add rule is shown (a rule's id otherwise)
PERCENTAGE_PROBLEM: Final = "The pass percentage must be a number from 0 to 100."
# How the refusals of a rule's environments start, to show them next to the checkboxes.
ENVIRONMENTS_PROBLEMS: Final = ("Environments limit only", "Unknown environment")


def percentage(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidInput(PERCENTAGE_PROBLEM) from exc


def json_text(text: str, what: str) -> Any:
    """The JSON value typed in a field, or a refusal naming the line and column at fault."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc


def environment_names(session: Session, project_id: str) -> list[str]:
    """The project's environments, in their order: what a gate or config rule can be limited
    to."""
    found = environments_service.read(session, project_id)["environments"]
    return [str(e["name"]) for e in found]


def environments_of(chosen: Sequence[str], known: Sequence[str]) -> list[str] | None:
    """The environments checked on a form, as a rule's ``environments``: ``None`` (every
    environment) when none is checked; a name the project does not have is refused."""
    if chosen and not known:
        raise InvalidInput(f"{ENVIRONMENTS_PROBLEMS[0]} gate and dynamic config rules.")
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise InvalidInput(
            f"Unknown environment {unknown[0]!r}: this project's environments are "
            f"{', '.join(known)}."
        )
    return [name for name in known if name in chosen] or None


def environments_update(chosen: Sequence[str], known: Sequence[str]) -> RuleIn:
    """A rule's environments changed on its band, as the Console API's rule update."""
    return RuleIn(environments=environments_of(chosen, known))


@dataclass(frozen=True)
class RuleForm:
    """The Add rule form as typed, kept to fill the form again when it is refused."""

    name: str
    criteria: str
    operator: str | None
    field: str | None
    values: str
    pass_percentage: str
    return_value: str | None
    environments: tuple[str, ...] = ()

    def rule(self, environments: Sequence[str] = ()) -> RuleIn:
        """The rule the form describes, as the Console API would receive it; ``environments``
        are the project's, for a gate or config rule (none for a segment's)."""
        if self.criteria not in CONDITION_TYPES:
            raise InvalidInput(f"Unknown criteria {self.criteria!r}.")
        targets = [v.strip() for v in self.values.split(",") if v.strip()]
        target: Any = targets
        if not CONDITION_TYPES[self.criteria].operators and targets:
            target = targets[0]
        condition = ConditionIn.model_validate(
            {
                "type": self.criteria,
                "operator": self.operator or None,
                "field": self.field or None,
                "targetValue": target if vocabulary.takes_values(self.criteria) else None,
            }
        )
        fields: dict[str, Any] = {
            "name": self.name.strip(),
            "pass_percentage": percentage(self.pass_percentage),
            "conditions": [condition],
        }
        if self.return_value is not None:
            fields["return_value"] = json_text(self.return_value, "The return value")
        limited = environments_of(self.environments, environments)
        if limited is not None:
            fields["environments"] = limited
        return RuleIn(**fields)


def rule_form(
    rule_name: Annotated[str, Form()] = "",
    criteria: Annotated[str, Form()] = DEFAULT_CRITERIA,
    operator: Annotated[str | None, Form()] = None,
    field: Annotated[str | None, Form()] = None,
    values: Annotated[str, Form()] = "",
    pass_percentage: Annotated[str, Form()] = "0",
    return_value: Annotated[str | None, Form()] = None,
    environments: Annotated[list[str] | None, Form()] = None,
) -> RuleForm:
    return RuleForm(
        rule_name,
        criteria,
        operator,
        field,
        values,
        pass_percentage,
        return_value,
        tuple(environments or ()),
    )


RuleFormIn = Annotated[RuleForm, Depends(rule_form)]


@dataclass(frozen=True)
class Refusal:
    """A refused rule change, shown next to the field at fault: ``at`` is the rule's id (or
    ``NEW`` for Add rule), ``field`` is ``value`` for a return value, ``environments`` for a
    rule's environments and ``rule`` otherwise."""

    at: str
    field: Literal["rule", "value", "environments"]
    message: str
    form: RuleForm | None = None
    text: str = ""  # the return value as typed, for a rule's value form


def refusal(exc: LockgateError, at: str, form: RuleForm | None = None, text: str = "") -> Refusal:
    if exc.message.startswith(ENVIRONMENTS_PROBLEMS):
        return Refusal(at, "environments", exc.message, form, text)
    about_value = "return value" in exc.message.lower() or any(
        problem["property"].endswith("returnValue") for problem in exc.errors or []
    )
    return Refusal(at, "value" if about_value else "rule", exc.message, form, text)


def editor(
    request: Request,
    *,
    base: str,
    rules: Sequence[Mapping[str, Any]],
    default_line: str,
    values: bool = False,
    default_pass: int = 0,
    refused: Refusal | None = None,
    environments: Sequence[str] = (),
) -> dict[str, Any]:
    """What ``_rules_editor.html`` shows: ``base`` is the page's path, under which the rule
    forms post (``/rules``, ``/rules/{id}/split``, ``/rules/{id}/value``,
    ``/rules/{id}/environments``, ``/rules/{id}/delete``); ``values`` adds each rule's return
    value (dynamic configs); ``environments``, the project's, lets a rule be limited to some of
    them (gates and dynamic configs)."""
    form = refused.form if refused is not None else None
    criteria = form.criteria if form is not None else request.query_params.get("criteria", "")
    chosen = criteria in CONDITION_TYPES
    if not chosen:
        criteria = DEFAULT_CRITERIA
    shown = [
        dict(
            rule,
            sentence=vocabulary.rule_sentence(rule),
            value_text=json.dumps(rule.get("returnValue") or {}, indent=2),
        )
        for rule in rules
    ]
    return {
        "base": base,
        "rules": shown,
        "default_line": default_line,
        "values": values,
        "environments": list(environments),
        "default_pass": default_pass,
        "refused": refused,
        "form": form,
        "open": chosen or (refused is not None and refused.at == NEW),
        "criteria": criteria,
        "criteria_label": vocabulary.CRITERIA_LABELS.get(criteria, criteria),
        "criteria_options": vocabulary.criteria_options(),
        "operators": vocabulary.operators_of(criteria),
        "needs_field": CONDITION_TYPES[criteria].needs_field,
        "takes_values": vocabulary.takes_values(criteria),
    }

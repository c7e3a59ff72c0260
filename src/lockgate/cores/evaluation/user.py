"""The user being evaluated: a frozen ``StatsigUser`` plus its wire (camelCase) form.

Field lookup and unit-id lookup follow statsig-python-core so that conditions read the same
value the SDK would (top-level field, then ``custom``, then ``privateAttributes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from lockgate.documents.values import JsonObject, JsonValue

# A user's wire form as it arrives: validated here, field by field.
JsonMap = Mapping[str, Any]

# Condition `field` names (lower-cased) that map to a top-level user attribute.
_TOP_LEVEL_FIELDS: Final[dict[str, str]] = {
    "userid": "user_id",
    "user_id": "user_id",
    "email": "email",
    "ip": "ip",
    "ipaddress": "ip",
    "ip_address": "ip",
    "useragent": "user_agent",
    "user_agent": "user_agent",
    "country": "country",
    "locale": "locale",
    "appversion": "app_version",
    "app_version": "app_version",
}

# Wire name → attribute name for the plain string attributes.
_WIRE_STRINGS: Final[dict[str, str]] = {
    "userID": "user_id",
    "email": "email",
    "ip": "ip",
    "userAgent": "user_agent",
    "country": "country",
    "locale": "locale",
    "appVersion": "app_version",
}

# The attributes ``StatsigUser.from_wire`` sets: every field of the dataclass.
WIRE_FIELDS: Final = frozenset(
    {*_WIRE_STRINGS.values(), "custom", "private_attributes", "custom_ids", "statsig_environment"}
)


def _text(value: object) -> str | None:
    # Numbers arrive as user ids from some SDKs; attributes hold their text.
    return value if value is None or type(value) is str else str(value)


def _frozen_map(value: object) -> dict[str, JsonValue]:
    # A plain dict (what a decoded body holds) skips the slower abstract-class check.
    if type(value) is dict or isinstance(value, Mapping):
        return dict(value)
    return {}


def _string_map(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if type(value) is not dict and not isinstance(value, Mapping):
        return {}
    # Numeric custom ids arrive from some SDKs; the evaluator hashes their text.
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items() if v is not None}


@dataclass(frozen=True, slots=True)
class StatsigUser:
    """A user as the SDKs send it; all attributes optional."""

    user_id: str | None = None
    email: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    country: str | None = None
    locale: str | None = None
    app_version: str | None = None
    custom: Mapping[str, JsonValue] = field(default_factory=dict)
    private_attributes: Mapping[str, JsonValue] = field(default_factory=dict)
    custom_ids: Mapping[str, str] = field(default_factory=dict)
    statsig_environment: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, data: JsonMap) -> StatsigUser:
        """Build from the JSON form (``userID``, ``customIDs``, ``statsigEnvironment``, ...).

        Every field is passed by position, without keyword handling: a request builds one user
        per call (``WIRE_FIELDS`` names them all, checked against the dataclass's fields by the
        tests). A constructor call, not slots set on a bare object, so that the class compiled
        by mypyc (docs/sdk.md §Serving speed) builds it the same way."""
        get = data.get
        return cls(
            _text(get("userID")),
            _text(get("email")),
            _text(get("ip")),
            _text(get("userAgent")),
            _text(get("country")),
            _text(get("locale")),
            _text(get("appVersion")),
            _frozen_map(get("custom")),
            _frozen_map(get("privateAttributes")),
            _string_map(get("customIDs")),
            _string_map(get("statsigEnvironment")),
        )

    def to_wire(self, *, include_private: bool = False) -> JsonObject:
        """The JSON form; ``userID`` is always present, private attributes only on request."""
        out: JsonObject = {"userID": self.user_id or ""}
        for wire, attr in _WIRE_STRINGS.items():
            value = getattr(self, attr)
            if value is not None and wire != "userID":
                out[wire] = value
        optional_maps = {
            "custom": self.custom,
            "customIDs": self.custom_ids,
            "statsigEnvironment": self.statsig_environment,
        }
        if include_private:
            optional_maps["privateAttributes"] = self.private_attributes
        out.update({k: dict(v) for k, v in optional_maps.items() if v})
        return out

    def field_value(self, field_name: str | None) -> JsonValue:
        """The value a ``user_field`` condition reads for ``field_name`` (``None`` if absent).

        Conditions read through ``field_reader``, its compiled form."""
        if field_name is None:
            return None
        lowered = field_name.lower()
        attr = _TOP_LEVEL_FIELDS.get(lowered)
        if attr is not None:
            top_level: str | None = getattr(self, attr)
            # An empty top-level string falls through to custom, as in the reference SDK.
            if top_level:
                return top_level
        for source in (self.custom, self.private_attributes):
            if field_name in source:
                return source[field_name]
            if lowered in source:
                return source[lowered]
        return None

    def unit_id(self, id_type: str) -> str | None:
        """The unit id for an ``idType`` (``userID`` or a custom id name, case-insensitive)."""
        lowered = id_type.lower()
        if lowered == "userid":
            return self.user_id
        found = self.custom_ids.get(id_type)
        return found if found is not None else self.custom_ids.get(lowered)


FieldReader = Callable[[StatsigUser], JsonValue]


@lru_cache(maxsize=4096)
def field_reader(field_name: str | None) -> FieldReader:
    """``StatsigUser.field_value`` for one field name, with the name's lower-cased form and
    top-level attribute looked up once: top-level attribute, then ``custom``, then
    ``privateAttributes``, each under the name as given and then lower-cased."""
    if field_name is None:
        return lambda user: None
    lowered = field_name.lower()
    attr = _TOP_LEVEL_FIELDS.get(lowered)
    names = (field_name,) if lowered == field_name else (field_name, lowered)

    def read(user: StatsigUser) -> JsonValue:
        if attr is not None:
            top_level: str | None = getattr(user, attr)
            # An empty top-level string falls through to custom, as in the reference SDK.
            if top_level:
                return top_level
        for source in (user.custom, user.private_attributes):
            if source:
                for name in names:
                    if name in source:
                        return source[name]
        return None

    return read


def coerce_user(user: StatsigUser | JsonMap) -> StatsigUser:
    """Accept either a ``StatsigUser`` or its wire dict."""
    return user if isinstance(user, StatsigUser) else StatsigUser.from_wire(user)

"""What conditions read from one user, computed once per request.

A user is evaluated against every gate and config of a project in one ``/v1/initialize``; the
same field, unit id, parsed user agent, IP country and bucket are read again and again, so the
view keeps each derived value the first time it is asked for (docs/sdk.md §Speed of evaluation).
"""

from __future__ import annotations

from typing import Final, cast

from lockgate.cores.evaluation.derived import country_of_ip, user_agent_field
from lockgate.cores.evaluation.hashing import user_bucket
from lockgate.cores.evaluation.user import StatsigUser, field_reader
from lockgate.documents.values import JsonValue

# Stands for "not read yet" in the caches below, whose values may be None. Lookups use
# ``dict.get`` or ``in`` rather than catching ``KeyError``: in a single ``check_gate`` most
# reads are first reads, and raising costs several times a lookup.
_UNSET: Final = object()


class UserView:
    """Memoised reads of one ``StatsigUser``; the user itself is never changed."""

    __slots__ = ("_buckets", "_fields", "_ip", "_ua", "_units", "texts", "user")

    def __init__(self, user: StatsigUser) -> None:
        self.user = user
        self._fields: dict[str | None, JsonValue] = {}
        self._units: dict[str, str | None] = {}
        self._ua: dict[str | None, object] = {}
        self._ip: dict[str | None, object] = {}
        self._buckets: dict[tuple[str, str], int] = {}
        # The texts string operators test, by source, field and unit type (``conditions.py``).
        self.texts: dict[str, str] = {}

    def field(self, name: str | None) -> JsonValue:
        """``StatsigUser.field_value``: top-level attribute, then custom, then private."""
        fields = self._fields
        if name in fields:
            return fields[name]
        value = fields[name] = field_reader(name)(self.user)
        return value

    def unit_id(self, id_type: str) -> str | None:
        """``StatsigUser.unit_id``: the user id or a custom id, case-insensitive."""
        units = self._units
        if id_type in units:
            return units[id_type]
        found = units[id_type] = self.user.unit_id(id_type)
        return found

    def ua_field(self, name: str | None) -> object:
        """What a ``ua_based`` condition reads: the field if the user set it, else parsed from
        ``userAgent``."""
        value = self._ua.get(name, _UNSET)
        if value is not _UNSET:
            return value
        value = self.field(name)
        if value is None:
            # Not checked to be a string: a custom ``userAgent`` reaches the parser as given.
            value = user_agent_field(cast(str | None, self.field("userAgent")), name)
        self._ua[name] = value
        return value

    def ip_field(self, name: str | None) -> object:
        """What an ``ip_based`` condition reads: the field if set, else the IP's country."""
        value = self._ip.get(name, _UNSET)
        if value is not _UNSET:
            return value
        value = self.field(name)
        if value is None and (name or "").lower() == "country":
            ip = self.field("ip")
            value = country_of_ip(ip) if isinstance(ip, str) else None
        self._ip[name] = value
        return value

    def bucket(self, salt: str, id_type: str) -> int:
        """The ``user_bucket`` of this user's unit id under ``salt`` (hashed once per pair)."""
        unit_id = self.unit_id(id_type) or ""
        key = (salt, unit_id)
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = user_bucket(salt, unit_id)
        return found

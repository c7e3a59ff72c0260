"""Keys shown to people: never more than a key's public id, in error messages and in logs.

A key is ``<prefix><public part><secret part>`` (``keys.service``); its public id, the prefix
and the public part, names it in the Console API and the audit log and is safe to show.
"""

from __future__ import annotations

import re

from lockgate.domains.keys.service import PREFIXES, PUBLIC_PART

MASK = "*" * 8
_PREFIXES = tuple(PREFIXES.values())
# A key of a known kind anywhere in a text: the public id is kept, the rest masked.
_KEY = re.compile(
    r"(?<![0-9A-Za-z])((?:"
    + "|".join(re.escape(p) for p in _PREFIXES)
    + r")[0-9A-Za-z]{"
    + str(PUBLIC_PART)
    + r"})[0-9A-Za-z]+"
)
# Places where whatever is written is a key, known kind or not: the key in the
# download_config_specs and get_id_lists paths and the ``k`` query parameter of browser SDKs.
_KEY_SLOT = re.compile(
    r"((?:download_config_specs|get_id_lists)/|[?&]k=)([^/?&#\s\"']+?)(?=\.json|[/?&#\s\"']|$)"
)


def masked_key(key: str) -> str:
    """``key`` cut to its public id (``secret-`` and 12 characters), marked as cut.

    Text that is not a key of a known kind keeps only as many characters as a public part, so
    a mistyped secret of another system is not echoed whole either."""
    visible = next((len(p) for p in _PREFIXES if key.startswith(p)), 0) + PUBLIC_PART
    return key if len(key) <= visible else key[:visible] + MASK


def redact_keys(text: str) -> str:
    """``text`` with every key in it masked down to its public id."""
    text = _KEY.sub(lambda found: found.group(1) + MASK, text)
    return _KEY_SLOT.sub(lambda found: found.group(1) + _masked_once(found.group(2)), text)


def _masked_once(key: str) -> str:
    return key if key.endswith(MASK) else masked_key(key)

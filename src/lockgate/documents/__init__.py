"""Typed documents: the JSON shapes Lockgate stores, compiles and reports, as TypedDicts.

``console`` is generated from the Console API's published schemas; ``stored`` holds the entity
documents as the database keeps them, ``specs`` the compiled SDK documents and ``pulse`` the
results. They import nothing from Lockgate, so every layer, the pure cores included, can use
them.

The modules do not postpone annotations (``from __future__ import annotations``): Python 3.11's
TypedDict would then count ``NotRequired`` keys among ``__required_keys__``.
"""

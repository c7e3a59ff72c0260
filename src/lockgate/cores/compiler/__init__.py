"""Compile on write: the project's entities become one canonical dcs-v2 document, rendered
for the SDKs (v2, v1, client initialize) and cached by the project's spec revision."""

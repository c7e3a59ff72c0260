"""The company and its projects: bootstrap, spec revisions, ``/project`` and ``/company``."""

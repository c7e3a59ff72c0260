"""The review workflow: review settings, reviews of gates, dynamic configs, segments and
experiments, their approval and commit, the pre-commit webhook and notifications."""

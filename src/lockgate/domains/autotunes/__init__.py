"""Autotunes: multi-armed bandits over JSON variants, with a start/decide/reset lifecycle."""

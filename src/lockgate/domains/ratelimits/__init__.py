"""Mutation rate limits over sliding windows, counted in the database every process shares."""

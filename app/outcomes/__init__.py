"""Outcome measurement: instruments as data, scoring, pre-post statistics and reliable change."""

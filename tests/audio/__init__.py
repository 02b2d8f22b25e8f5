"""Tests for the pure audio layer."""

"""Tests of impasto studio (impasto.web)."""

"""Upstream encoders: a registry from a short name to a feature extractor."""

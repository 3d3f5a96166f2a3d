"""Shared fixtures. Keep fixtures specific to one area in that area's test module."""

"""Shared test set-up: tests import the packages from the source tree."""

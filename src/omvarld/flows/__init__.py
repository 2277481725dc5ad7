"""Prefect flows and tasks: thin wrappers that schedule the stages."""

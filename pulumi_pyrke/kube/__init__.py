"""Kubernetes API access: server-side apply, delete, wait, cordon and drain (arrives with addons)."""

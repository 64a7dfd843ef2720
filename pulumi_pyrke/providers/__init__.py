"""Pulumi dynamic providers and the Node, Cluster and Addon resource classes (thin adapters)."""

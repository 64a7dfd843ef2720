"""The engine: executes a ClusterPlan across hosts with bounded pools, deadlines and retries."""

"""The `pyrke` command line for RKE users: validate, plan (and later up, remove, snapshots)."""

"""verify-rollback: smoke tests, a monitoring window, and rollback of the cluster and the registry."""

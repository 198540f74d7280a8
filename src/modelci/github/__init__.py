"""GitHub Actions plumbing and the GitHub REST API."""

"""modelci: model CI/CD for GitHub Actions."""

__version__ = "0.1.0"

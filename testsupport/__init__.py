"""Helpers shared by the project's test suites (CareCall's, stripe_sandbox's and the browser tests)."""

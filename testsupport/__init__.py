"""Helpers shared by the test suites (CareCall's, stripe_sandbox's and the browser tests)."""

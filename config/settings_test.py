"""Settings for the test suite: the production settings with test-only speed-ups."""

import os

os.environ.setdefault("SECRET_KEY", "test-" + "k" * 60)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("HTTPS", "false")
os.environ.setdefault("EMAIL_URL", "memory:")
os.environ.setdefault("SITE_URL", "http://testserver")
# Payments talk to a stripe_sandbox the tests start (carecall/payments/tests/conftest.py).
os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_carecall_tests")
os.environ.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_carecall_tests")
os.environ.setdefault("STRIPE_CONNECT_CLIENT_ID", "ca_carecall_tests")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_carecall_tests")
# The browser tests read the call page's state through window.carecallCall.
os.environ.setdefault("CALL_TEST_HOOKS", "true")

from config.settings import *  # noqa: F403

# Argon2 is deliberately slow; the tests check behaviour, not hashing cost.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if str(DATABASES["default"]["ENGINE"]).endswith("sqlite3"):  # noqa: F405
    # A file, not SQLite's shared in-memory database: browser tests serve pages from another
    # thread, and the in-memory database locks whole tables under concurrent writes
    # ("database table is locked"). WAL plus a busy timeout let the threads take turns.
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"carecall-test-{os.getpid()}.sqlite3")
    }
    # A throwaway database need not survive a power cut.
    DATABASES["default"]["OPTIONS"] = {  # noqa: F405
        **DATABASES["default"]["OPTIONS"],  # type: ignore[dict-item]  # noqa: F405
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;",
    }

# Test processes load config.asgi without serving it; the claim's tests run real servers.
WEB_PROCESS_CLAIM = False

# A Stripe call inside a database transaction fails the test (carecall/payments/stripe_gateway.py).
STRIPE_CALLS_IN_TRANSACTION = "raise"

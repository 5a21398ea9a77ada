"""The scene of the bad-input catalogue (scene.py), built for each case."""

from __future__ import annotations

from typing import Any

import pytest

import stripe_sandbox
from carecall.payments.tests.bad_input.scene import Scene, scene_build


@pytest.fixture
def scene(connected: Any, sandbox: stripe_sandbox.SandboxServer) -> Scene:
    return scene_build(connected, sandbox)

"""Fixtures of the dashboard tests that run without a server or a browser."""

import pytest

from app.main import create_app


@pytest.fixture
def app():
    """A session's page built outside a server; its engine is stopped afterwards."""
    app = create_app()
    yield app
    app.store.shutdown()

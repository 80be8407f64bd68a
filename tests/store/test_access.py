"""Opening a store for reading or repairing never creates or upgrades one, on every backend:
a missing or empty store is a NoStore error and the target is left exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wfkit.engine.store import open_store
from wfkit.engine.store.memory import MemoryStore
from wfkit.errors import NoStore


def _sqlite_target(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[str, Callable[[], Any]]:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    return f"sqlite:///{path}", lambda: (
        path.read_bytes(),
        path.stat().st_mtime_ns,
        sorted(p.name for p in tmp_path.iterdir()),
    )


def _postgres_target(
    tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[str, Callable[[], Any]]:
    pg = request.getfixturevalue("postgres_database")
    url = pg.new_url()
    schema = url.rsplit("%3D", 1)[1]
    return url, lambda: pg.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (schema,),
    )


@pytest.fixture(
    params=[
        pytest.param(_sqlite_target, id="sqlite"),
        pytest.param(_postgres_target, id="postgres", marks=pytest.mark.postgres),
    ]
)
def empty_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Callable[[], Any]]:
    """(URL of an empty store target, a fingerprint of what is there)."""
    return request.param(tmp_path, request)


@pytest.mark.parametrize("access", ["read", "existing"])
def test_an_empty_target_is_no_store_and_stays_empty(empty_target, access) -> None:
    url, fingerprint = empty_target
    before = fingerprint()
    with pytest.raises(NoStore):
        open_store(url, access=access)
    assert fingerprint() == before
    open_store(url).close()  # "create" (the default) sets it up, and then reading works
    open_store(url, access="read").close()
    assert fingerprint() != before


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    for access in ("read", "existing"):
        with pytest.raises(NoStore) as err:
            open_store(f"sqlite:///{tmp_path / 'nope.db'}", access=access)
        assert "the file does not exist" in err.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("access", ["read", "existing"])
def test_a_memory_store_is_never_an_existing_one(access) -> None:
    with pytest.raises(NoStore):
        MemoryStore(access=access)


def test_an_unknown_access_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        open_store(f"sqlite:///{tmp_path / 'x.db'}", access="write")
    assert list(tmp_path.iterdir()) == []

"""Revision c0002 builds exactly the staff tables the models describe (and drops them again).

Run on its own here, through alembic's Operations on a fresh database, and compared
with the models by alembic's own autogenerate: any column, type, null, index or
constraint the migration forgets is a difference. (The full history, c0001 then
c0002, runs through central.db.migrate once core's revision is merged.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import MetaData, create_engine, inspect

import central.staff_models  # noqa: F401  (registers the tables)
from central.base import Base

MIGRATION = Path(__file__).resolve().parents[2] / "central/migrations/versions/c0002_staff.py"
STAFF_TABLES = {"staff_accounts", "api_tokens", "alerts", "audit_log"}


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("c0002_staff", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_c0002_matches_the_models_and_downgrades(tmp_path: Path) -> None:
    migration = _module()
    assert (migration.revision, migration.down_revision) == ("c0002", "c0001")
    engine = create_engine(f"sqlite:///{tmp_path / 'central.sqlite'}")
    staff_only = MetaData(naming_convention=Base.metadata.naming_convention)
    for name in STAFF_TABLES:
        Base.metadata.tables[name].to_metadata(staff_only)
    with engine.begin() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        with Operations.context(context):
            migration.upgrade()
        assert set(inspect(connection).get_table_names()) == STAFF_TABLES
        assert compare_metadata(context, staff_only) == []
        indexes = {i["name"]: i for i in inspect(connection).get_indexes("alerts")}
        assert indexes["uq_alerts_open_key"]["unique"]
        with Operations.context(context):
            migration.downgrade()
        assert inspect(connection).get_table_names() == []

"""Alembic migrations are the only way the schema changes: head must equal the models, on both databases.

An empty database is upgraded to head with the package's own migrations; then Alembic's autogenerate
compares the result with the SQLAlchemy models. Any difference (a column, index, constraint, type or
nullability change made in models.py without a migration) fails the test and is printed.
"""

from __future__ import annotations

from pprint import pformat

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from wattwitness.server.db.migrate import alembic_config, upgrade
from wattwitness.server.db.models import Base
from wattwitness.server.db.session import create_db_engine


def _assert_head_matches_models(url: str) -> None:
    upgrade(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "compare_server_default": True,
                "render_as_batch": connection.dialect.name == "sqlite",
            })
            head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
            assert context.get_current_revision() == head
            differences = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == [], "models and migrations differ:\n" + pformat(differences)
    assert set(Base.metadata.tables) <= tables


def test_sqlite_head_matches_the_models(sqlite_url: str) -> None:
    _assert_head_matches_models(sqlite_url)


def test_postgresql_head_matches_the_models(postgres_url: str) -> None:
    _assert_head_matches_models(postgres_url)


def test_upgrading_twice_is_a_no_op(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    upgrade(sqlite_url)
    _assert_head_matches_models(sqlite_url)


def test_the_comparison_notices_a_model_change_without_a_migration(sqlite_url: str) -> None:
    from sqlalchemy import BigInteger, Column, MetaData

    upgrade(sqlite_url)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["readings"].append_column(Column("pruned_before_mwh", BigInteger, nullable=True))
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), changed)
    finally:
        engine.dispose()
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "pruned_before_mwh")]

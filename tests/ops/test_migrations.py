"""Alembic migrations are the only way the schema changes: head must equal the models, on both databases.

An empty database is upgraded to head with the package's own migrations; then Alembic's autogenerate
compares the result with the SQLAlchemy models. Any difference (a column, index, constraint, type or
nullability change made in models.py without a migration) fails the test and is printed.
"""

from __future__ import annotations

from pprint import pformat
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from wattwitness.server.db.migrate import alembic_config, upgrade
from wattwitness.server.db.models import Base
from wattwitness.server.db.partitions import is_partition
from wattwitness.server.db.session import create_db_engine


def _on_this_database(dialect: str) -> Any:
    """Alembic's include_object: model items declared `.ddl_if(dialect=...)` for another database are not
    expected here (models.Reading: the keys differ between the partitioned PostgreSQL table and SQLite), and
    the partitions of `readings` are not models (db/partitions.py makes them; the parent table is compared)."""
    def include(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = item if type_ == "table" else getattr(item, "table", None)
        if reflected and table is not None and is_partition(table.name):
            return False
        condition = getattr(item, "_ddl_if", None)
        return reflected or condition is None or condition.dialect in (None, dialect)
    return include


def _assert_head_matches_models(url: str) -> None:
    upgrade(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "compare_server_default": True,
                "render_as_batch": connection.dialect.name == "sqlite",
                "include_object": _on_this_database(connection.dialect.name),
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
        copy = table.to_metadata(changed)
        # to_metadata does not carry ddl_if over.
        conditions = {index.name: getattr(index, "_ddl_if", None) for index in table.indexes}
        for index in copy.indexes:
            if conditions[index.name] is not None:
                index.ddl_if(dialect=conditions[index.name].dialect)
    changed.tables["readings"].append_column(Column("pruned_before_mwh", BigInteger, nullable=True))
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection, opts={
                "compare_type": True, "include_object": _on_this_database("sqlite")}), changed)
    finally:
        engine.dispose()
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "pruned_before_mwh")]

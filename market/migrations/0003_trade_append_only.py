"""Trades are append-only in the database itself: an UPDATE of a trade row is refused.

Deletion stays possible at the SQL level (test databases are flushed that way);
the ``PROTECT`` foreign keys and the read-only admin keep trades from being deleted
in the application.
"""

from django.db import migrations

SQLITE_UP = """
CREATE TRIGGER market_trade_append_only BEFORE UPDATE ON market_trade
BEGIN SELECT RAISE(ABORT, 'trades are append-only'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS market_trade_append_only;"
POSTGRES_UP = """
CREATE FUNCTION market_trade_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trades are append-only'; END; $$;
CREATE TRIGGER market_trade_append_only BEFORE UPDATE ON market_trade
FOR EACH ROW EXECUTE FUNCTION market_trade_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS market_trade_append_only ON market_trade;
DROP FUNCTION IF EXISTS market_trade_append_only();
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [("market", "0002_ledger")]

    operations = [migrations.RunPython(forward, backward)]

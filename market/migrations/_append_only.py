"""The append-only trigger on trades (see 0003), for migrations that must lift it and put it back."""

SQLITE_UP = """
CREATE TRIGGER market_trade_append_only BEFORE UPDATE ON market_trade
BEGIN SELECT RAISE(ABORT, 'trades are append-only'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS market_trade_append_only;"
POSTGRES_UP = """
CREATE OR REPLACE FUNCTION market_trade_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trades are append-only'; END; $$;
CREATE TRIGGER market_trade_append_only BEFORE UPDATE ON market_trade
FOR EACH ROW EXECUTE FUNCTION market_trade_append_only();
"""
POSTGRES_DOWN = "DROP TRIGGER IF EXISTS market_trade_append_only ON market_trade;"


def create_trigger(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)


def drop_trigger(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)

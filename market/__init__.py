"""The exchange: its feed from the sources, latest prices, the ledger and its streams."""

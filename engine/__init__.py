"""The exchange's background engine: the sources' tickers, the market's feeds, the janitor."""

"""Trading bots: strategies, the SSE runner (`manage.py runbot`) and backtesting."""

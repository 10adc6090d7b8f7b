"""Configuration package of the exchange: settings, URLs and the ASGI entry point."""

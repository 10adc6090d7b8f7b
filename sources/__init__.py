"""Price sources: one random-walk price per asset, each streamed over SSE."""

"""The SIP2 ILS simulator: an asyncio SIP2 server over a SQLite catalogue."""

"""Stage 6, audit: decisions stored in a verifiable log, exported, and replayed.

In: decisions and their rule sets. Out: the store, verification reports, exports, replay.
"""

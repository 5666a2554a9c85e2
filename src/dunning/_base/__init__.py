"""Stage 0, the base: errors, aware time and durations, Decimal money, holiday calendars.

Imports nothing else of dunning; every other stage may import it.
"""

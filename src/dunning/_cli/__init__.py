"""Stage 8, the command line: the `dunning` console script, the demo, generated docs.

In: command-line arguments and files. Out: tables, JSON, exit codes.
"""

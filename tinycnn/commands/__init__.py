"""One module per CLI subcommand; each defines ``register(subparsers)`` which adds its parser
and sets ``func`` (called with the parsed args, returns an exit code)."""
MODULES = ["convert", "info", "run", "evaluate"]
OPTIONAL_MODULES = ["compare", "simulate", "emulate", "tradeoff", "export_micropython", "mpy_run"]  # added by later features, if present

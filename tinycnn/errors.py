"""Errors a user sees. Each names the file, the node/layer and the op, and what is supported."""
from __future__ import annotations


class TinyCNNError(Exception):
    """Base class for every error tinycnn raises on bad input."""


class UnsupportedModelError(TinyCNNError):
    """A model file uses something the importer cannot convert."""

    def __init__(self, path, node: str, op: str, reason: str, supported=None):
        self.path, self.node, self.op, self.reason = str(path), node, op, reason
        msg = f"{path}: node '{node}' (op {op}): {reason}"
        if supported:
            msg += "\n  supported ops: " + ", ".join(sorted(supported))
        super().__init__(msg)


class BlobError(TinyCNNError):
    """A .tcnn blob is corrupt, truncated, or of an unknown version."""


class BudgetExceededError(TinyCNNError):
    """A model does not fit the target's SRAM or flash."""


class TinyCNNNote(UserWarning):
    """Something the user should know that is not an error (the CLI prints it as a note)."""

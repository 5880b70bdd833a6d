"""`listenpost`: the one command that runs, inspects and maintains the monitor."""

from listenpost.cli.app import app

__all__ = ["app"]

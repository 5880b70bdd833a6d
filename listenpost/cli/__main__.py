"""`python -m listenpost.cli`: the same CLI, for environments without the console script."""

from listenpost.cli import app

app()

"""`python -m app ...` is the same as `tend ...`."""

from app.cli import main

main()

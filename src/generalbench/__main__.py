"""`python -m generalbench` runs the command line."""

from generalbench.cli import main

main()

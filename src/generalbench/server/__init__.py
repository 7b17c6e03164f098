"""The General-Level leaderboard service (issue 14): web pages, a JSON API, a database-table job
queue and scoring workers that call the same code as `generalbench score`.

Needs the `server` extra (`pip install generalbench[server]`); nothing else in generalbench imports
this package, so the core install stays light. See docs/leaderboard.md.
"""

"""Reports: reading and writing per-task score files (official workbooks, CSV, JSON) and
rendering General-Level results as terminal tables, Markdown, CSV and JSON."""

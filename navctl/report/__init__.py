"""Reports: the console views, Markdown summaries and JSON documents of a run's status."""

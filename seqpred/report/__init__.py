"""The reports: Markdown tables with a paragraph on how to read each (comparison, collection,
sweep), the plain-words verdicts that open them, and main.py's lines about one run."""

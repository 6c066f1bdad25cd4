"""Every figure, drawn on matplotlib's Agg canvas and written atomically as a PNG file
(imported only once a figure is drawn: matplotlib is slow to load)."""

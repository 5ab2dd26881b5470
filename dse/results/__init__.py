"""A stored study as tables, its Pareto set and hypervolume, the printed report and the HTML plot."""

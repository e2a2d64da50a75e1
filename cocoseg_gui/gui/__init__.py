"""Qt front end: windows, widgets, models/views and workers that run core jobs off the GUI thread."""

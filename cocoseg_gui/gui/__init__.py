"""Qt front end: windows, widgets, models/views and workers that run core jobs off the GUI thread."""

import os

# superqt's widgets go through QtPy: bind it to the Qt the app uses even where PyQt5 is also installed
os.environ.setdefault("QT_API", "pyside6")

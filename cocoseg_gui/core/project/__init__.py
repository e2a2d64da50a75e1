"""What the user has open, without Qt: the project file (datasets, roles, mask folders, runs), the workbench
over it (the one state of what is open), and the image being looked at with its display options."""

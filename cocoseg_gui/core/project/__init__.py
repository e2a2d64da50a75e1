"""What the user has open, without Qt: the project file (datasets, roles, mask folders, runs), the session
over it, and the image being looked at with its display options."""

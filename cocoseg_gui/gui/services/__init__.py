"""Qt services below the widgets: the worker pattern, app state, image loading, device probe, error hints."""

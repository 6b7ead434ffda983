"""One module per language; see renderers/registry.py for the interface each one provides."""

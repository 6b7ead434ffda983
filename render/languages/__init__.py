"""One module per language; see render/registry.py for the interface each one provides."""

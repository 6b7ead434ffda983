"""Command line, settings and versioning for the VinciCoder data-and-training pipeline."""

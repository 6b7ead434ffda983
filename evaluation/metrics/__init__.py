"""One module per benchmark metric, each usable alone on (prediction, reference) pairs."""

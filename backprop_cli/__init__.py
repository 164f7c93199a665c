"""backprop: a command-line tutor that teaches backpropagation gate by gate."""

__version__ = "0.1.0"

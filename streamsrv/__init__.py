"""streamsrv: real-time customer feedback for contact centers."""

__version__ = "0.1.0"

"""Micro-coaching: alert rules, acknowledgements, coaching notes, shout-outs."""

"""Service recovery: a case for every negative response, claimed, worked and resolved."""

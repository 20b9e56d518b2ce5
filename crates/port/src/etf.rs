//! Erlang External Term Format: the subset the port protocol uses.

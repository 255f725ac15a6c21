//! TRM and HRM on candle: the networks, their losses, weights I/O and training.
